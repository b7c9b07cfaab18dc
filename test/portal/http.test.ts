import { AttachmentStore } from '../../src/attachments/store.js';
import type { DomainEvent } from '../../src/tickets/types.js';
import { Browserless, outbox, startPortalApp, tick, waitForSigninLink, type PortalTestApp } from './support.js';

/*
 * The portal over real HTTP into the real app (real database, real MIME in the outbox). The
 * browser suite (browser.test.ts) covers the same flow in chromium; this one covers the rules
 * that are easier to see on the wire: headers, cookies, CSRF, limits, access.
 */

let t: PortalTestApp;
const seenMail = new Set<string>();
let ipSeq = 0;
/** Each client gets its own address (trusted X-Forwarded-For from loopback) so per-IP limits don't couple tests. */
const client = (headers: Record<string, string> = {}) => new Browserless(t.url, { 'x-forwarded-for': `10.1.0.${++ipSeq}`, ...headers });
const svc = () => t.app.ctx.service;
const SECRET = 'SECRET-NOTE-do-not-show';
/** Every event the app's notifiers receive, as any channel (email, Slack, Teams) would. */
const delivered: DomainEvent[] = [];

beforeAll(async () => {
  t = await startPortalApp({ PORTAL_SIGNIN_LIMIT_PER_ADDRESS: '3', PORTAL_SIGNIN_LIMIT_PER_IP: '4' });
  t.app.ctx.notifiers.register({ channel: 'test-recorder', wants: () => true, deliver: async (e) => { delivered.push(e); } });
  const s = svc();
  await s.people.register({ email: 'tom@it.example', name: 'Tom Tech', roles: ['technician'] });
  await s.people.register({ email: 'jane@corp.example', name: 'Jane Doe', roles: ['contact'], customer: 'corp' });
  await s.people.register({ email: 'carol@corp.example', name: 'Carol Admin', roles: ['contact'], customer: 'corp', customerAdmin: true });
  await s.people.register({ email: 'dave@corp.example', name: 'Dave Colleague', roles: ['contact'], customer: 'corp' });
  await s.people.register({ email: 'erin@partner.example', name: 'Erin Cc', roles: ['contact'] });
  await s.people.register({ email: 'bob@other.example', name: 'Bob Other', roles: ['contact'], customer: 'other' });
  await s.createTicket({ title: 'VPN drops', description: 'Every hour', requester: { email: 'jane@corp.example' }, source: 'email', cc: ['erin@partner.example'], assignee: { email: 'tom@it.example' } });
  await s.createTicket({ title: 'Bob private matter', description: 'Only for Bob', requester: { email: 'bob@other.example' }, source: 'email' });
  await s.addEntry(1, { kind: 'reply', text: 'Looking into it', author: { email: 'tom@it.example' }, source: 'api', status: 'Pending' });
  await s.addEntry(1, { kind: 'note', text: `${SECRET} @tom@it.example`, author: { email: 'tom@it.example' }, source: 'api' });
});
afterAll(async () => { await t.close(); });

const sessions = new Map<string, Browserless>();
/** A signed-in client per person, reused: each sign-in counts against the per-address limit. */
async function signedIn(email: string, opts: { fresh?: boolean } = {}) {
  const cached = sessions.get(email);
  if (cached && !opts.fresh) return cached;
  const c = client();
  await c.signIn(t.dataDir, email, seenMail);
  if (!opts.fresh) sessions.set(email, c);
  return c;
}

describe('every page', () => {
  test('sends a strict CSP without inline script, Referrer-Policy: no-referrer and nosniff', async () => {
    const c = await signedIn('jane@corp.example');
    for (const p of ['/portal/signin', '/portal', '/portal/tickets/1', '/portal/new', '/portal/tickets/2']) {
      const r = await c.get(p);
      const csp = r.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("form-action 'self'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|script-src/);
      expect(r.headers.get('referrer-policy')).toBe('no-referrer');
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  test('is in German when the browser asks for German', async () => {
    const r = await client({ 'accept-language': 'de-DE,de;q=0.9,en;q=0.5' }).get('/portal/signin');
    expect(r.text).toContain('<html lang="de">');
    expect(r.text).toContain('Anmeldelink senden');
    const en = await client({ 'accept-language': 'fr, en;q=0.5' }).get('/portal/signin');
    expect(en.text).toContain('Send sign-in link');
  });
});

describe('sign-in', () => {
  test('gives the same answer for known and unknown addresses, and mails only known ones', async () => {
    const c = client();
    const csrf = Browserless.csrfOf((await c.get('/portal/signin')).text);
    const known = await c.post('/portal/signin', { csrf, email: 'dave@corp.example' });
    const unknown = await c.post('/portal/signin', { csrf, email: 'nobody@nowhere.example' });
    expect(known.status).toBe(200);
    expect(unknown.status).toBe(200);
    expect(unknown.text).toBe(known.text);
    await waitForSigninLink(t.dataDir, 'dave@corp.example', seenMail);
    await tick(200);
    expect((await outbox(t.dataDir)).some((m) => m.to.includes('nobody@nowhere.example'))).toBe(false);
  });

  test('links are built from PUBLIC_URL, never from the Host header', async () => {
    const c = client({ host: 'evil.example', 'x-forwarded-host': 'evil.example' });
    const csrf = Browserless.csrfOf((await c.get('/portal/signin')).text);
    await c.post('/portal/signin', { csrf, email: 'jane@corp.example' });
    const { url, mail } = await waitForSigninLink(t.dataDir, 'jane@corp.example', seenMail);
    expect(url.startsWith(`${t.url}/portal/login?token=`)).toBe(true);
    expect(mail.text).not.toContain('evil.example');
  });

  test('sets an HttpOnly, SameSite=Lax session cookie (not Secure on plain http) and a link works once', async () => {
    const c = client();
    const csrf = Browserless.csrfOf((await c.get('/portal/signin')).text);
    await c.post('/portal/signin', { csrf, email: 'jane@corp.example' });
    const { url } = await waitForSigninLink(t.dataDir, 'jane@corp.example', seenMail);
    const confirm = await c.get(url);
    const token = new URL(url).searchParams.get('token')!;
    const login = await c.post('/portal/login', { csrf: Browserless.csrfOf(confirm.text), token });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/portal');
    const cookie = login.setCookies.find((x) => x.startsWith('deskbridge_portal='))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/i);
    // Second use of the same link, from a fresh browser: refused.
    const other = client();
    const again = await other.post('/portal/login', { csrf: Browserless.csrfOf((await other.get(url)).text), token });
    expect(again.status).toBe(400);
    expect(other.cookies.has('deskbridge_portal')).toBe(false);
  });

  test('refuses a sign-in request or redemption without the CSRF token', async () => {
    const c = client();
    await c.get('/portal/signin');
    expect((await c.post('/portal/signin', { email: 'jane@corp.example' })).status).toBe(403);
    expect((await c.post('/portal/login', { token: 'x'.repeat(43) })).status).toBe(403);
  });

  test('is rate limited per address, across client IPs', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const c = client();
      const csrf = Browserless.csrfOf((await c.get('/portal/signin')).text);
      statuses.push((await c.post('/portal/signin', { csrf, email: 'Limited@Corp.example' })).status);
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  test('is rate limited per IP, across addresses', async () => {
    const c = client();
    const csrf = Browserless.csrfOf((await c.get('/portal/signin')).text);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await c.post('/portal/signin', { csrf, email: `someone${i}@spray.example` })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
    expect((await c.post('/portal/signin', { csrf, email: 'jane@corp.example' })).text).toContain('Too many sign-in requests');
  });
});

describe('ticket email links', () => {
  test('open the ticket directly, signed in, once; a signed-in user re-opening one lands on the ticket', async () => {
    const jane = await svc().people.findByEmail('jane@corp.example');
    const url = await t.app.ctx.links.ticketUrlFor(String(jane!._id), 1);
    expect(url.startsWith(`${t.url}/portal/login?token=`)).toBe(true);
    const c = client();
    const opened = await c.openLink(url);
    expect(opened).toMatchObject({ status: 303, location: '/portal/tickets/1' });
    expect((await c.get('/portal/tickets/1')).text).toContain('VPN drops');
    // Same browser again: already signed in as that person, straight to the ticket.
    expect((await c.get(url)).headers.get('location')).toBe('/portal/tickets/1');
    // Another browser: the link is used up.
    expect((await client().openLink(url)).status).toBe(400);
  });

  test("in the wrong person's browser do not redirect into the ticket", async () => {
    const jane = await svc().people.findByEmail('jane@corp.example');
    const url = await t.app.ctx.links.ticketUrlFor(String(jane!._id), 1);
    const bob = await signedIn('bob@other.example');
    const r = await bob.get(url);
    expect(r.status).toBe(200);
    expect(r.text).not.toContain('VPN drops');
  });
});

describe('access', () => {
  test("a user sees their own and CC'd tickets, never another user's", async () => {
    const jane = await signedIn('jane@corp.example');
    const list = await jane.get('/portal');
    expect(list.text).toContain('VPN drops');
    expect(list.text).not.toContain('Bob private matter');
    const refused = await jane.get('/portal/tickets/2');
    expect(refused.status).toBe(404);
    expect(refused.text).not.toContain('Bob private matter');
    expect((await jane.get('/portal/tickets/999')).status).toBe(404);
    const erin = await signedIn('erin@partner.example');
    expect((await erin.get('/portal/tickets/1')).status).toBe(200);
  });

  test("customer admins see their organisation's tickets; colleagues without the role do not", async () => {
    const carol = await signedIn('carol@corp.example');
    expect((await carol.get('/portal')).text).toContain('VPN drops');
    expect((await carol.get('/portal/tickets/1')).status).toBe(200);
    expect((await carol.get('/portal/tickets/2')).status).toBe(404);
    const dave = await signedIn('dave@corp.example');
    expect((await dave.get('/portal')).text).not.toContain('VPN drops');
    expect((await dave.get('/portal/tickets/1')).status).toBe(404);
  });

  test('without a session pages redirect to sign-in and posts are refused', async () => {
    const c = client();
    expect((await c.get('/portal/tickets/1')).headers.get('location')).toBe('/portal/signin');
    const fd = new FormData();
    fd.set('text', 'hi');
    expect((await c.request('POST', '/portal/tickets/1/replies', fd)).status).toBe(403);
  });

  test('sign-out ends the session on the server', async () => {
    const c = await signedIn('erin@partner.example', { fresh: true });
    const csrf = Browserless.csrfOf((await c.get('/portal')).text);
    const stolen = c.cookies.get('deskbridge_portal')!;
    expect((await c.post('/portal/signout', { csrf })).status).toBe(303);
    const replay = await client().get('/portal', { cookie: `deskbridge_portal=${stolen}` });
    expect(replay.headers.get('location')).toBe('/portal/signin');
  });
});

describe('the ticket page', () => {
  test('never shows an internal note, on the page or in the list', async () => {
    const jane = await signedIn('jane@corp.example');
    const page = await jane.get('/portal/tickets/1');
    expect(page.text).toContain('Looking into it');
    expect(page.text).not.toContain(SECRET);
    expect((await jane.get('/portal')).text).not.toContain(SECRET);
  });

  test('shows email HTML sanitised: no script, event handler or javascript: link survives', async () => {
    await svc().addEntry(1, {
      kind: 'reply', source: 'email', author: { email: 'jane@corp.example' }, text: 'see html',
      html: '<p>Formatted <b>mail</b></p><script>window.pwned=1</script><img src=x onerror="window.pwned=2"><a href="javascript:alert(1)">click</a><style>body{display:none}</style>',
    });
    const page = await (await signedIn('erin@partner.example')).get('/portal/tickets/1');
    expect(page.text).toContain('Formatted <b>mail</b>');
    expect(page.text).not.toMatch(/<script|onerror|javascript:|<style|<img/i);
  });
});

describe('replying', () => {
  test('adds a portal reply through the service: capped at 65,536 characters, status unchanged', async () => {
    const jane = await signedIn('jane@corp.example');
    const csrf = Browserless.csrfOf((await jane.get('/portal/tickets/1')).text);
    const fd = new FormData();
    fd.set('csrf', csrf);
    fd.set('text', 'x'.repeat(70_000));
    const r = await jane.request('POST', '/portal/tickets/1/replies', fd);
    expect(r.status).toBe(303);
    const ticket = await svc().getTicket(1);
    const entry = ticket.entries[ticket.entries.length - 1]!;
    expect(entry).toMatchObject({ kind: 'reply', source: 'portal', truncated: true, author: { kind: 'contact', email: 'jane@corp.example' } });
    expect([...entry.text].length).toBe(65_536);
    expect(entry.text.endsWith('…')).toBe(true);
    expect(ticket.status).toBe('Pending');
  });

  test('raises the same event an email reply does, so every channel notifies alike', async () => {
    const jane = await signedIn('jane@corp.example');
    const fd = new FormData();
    fd.set('csrf', Browserless.csrfOf((await jane.get('/portal/tickets/1')).text));
    fd.set('text', 'portal says hi');
    expect((await jane.request('POST', '/portal/tickets/1/replies', fd)).status).toBe(303);
    await svc().addEntry(1, { kind: 'reply', text: 'email says hi', author: { email: 'jane@corp.example' }, source: 'email' });
    await t.app.ctx.deliveries.drain();
    const entries = (await svc().getTicket(1)).entries;
    const added = (text: string) => {
      const id = entries.find((e) => e.text === text)!.id;
      return delivered.find((e) => e.type === 'entry.added' && e.data.entryId === id)!;
    };
    const portal = added('portal says hi');
    const email = added('email says hi');
    expect(portal.data).toMatchObject({ kind: 'reply', visibility: 'public', source: 'portal', authorKind: 'contact', statusChange: null });
    const { entryId: _a, source: _b, ...portalRest } = portal.data;
    const { entryId: _c, source: _d, ...emailRest } = email.data;
    expect(portalRest).toEqual(emailRest);
    expect(portal.actor).toEqual(email.actor);
  });

  test('without the CSRF token is refused and writes nothing', async () => {
    const jane = await signedIn('jane@corp.example');
    const before = (await svc().getTicket(1)).entries.length;
    const fd = new FormData();
    fd.set('csrf', 'wrong'.padEnd(43, 'x'));
    fd.set('text', 'forged');
    expect((await jane.request('POST', '/portal/tickets/1/replies', fd)).status).toBe(403);
    expect((await svc().getTicket(1)).entries.length).toBe(before);
  });

  test("to another user's ticket is refused", async () => {
    const jane = await signedIn('jane@corp.example');
    const csrf = Browserless.csrfOf((await jane.get('/portal/tickets/1')).text);
    const fd = new FormData();
    fd.set('csrf', csrf);
    fd.set('text', 'let me in');
    expect((await jane.request('POST', '/portal/tickets/2/replies', fd)).status).toBe(404);
    expect((await svc().getTicket(2)).entries.map((e) => e.text)).not.toContain('let me in');
  });

  test('stores attachments; only people who may read the ticket can download them, only as downloads', async () => {
    const jane = await signedIn('jane@corp.example');
    const csrf = Browserless.csrfOf((await jane.get('/portal/tickets/1')).text);
    const fd = new FormData();
    fd.set('csrf', csrf);
    fd.set('text', 'log attached');
    fd.append('files', new Blob(['<script>alert(1)</script> log line'], { type: 'text/html' }), 'vpn.html');
    expect((await jane.request('POST', '/portal/tickets/1/replies', fd)).status).toBe(303);
    const entry = (await svc().getTicket(1)).entries.at(-1)!;
    expect(entry.attachments).toEqual([expect.objectContaining({ filename: 'vpn.html', size: 34 })]);
    const href = `/portal/tickets/1/attachments/${entry.attachments[0]!.id}`;
    expect((await jane.get('/portal/tickets/1')).text).toContain(href);
    const dl = await jane.get(href);
    expect(dl.status).toBe(200);
    expect(dl.text).toBe('<script>alert(1)</script> log line');
    expect(dl.headers.get('content-type')).toBe('application/octet-stream');
    expect(dl.headers.get('content-disposition')).toMatch(/^attachment/);
    const bob = await signedIn('bob@other.example');
    expect((await bob.get(href)).status).toBe(404);
    // Bob's own ticket does not unlock Jane's file either.
    expect((await bob.get(`/portal/tickets/2/attachments/${entry.attachments[0]!.id}`)).status).toBe(404);
  });

  test('does not serve a file attached to an internal note', async () => {
    const store = new AttachmentStore(t.app.ctx.db.connection.db as never);
    const ref = await store.put(Buffer.from('internal only'), { filename: 'internal.txt', contentType: 'text/plain' });
    await svc().addEntry(1, { kind: 'note', text: 'internal file', author: { email: 'tom@it.example' }, source: 'api', attachments: [ref] });
    const jane = await signedIn('jane@corp.example');
    expect((await jane.get(`/portal/tickets/1/attachments/${ref.id}`)).status).toBe(404);
  });

  test('refuses more than 20 MB of attachments and writes nothing', async () => {
    const jane = await signedIn('jane@corp.example');
    const csrf = Browserless.csrfOf((await jane.get('/portal/tickets/1')).text);
    const before = (await svc().getTicket(1)).entries.length;
    const files = await t.app.ctx.db.connection.db!.collection('attachments.files').countDocuments();
    const fd = new FormData();
    fd.set('csrf', csrf);
    fd.set('text', 'too big');
    fd.append('files', new Blob([Buffer.alloc(12 * 1024 * 1024)]), 'a.bin');
    fd.append('files', new Blob([Buffer.alloc(9 * 1024 * 1024)]), 'b.bin');
    const r = await jane.request('POST', '/portal/tickets/1/replies', fd);
    expect(r.status).toBe(413);
    expect(r.text).toContain('20 MB');
    expect((await svc().getTicket(1)).entries.length).toBe(before);
    expect(await t.app.ctx.db.connection.db!.collection('attachments.files').countDocuments()).toBe(files);
  });
});

describe('new ticket', () => {
  test('creates a ticket with source "portal" for the signed-in user', async () => {
    const dave = await signedIn('dave@corp.example');
    const csrf = Browserless.csrfOf((await dave.get('/portal/new')).text);
    const fd = new FormData();
    fd.set('csrf', csrf);
    fd.set('title', 'Printer jams');
    fd.set('description', 'Tray 2');
    const r = await dave.request('POST', '/portal/tickets', fd);
    expect(r.status).toBe(303);
    const n = Number(/\/portal\/tickets\/(\d+)/.exec(r.headers.get('location') ?? '')?.[1]);
    const ticket = await svc().getTicket(n);
    expect(ticket).toMatchObject({ title: 'Printer jams', source: 'portal', requester: { email: 'dave@corp.example' } });
    expect((await dave.get('/portal')).text).toContain('Printer jams');
  });

  test('without a title is refused with the form shown again and nothing created', async () => {
    const dave = await signedIn('dave@corp.example');
    const csrf = Browserless.csrfOf((await dave.get('/portal/new')).text);
    const count = (await svc().listTickets({ limit: 100 })).items.length;
    const fd = new FormData();
    fd.set('csrf', csrf);
    fd.set('title', '   ');
    fd.set('description', 'kept <b>as text</b>');
    const r = await dave.request('POST', '/portal/tickets', fd);
    expect(r.status).toBe(400);
    expect(r.text).toContain('kept &lt;b&gt;as text&lt;/b&gt;');
    expect((await svc().listTickets({ limit: 100 })).items.length).toBe(count);
  });
});

describe('behind HTTPS', () => {
  test('the session cookie is Secure and __Host- prefixed', async () => {
    const https = await startPortalApp({ PUBLIC_URL: 'https://help.example.com' });
    try {
      const { person } = await https.app.ctx.service.people.register({ email: 'sec@corp.example', roles: ['contact'] });
      const link = await https.app.ctx.links.ticketUrlFor(person.id, 1);
      expect(link.startsWith('https://help.example.com/portal/login?token=')).toBe(true);
      const c = new Browserless(https.url);
      const local = link.replace('https://help.example.com', https.url);
      const confirm = await c.get(local);
      expect(confirm.setCookies[0]).toMatch(/^__Host-deskbridge_csrf=.*Secure/i);
      const r = await c.post('/portal/login', { csrf: Browserless.csrfOf(confirm.text), token: new URL(local).searchParams.get('token')! }, { cookie: `__Host-deskbridge_csrf=${c.cookies.get('__Host-deskbridge_csrf')}` });
      const session = r.setCookies.find((x) => x.startsWith('__Host-deskbridge_portal='))!;
      expect(session).toMatch(/; Secure/i);
      expect(session).toMatch(/HttpOnly/i);
      expect(session).toMatch(/Path=\//);
    } finally {
      await https.close();
    }
  });
});
