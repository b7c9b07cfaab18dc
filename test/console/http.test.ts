import { sha256 } from '../../src/portal/store.js';
import { consoleRuntimeOf } from '../../src/console/module.js';
import { Browserless, CONSOLE_LINK, outbox, signInHttp, startConsoleApp, waitForMail, type ConsoleTestApp } from './support.js';

/*
 * The console over plain HTTP: first run, sign-in, sessions, CSRF, roles, refusals. The browser
 * flows are in browser.test.ts.
 */

let t: ConsoleTestApp;
const seen = new Set<string>();

beforeAll(async () => {
  t = await startConsoleApp();
}, 60_000);
afterAll(async () => {
  await t?.close();
});

test('first start without a technician prints a one-time setup link, stored only as a hash', async () => {
  const line = t.logs.find((l) => typeof l.setupUrl === 'string');
  expect(line).toBeTruthy();
  const url = line!.setupUrl as string;
  expect(url).toMatch(new RegExp(`^${t.url}/console/setup\\?token=[A-Za-z0-9_-]{43}$`));
  expect(String(line!.msg)).toContain(url);
  expect(consoleRuntimeOf(t.app.ctx)!.setupUrl).toBe(url);
  const token = new URL(url).searchParams.get('token')!;
  const rows = await t.app.ctx.db.connection.collection('console_setup_links').find().toArray();
  expect(rows).toHaveLength(1);
  expect(rows[0]!._id).toBe(sha256(token));
  expect(JSON.stringify(rows)).not.toContain(token);
  expect(rows[0]!.expiresAt.getTime() - rows[0]!.createdAt.getTime()).toBe(24 * 3600_000);
});

test('the setup link creates the first admin once; a second use and a wrong token are refused', async () => {
  const url = consoleRuntimeOf(t.app.ctx)!.setupUrl!;
  const token = new URL(url).searchParams.get('token')!;
  const b = new Browserless(t.url);
  const form = await b.get(url);
  expect(form.status).toBe(200);
  // No CSRF token: refused, nothing created.
  expect((await b.post('/console/setup', { token, email: 'ann@it.example' })).status).toBe(403);
  const csrf = Browserless.csrfOf(form.text);
  // Bad email: re-rendered with the message, the link is not used up.
  const bad = await b.post('/console/setup', { csrf, token, email: 'not-an-email' });
  expect(bad.status).toBe(400);
  expect(bad.text).toContain('Please check your input');
  const wrong = await b.post('/console/setup', { csrf, token: token.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')), email: 'ann@it.example' });
  expect(wrong.status).toBe(400);
  expect(await t.app.ctx.service.people.findByEmail('ann@it.example')).toBeNull();

  const ok = await b.post('/console/setup', { csrf, token, email: 'ann@it.example', name: 'Ann Admin' });
  expect(ok.status).toBe(303);
  expect(ok.headers.get('location')).toBe('/console');
  const ann = await t.app.ctx.service.people.findByEmail('ann@it.example');
  expect(ann!.roles.sort()).toEqual(['admin', 'technician']);
  const list = await b.get('/console');
  expect(list.status).toBe(200);
  expect(list.text).toContain('href="/console/admin"');

  const again = new Browserless(t.url);
  const second = await again.get(url);
  expect(second.status).toBe(410);
  expect((await again.post('/console/setup', { csrf: 'x', token, email: 'eve@evil.example' })).status).toBe(403);
  expect(await t.app.ctx.service.people.findByEmail('eve@evil.example')).toBeNull();
});

test('sign-in: the same answer for known and unknown addresses; a link for technicians, the portal for contacts', async () => {
  const s = t.app.ctx.service;
  await s.people.register({ email: 'tom@it.example', name: 'Tom Tech', roles: ['technician'] });
  await s.people.register({ email: 'jane@corp.example', name: 'Jane Doe', roles: ['contact'] });
  const answers: string[] = [];
  for (const email of ['tom@it.example', 'nobody@nowhere.example', 'jane@corp.example']) {
    const b = new Browserless(t.url);
    const form = await b.get('/console/signin');
    const r = await b.post('/console/signin', { csrf: Browserless.csrfOf(form.text), email });
    expect(r.status).toBe(200);
    answers.push(r.text.replace(/name="csrf" value="[^"]+"/, ''));
  }
  expect(new Set(answers).size).toBe(1);
  const { match, mail } = await waitForMail(t.dataDir, 'tom@it.example', CONSOLE_LINK, seen);
  expect(mail.text).toContain('10 minutes');
  // The contact gets the way to the portal, never a console link.
  const contactMail = await waitForMail(t.dataDir, 'jane@corp.example', /\/portal\/signin/, seen);
  expect(contactMail.mail.text).not.toMatch(/console\/login/);
  await new Promise((r) => setTimeout(r, 200));
  expect((await outbox(t.dataDir)).filter((m) => m.to.includes('nobody@'))).toEqual([]);

  // The link is stored hashed and works once.
  const token = new URL(match).searchParams.get('token')!;
  const stored = await t.app.ctx.db.connection.collection('console_signin_links').findOne({ _id: sha256(token) as never });
  expect(stored).toBeTruthy();
  expect((stored!.expiresAt as Date).getTime() - (stored!.createdAt as Date).getTime()).toBe(10 * 60_000);
  const b = new Browserless(t.url);
  const confirm = await b.get(match);
  expect(confirm.status).toBe(200);
  const csrf = Browserless.csrfOf(confirm.text);
  const first = await b.post('/console/login', { csrf, token });
  expect(first.status).toBe(303);
  const cookie = first.setCookies.find((c) => c.startsWith('deskbridge_console='))!;
  expect(cookie).toMatch(/HttpOnly/i);
  expect(cookie).toMatch(/SameSite=Lax/i);
  expect(cookie).not.toMatch(/Secure/i); // plain http in this test; see the https test below
  const again = new Browserless(t.url);
  const c2 = await again.get(match);
  expect((await again.post('/console/login', { csrf: Browserless.csrfOf(c2.text), token })).status).toBe(400);
  // The portal's session store is not the console's: a console session does not open the portal.
  const portal = await b.get('/portal');
  expect(portal.status).toBe(303);
});

test('sign-in requests are rate limited per address', async () => {
  const b = new Browserless(t.url);
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    const form = await b.get('/console/signin');
    statuses.push((await b.post('/console/signin', { csrf: Browserless.csrfOf(form.text), email: 'limit@it.example' })).status);
  }
  expect(statuses).toEqual([200, 200, 200, 200, 200, 429]); // PORTAL_SIGNIN_LIMIT_PER_ADDRESS=5
});

test('technicians are refused admin pages and actions (403); admins are not', async () => {
  const tom = await signInHttp(t, 'tom@it.example', seen);
  for (const p of ['/console/admin', '/console/admin/templates', '/console/admin/people', '/console/admin/rules', '/console/admin/channels']) {
    expect((await tom.get(p)).status).toBe(403);
  }
  const list = await tom.get('/console');
  expect(list.text).not.toContain('href="/console/admin"');
  const csrf = Browserless.csrfOf(list.text);
  const r = await tom.post('/console/admin/settings', { csrf, defaultReplyType: 'note', customStatuses: '' });
  expect(r.status).toBe(403);
  expect((await t.app.ctx.service.settings.get()).defaultReplyType).toBe('reply');
  const made = await tom.post('/console/admin/people', { csrf, email: 'tom@it.example', role: 'admin' });
  expect(made.status).toBe(403);
  expect((await t.app.ctx.service.people.findByEmail('tom@it.example'))!.roles).not.toContain('admin');

  const ann = await signInHttp(t, 'ann@it.example', seen);
  for (const p of ['/console/admin', '/console/admin/templates', '/console/admin/people', '/console/admin/rules', '/console/admin/channels']) {
    expect((await ann.get(p)).status).toBe(200);
  }
});

test('every change needs the session CSRF token', async () => {
  const tom = await signInHttp(t, 'tom@it.example', seen);
  await t.app.ctx.service.createTicket({ title: 'CSRF probe', description: 'x', requester: { email: 'jane@corp.example' }, source: 'api' });
  const r = await tom.post('/console/tickets/1/fields', { priority: 'Critical' });
  expect(r.status).toBe(403);
  const r2 = await tom.post('/console/tickets/1/fields', { csrf: 'A'.repeat(43), priority: 'Critical' });
  expect(r2.status).toBe(403);
  expect((await t.app.ctx.service.getTicket(1)).priority).toBe('Medium');
});

test('a contact with a console link is refused and pointed to the portal; / shows the way', async () => {
  const jane = await t.app.ctx.service.people.findByEmail('jane@corp.example');
  // A link issued before the person lost the technician role (or forged into the store): still refused.
  const { SigninLinks } = await import('../../src/portal/store.js');
  const { createConsoleModels } = await import('../../src/console/store.js');
  const token = await new SigninLinks(createConsoleModels(t.app.ctx.db.connection)).issue(String(jane!._id), { ttlMs: 60_000, purpose: 'signin' });
  const b = new Browserless(t.url);
  const confirm = await b.get(`/console/login?token=${token}`);
  const r = await b.post('/console/login', { csrf: Browserless.csrfOf(confirm.text), token });
  expect(r.status).toBe(403);
  expect(r.text).toContain('href="/portal"');
  expect(b.cookies.has('deskbridge_console')).toBe(false);

  const anon = new Browserless(t.url);
  const root = await anon.get('/');
  expect(root.status).toBe(200);
  expect(root.text).toContain('href="/portal"');
  expect(root.text).toContain('href="/console/signin"');
  const tom = await signInHttp(t, 'tom@it.example', seen);
  const techRoot = await tom.get('/');
  expect(techRoot.status).toBe(303);
  expect(techRoot.headers.get('location')).toBe('/console');
  const withPortal = new Browserless(t.url);
  withPortal.cookies.set('deskbridge_portal', 'x'.repeat(43));
  expect((await withPortal.get('/')).headers.get('location')).toBe('/portal');
  const health = await anon.get('/healthz');
  expect(health.status).toBe(200);
  expect(JSON.parse(health.text)).toEqual({ status: 'ok' });
  // Pages carry the strict CSP.
  expect(root.headers.get('content-security-policy')).toContain("script-src 'self'");
  expect(root.headers.get('content-security-policy')).not.toContain('unsafe-inline');
});

test('behind https the session cookie is Secure and __Host-', async () => {
  const secure = await startConsoleApp({ publicUrl: 'https://desk.example' });
  try {
    await secure.app.ctx.service.people.register({ email: 'tom@it.example', roles: ['technician'] });
    const b = new Browserless(secure.url);
    const form = await b.get('/console/signin');
    const pre = form.setCookies.find((c) => c.startsWith('__Host-deskbridge_console_csrf='))!;
    expect(pre).toMatch(/Secure/);
    await b.post('/console/signin', { csrf: Browserless.csrfOf(form.text), email: 'tom@it.example' });
    const { match } = await waitForMail(secure.dataDir, 'tom@it.example', /https:\/\/desk\.example\/console\/login\?token=[A-Za-z0-9_-]+/);
    const token = new URL(match).searchParams.get('token')!;
    const confirm = await b.get(`/console/login?token=${token}`);
    const r = await b.post('/console/login', { csrf: Browserless.csrfOf(confirm.text), token });
    expect(r.status).toBe(303);
    const cookie = r.setCookies.find((c) => c.startsWith('__Host-deskbridge_console='))!;
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\//);
  } finally {
    await secure.close();
  }
});
