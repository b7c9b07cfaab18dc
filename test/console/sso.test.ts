import { createServer, type Server } from 'node:http';
import Provider from 'oidc-provider';
import type { Browser, Page } from 'playwright-core';
import { freePort, launchChromium, startConsoleApp, watchedPage, type ConsoleTestApp } from './support.js';

/*
 * Single sign-on against a real OpenID provider (oidc-provider from npm, with its development
 * login and consent pages) running on this machine, driven in Debian's chromium. The console's
 * relying party is openid-client: code flow with PKCE, state and nonce; people are matched by a
 * verified email address only.
 */

const CLIENT_ID = 'deskbridge-console';
const CLIENT_SECRET = 'console-secret-0123456789abcdef0123456789';

let t: ConsoleTestApp;
let browser: Browser;
let idp: Server;
let issuer: string;

beforeAll(async () => {
  browser = await launchChromium();
  const consolePort = await freePort();
  const idpPort = await freePort();
  issuer = `http://localhost:${idpPort}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID, client_secret: CLIENT_SECRET, grant_types: ['authorization_code'], response_types: ['code'],
      redirect_uris: [`http://127.0.0.1:${consolePort}/console/sso/callback`],
    }],
    // The login typed on the provider's page is the account; "unverified-..." accounts have an unverified email.
    findAccount: async (_ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, email: id.replace(/^unverified-/, ''), email_verified: !id.startsWith('unverified-') }),
    }),
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    cookies: { keys: ['test-cookie-key-0123456789'] },
    pkce: { required: () => true },
  });
  idp = createServer(provider.callback());
  await new Promise<void>((resolve) => idp.listen(idpPort, '127.0.0.1', resolve));
  t = await startConsoleApp({
    publicUrl: `http://127.0.0.1:${consolePort}`, port: consolePort,
    env: { OIDC_ISSUER: issuer, OIDC_CLIENT_ID: CLIENT_ID, OIDC_CLIENT_SECRET: CLIENT_SECRET },
  });
  const s = t.app.ctx.service;
  await s.people.register({ email: 'tom@it.example', name: 'Tom Tech', roles: ['technician'] });
  await s.people.register({ email: 'jane@corp.example', name: 'Jane Doe', roles: ['contact'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
  idp?.closeAllConnections();
  await new Promise((r) => idp?.close(r));
});

/** Clicks "Sign in with single sign-on", types `login` on the provider's page and consents. */
async function ssoAs(page: Page, login: string): Promise<void> {
  await page.goto(`${t.url}/console/signin`);
  await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();
  await page.waitForURL((u) => u.href.startsWith(issuer));
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'any');
  await page.click('button[type=submit]');
  // First sign-in of an account: the provider asks for consent.
  await page.waitForURL((u) => !u.href.startsWith(issuer) || /interaction/.test(u.pathname));
  if (page.url().startsWith(issuer)) await page.click('button[type=submit]');
  await page.waitForURL((u) => u.href.startsWith(t.url));
  await page.waitForLoadState();
}

test('a technician signs in through the provider and lands in the console', async () => {
  const context = await browser.newContext();
  const { page, errors } = await watchedPage(context);
  await ssoAs(page, 'tom@it.example');
  expect(page.url()).toBe(`${t.url}/console`);
  expect(await page.locator('.who').textContent()).toContain('Tom Tech');
  const cookies = await context.cookies(t.url);
  expect(cookies.find((c) => c.name === 'deskbridge_console')).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
  // The one-time state cookie is gone after the callback.
  expect(cookies.some((c) => c.name === 'deskbridge_console_sso')).toBe(false);
  expect(errors).toEqual([]);
  await context.close();
});

test('a contact is refused with the way to the portal; unknown and unverified addresses are refused', async () => {
  for (const [login, expected] of [['jane@corp.example', 'service portal'], ['nobody@nowhere.example', 'Single sign-on failed'], ['unverified-tom@it.example', 'Single sign-on failed']] as const) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await ssoAs(page, login);
    expect(await page.locator('main').textContent()).toContain(expected);
    expect((await context.cookies(t.url)).some((c) => c.name === 'deskbridge_console')).toBe(false);
    expect((await page.goto(`${t.url}/console`))!.url()).toBe(`${t.url}/console/signin`);
    await context.close();
  }
});

test('a callback without the state cookie (a forged or replayed answer) signs nobody in', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const r = await page.goto(`${t.url}/console/sso/callback?code=abc&state=xyz&iss=${encodeURIComponent(issuer)}`);
  expect(r!.status()).toBe(403);
  expect((await context.cookies(t.url)).some((c) => c.name === 'deskbridge_console')).toBe(false);
  await context.close();
});
