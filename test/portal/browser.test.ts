import { existsSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startPortalApp, waitForSigninLink, type PortalTestApp } from './support.js';

/*
 * The portal in a real browser: Debian's chromium driven by playwright-core. A missing chromium
 * fails this suite with a clear message (CI installs it), it never skips.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SECRET = 'SECRET-NOTE-browser';

let t: PortalTestApp;
let browser: Browser;
const seen = new Set<string>();

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium; .ci/run does) or set CHROMIUM_PATH`);
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  t = await startPortalApp();
  const s = t.app.ctx.service;
  await s.people.register({ email: 'tom@it.example', name: 'Tom Tech', roles: ['technician'] });
  await s.people.register({ email: 'jane@corp.example', name: 'Jane Doe', roles: ['contact'] });
  await s.people.register({ email: 'erin@corp.example', name: 'Erin <b>Bold</b>', roles: ['contact'] });
  await s.people.register({ email: 'bob@other.example', name: 'Bob Other', roles: ['contact'] });
  await s.createTicket({ title: 'VPN drops <i>hourly</i>', description: 'Every hour', requester: { email: 'jane@corp.example' }, source: 'email', cc: ['erin@corp.example'] });
  await s.createTicket({ title: 'Bob private matter', description: 'Only for Bob', requester: { email: 'bob@other.example' }, source: 'email' });
  await s.addEntry(1, { kind: 'reply', text: 'Looking into it', author: { email: 'tom@it.example' }, source: 'api' });
  await s.addEntry(1, { kind: 'note', text: SECRET, author: { email: 'tom@it.example' }, source: 'api' });
  // Hostile content from every direction a comment can come from.
  await s.addEntry(1, {
    kind: 'reply', source: 'portal', author: { email: 'erin@corp.example' },
    text: `<script>window.__xss='portal'</script><img src=x onerror="window.__xss='img'"> please check`,
  });
  await s.addEntry(1, {
    kind: 'reply', source: 'email', author: { email: 'erin@corp.example' }, text: 'html mail',
    html: `<p>Mail body</p><script>window.__xss='mail'</script><img src=x onerror="window.__xss='mailimg'"><svg onload="alert('svg')"></svg><a href="javascript:alert('a')">link</a>`,
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

/** A page that records any script the portal lets run: dialogs and a global flag. */
async function watchedPage(context: BrowserContext): Promise<{ page: Page; dialogs: string[] }> {
  const page = await context.newPage();
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  return { page, dialogs };
}

async function requestLink(page: Page, email: string): Promise<string> {
  await page.goto(`${t.url}/portal/signin`);
  await page.fill('input[name=email]', email);
  await page.click('button[type=submit]');
  await page.waitForSelector('.notice');
  const { url } = await waitForSigninLink(t.dataDir, email, seen);
  return url;
}

test('request a link, open it from the mail, read the ticket, reply with a file; the technician sees the reply', async () => {
  const context = await browser.newContext();
  const { page, dialogs } = await watchedPage(context);
  const link = await requestLink(page, 'jane@corp.example');
  expect(link.startsWith(`${t.url}/portal/login?token=`)).toBe(true);

  await page.goto(link);
  await page.click('#continue');
  await page.waitForURL(`${t.url}/portal`);
  expect(await page.textContent('.tickets')).toContain('VPN drops <i>hourly</i>');
  expect(await page.textContent('body')).not.toContain('Bob private matter');

  await page.click('.tickets a');
  await page.waitForURL(`${t.url}/portal/tickets/1`);
  const body = (await page.textContent('main'))!;
  expect(body).toContain('Looking into it');
  expect(body).toContain('Mail body');
  // Script written in a comment is shown as text and never runs.
  expect(body).toContain(`<script>window.__xss='portal'</script>`);
  expect(body).not.toContain(SECRET);
  expect(await page.content()).not.toContain(SECRET);
  expect(await page.evaluate(() => (window as unknown as { __xss?: string }).__xss)).toBeUndefined();
  expect(dialogs).toEqual([]);

  await page.fill('textarea[name=text]', 'Still broken after reboot');
  await page.setInputFiles('input[name=files]', { name: 'trace.txt', mimeType: 'text/plain', buffer: Buffer.from('trace data') });
  await page.click('#reply button[type=submit]');
  await page.waitForSelector('text=Still broken after reboot');
  expect(await page.textContent('main')).toContain('trace.txt');

  const technicianView = await t.app.ctx.service.getTicket(1);
  const reply = technicianView.entries.find((e) => e.text === 'Still broken after reboot');
  expect(reply).toMatchObject({ kind: 'reply', source: 'portal', author: { kind: 'contact', email: 'jane@corp.example' } });
  expect(reply!.attachments.map((a) => a.filename)).toEqual(['trace.txt']);

  // The download goes through the same access rule.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=trace.txt')]);
  expect(download.suggestedFilename()).toBe('trace.txt');

  // Another user's ticket is refused and reveals nothing.
  const refused = await page.goto(`${t.url}/portal/tickets/2`);
  expect(refused!.status()).toBe(404);
  expect(await page.textContent('body')).not.toContain('Bob private matter');
  expect(dialogs).toEqual([]);
  await context.close();
});

test('a ticket email link opens that ticket directly', async () => {
  const jane = await t.app.ctx.service.people.findByEmail('jane@corp.example');
  const link = await t.app.ctx.links.ticketUrlFor(String(jane!._id), 1);
  const context = await browser.newContext();
  const { page, dialogs } = await watchedPage(context);
  await page.goto(link);
  await page.click('#continue');
  await page.waitForURL(`${t.url}/portal/tickets/1`);
  expect(await page.textContent('h1')).toContain('VPN drops');
  expect(await page.content()).not.toContain(SECRET);
  expect(dialogs).toEqual([]);
  await context.close();
});

test('opening a new ticket from the form, on a phone-sized screen in German', async () => {
  const context = await browser.newContext({ locale: 'de-DE', viewport: { width: 360, height: 740 }, isMobile: true });
  const { page, dialogs } = await watchedPage(context);
  const link = await requestLink(page, 'bob@other.example');
  expect(await page.textContent('.notice')).toContain('Anmeldelink');
  await page.goto(link);
  await page.click('#continue');
  await page.waitForURL(`${t.url}/portal`);
  expect(await page.textContent('header')).toContain('Abmelden');
  // Nothing wider than the screen.
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
  await page.click('text=Neues Ticket');
  await page.fill('input[name=title]', 'Laptop startet nicht');
  await page.fill('textarea[name=description]', '<script>alert("new")</script> Seit heute früh');
  await page.click('#new-ticket button[type=submit]');
  await page.waitForURL(/\/portal\/tickets\/\d+$/);
  expect(await page.textContent('h1')).toContain('Laptop startet nicht');
  const n = Number(/(\d+)$/.exec(page.url())![1]);
  expect(await t.app.ctx.service.getTicket(n)).toMatchObject({ source: 'portal', requester: { email: 'bob@other.example' } });
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
  expect(dialogs).toEqual([]);
  await context.close();
});
