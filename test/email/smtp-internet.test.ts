import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { startMailApp, type MailTestApp } from './support.js';

/*
 * The inbound listener facing the internet: STARTTLS with our certificate, AUTH for relays (only
 * after TLS), recipients limited to our addresses, SIZE, per-IP limits answered with 4xx, and the
 * MTA's SPF/DMARC verdicts. nodemailer is the real SMTP client, over loopback, with TLS.
 */
const dir = mkdtempSync(join(tmpdir(), 'deskbridge-tls-'));
execFileSync('openssl', [
  'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
], { stdio: 'ignore' });
const ca = readFileSync(join(dir, 'cert.pem'));
const MAX_BYTES = 200_000;
const RATE = 4;

let t: MailTestApp;
beforeAll(async () => {
  t = await startMailApp({
    SMTP_TLS_CERT: join(dir, 'cert.pem'), SMTP_TLS_KEY: join(dir, 'key.pem'),
    SMTP_AUTH_USER: 'relay', SMTP_AUTH_PASSWORD: 'relay-secret-123',
    INBOUND_SMTP_ACCEPT: 'helpdesk@corp-alias.example',
    MAIL_MAX_BYTES: String(MAX_BYTES), INBOUND_SMTP_MAX_CONNECTIONS_PER_IP: '3', INBOUND_SMTP_MESSAGES_PER_IP_PER_MINUTE: String(RATE),
    MAIL_AUTHSERV_ID: 'mx.help.example', INBOUND_SMTP_TRUSTED_IPS: '',
  });
});
afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

const db = () => t.app.ctx.db.connection;

/** The relay: STARTTLS required and verified against our certificate, then AUTH. */
function relay(auth: { user: string; pass: string } | null = { user: 'relay', pass: 'relay-secret-123' }) {
  return nodemailer.createTransport({
    host: '127.0.0.1', port: t.inboundPort, secure: false, requireTLS: true, tls: { ca: [ca] },
    ...(auth ? { auth } : {}),
  });
}
async function sendVia(transport: ReturnType<typeof relay>, message: SendMailOptions) {
  try {
    return await transport.sendMail(message);
  } finally {
    transport.close();
  }
}

/** A raw SMTP conversation: the banner, then one reply per command. */
async function dialog(commands: string[]): Promise<string[]> {
  const socket = connect(t.inboundPort, '127.0.0.1');
  const replies: string[] = [];
  let buffer = '';
  let waiting: ((reply: string) => void) | null = null;
  socket.on('data', (d) => {
    buffer += d.toString('utf8');
    // A reply ends with a line "NNN text" (no dash after the code).
    const m = /(^|\r\n)\d{3} [^\r\n]*\r\n$/.exec(buffer);
    if (m && waiting) {
      const w = waiting;
      waiting = null;
      const reply = buffer;
      buffer = '';
      w(reply);
    }
  });
  const next = () => new Promise<string>((resolve) => { waiting = resolve; });
  replies.push(await next());
  for (const c of commands) {
    socket.write(`${c}\r\n`);
    replies.push(await next());
  }
  socket.destroy();
  return replies;
}

/** Opens a connection and returns it with the server's first reply. */
function openConnection(): Promise<{ socket: Socket; greeting: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(t.inboundPort, '127.0.0.1');
    socket.once('data', (d) => resolve({ socket, greeting: d.toString('utf8') }));
    socket.once('error', reject);
  });
}

test('EHLO offers STARTTLS and SIZE; AUTH is offered only after TLS', async () => {
  const [banner, ehlo] = await dialog(['EHLO client.example']);
  expect(banner).toMatch(/^220 /);
  expect(ehlo).toMatch(/250[- ]STARTTLS/);
  expect(ehlo).toMatch(new RegExp(`250[- ]SIZE ${MAX_BYTES}`));
  // Without TLS a password would cross the wire in clear: the server refuses AUTH.
  const [, , authReply] = await dialog(['EHLO client.example', 'AUTH PLAIN AHJlbGF5AHJlbGF5LXNlY3JldC0xMjM=']);
  expect(authReply).toMatch(/^5\d\d /);
});

test('a relay delivers over STARTTLS with AUTH; a wrong password is refused', async () => {
  const ok = await sendVia(relay(), { from: 'ann@corp.example', to: 'support@help.example', subject: 'tls relay', text: 'over tls', messageId: '<tls-1@corp.example>' });
  expect(ok.response).toMatch(/^250 .*created/);
  await expect(sendVia(relay({ user: 'relay', pass: 'wrong' }), { from: 'ann@corp.example', to: 'support@help.example', subject: 'x', text: 'x' }))
    .rejects.toMatchObject({ responseCode: 535 });
});

test('recipients that are not ours are refused with 550 before DATA, nothing stored', async () => {
  const before = await db().collection('mail_inbound').countDocuments();
  const err = await sendVia(relay(), { from: 'ann@corp.example', to: 'someone@elsewhere.example', subject: 'open relay?', text: 'relay me', messageId: '<relay-1@corp.example>' })
    .catch((e: unknown) => e as { responseCode?: number; command?: string });
  expect(err).toMatchObject({ responseCode: 550, command: 'RCPT TO' });
  expect(await db().collection('mail_inbound').countDocuments()).toBe(before);
  // Our +token forms and a configured extra address are ours.
  const alias = await sendVia(relay(), { from: 'ann@corp.example', to: 'helpdesk@corp-alias.example', subject: 'alias', text: 'via alias', messageId: '<alias-1@corp.example>' });
  expect(alias.response).toMatch(/^250 /);
  const [, , , rcpt] = await dialog(['EHLO client.example', 'MAIL FROM:<ann@corp.example>', 'RCPT TO:<support+abcdefgh12@help.example>']);
  expect(rcpt).toMatch(/^250 /);
});

test('SIZE: a declared size over the limit is refused at MAIL FROM, an actual one at DATA with 552', async () => {
  const [, , mailFrom] = await dialog(['EHLO client.example', `MAIL FROM:<ann@corp.example> SIZE=${MAX_BYTES + 1}`]);
  expect(mailFrom).toMatch(/^552 /);
  const big = 'x'.repeat(MAX_BYTES + 10_000);
  await expect(sendVia(relay(), { from: 'ann@corp.example', to: 'support@help.example', subject: 'big', text: 'see attachment', attachments: [{ filename: 'big.txt', content: big }], messageId: '<big-1@corp.example>' }))
    .rejects.toMatchObject({ responseCode: 552 });
  expect(await db().collection('entries').countDocuments({ messageId: 'big-1@corp.example' })).toBe(0);
});

test('per-IP connection limit: the connection over the limit gets 421, a slot freed is usable again', async () => {
  const open = [await openConnection(), await openConnection(), await openConnection()];
  for (const c of open) expect(c.greeting).toMatch(/^220 /);
  const over = await openConnection();
  expect(over.greeting).toMatch(/^421 4\.7\.0 too many connections/);
  over.socket.destroy();
  open[0]!.socket.destroy();
  // The server sees the close asynchronously: wait for the slot to be free, not a fixed time.
  for (;;) {
    const again = await openConnection();
    again.socket.destroy();
    if (/^220 /.test(again.greeting)) break;
    expect(again.greeting).toMatch(/^421 /);
  }
  for (const c of open.slice(1)) c.socket.destroy();
});

test('per-IP message rate: beyond the limit MAIL FROM gets 451 (the MTA retries); an authenticated relay is not limited', async () => {
  const plain = () => nodemailer.createTransport({ host: '127.0.0.1', port: t.inboundPort, secure: false, ignoreTLS: true });
  const answers: (number | string)[] = [];
  for (let i = 0; i < RATE + 2; i++) {
    const res = await sendVia(plain(), { from: 'bob@corp.example', to: 'support@help.example', subject: `rate ${i}`, text: `message ${i}`, messageId: `<rate-${i}@corp.example>` })
      .then(() => 250, (e: { responseCode?: number }) => e.responseCode ?? String(e));
    answers.push(res);
  }
  // Earlier tests in this file sent unauthenticated messages too; only the count within the minute matters.
  expect(answers.filter((a) => a === 451).length).toBeGreaterThanOrEqual(2);
  expect(answers.every((a) => a === 250 || a === 451)).toBe(true);
  const viaRelay = await sendVia(relay(), { from: 'bob@corp.example', to: 'support@help.example', subject: 'rate relay', text: 'relay is trusted', messageId: '<rate-relay@corp.example>' });
  expect(viaRelay.response).toMatch(/^250 /);
});

const authResults = (verdict: 'pass' | 'fail', domain = 'corp.example') =>
  `mx.help.example; spf=${verdict} (sender IP is 192.0.2.7) smtp.mailfrom=${domain}; dkim=${verdict} header.d=${domain}; dmarc=${verdict} (p=reject) header.from=${domain}`;

test('SPF/DKIM/DMARC from our MTA are recorded on the entry and the inbound record; a forged header below it is not read', async () => {
  await sendVia(relay(), {
    from: 'carol@corp.example', to: 'support@help.example', subject: 'authenticated', text: 'hello', messageId: '<auth-1@corp.example>',
    // Top header (added last) is our MTA's; the one below was written by the sender.
    headers: [{ key: 'Authentication-Results', value: authResults('pass') }, { key: 'Authentication-Results', value: 'evil.example; dmarc=fail header.from=corp.example' }],
  });
  const entry = await db().collection('entries').findOne({ messageId: 'auth-1@corp.example' });
  expect(entry?.external?.email?.auth).toMatchObject({ authservId: 'mx.help.example', spf: 'pass', dkim: 'pass', dmarc: 'pass', dmarcDomain: 'corp.example', spoofed: false });
  expect(await db().collection('mail_inbound').findOne({ _id: 'auth-1@corp.example' as never })).toMatchObject({ auth: { dmarc: 'pass' } });
});

test('mail failing DMARC for the claimed sender never threads into an existing ticket as that sender', async () => {
  const first = await sendVia(relay(), { from: 'dave@corp.example', to: 'support@help.example', subject: 'my printer', text: 'it jams', messageId: '<dmarc-0@corp.example>', headers: { 'Authentication-Results': authResults('pass') } });
  const ticketNumber = Number(/#(\d+)/.exec(first.response)![1]);
  const reply = (id: string, verdict: 'pass' | 'fail') => sendVia(relay(), {
    from: 'dave@corp.example', to: 'support@help.example', subject: `Re: [#${ticketNumber}] my printer`, text: `reply ${id}`,
    messageId: `<${id}@corp.example>`, inReplyTo: '<dmarc-0@corp.example>', references: ['<dmarc-0@corp.example>'],
    headers: { 'Authentication-Results': authResults(verdict) },
  });
  const forged = await reply('dmarc-forged', 'fail');
  expect(forged.response).toMatch(/^250 created #(\d+)/);
  expect(Number(/#(\d+)/.exec(forged.response)![1])).not.toBe(ticketNumber);
  const forgedEntry = await db().collection('entries').findOne({ messageId: 'dmarc-forged@corp.example' });
  expect(forgedEntry?.external?.email?.auth).toMatchObject({ dmarc: 'fail', spoofed: true });
  expect(await db().collection('entries').countDocuments({ ticketNumber, messageId: 'dmarc-forged@corp.example' })).toBe(0);
  // The same reply passing DMARC threads as usual: the check above is about the verdict, nothing else.
  const genuine = await reply('dmarc-genuine', 'pass');
  expect(genuine.response).toBe(`250 appended #${ticketNumber}`);
});

test('the MTA in front of us (a trusted IP, loopback by default) is not held to the per-IP limits', async () => {
  const trustedApp = await startMailApp({ INBOUND_SMTP_MESSAGES_PER_IP_PER_MINUTE: '1', INBOUND_SMTP_MAX_CONNECTIONS_PER_IP: '1' });
  try {
    const plain = nodemailer.createTransport({ host: '127.0.0.1', port: trustedApp.inboundPort, secure: false, ignoreTLS: true, pool: true, maxConnections: 2 });
    const sent = await Promise.all([0, 1, 2, 3].map((i) => plain.sendMail({ from: 'erin@corp.example', to: 'support@help.example', subject: `mta ${i}`, text: `via mta ${i}`, messageId: `<mta-${i}@corp.example>` })));
    plain.close();
    expect(sent.map((s) => s.response.slice(0, 3))).toEqual(['250', '250', '250', '250']);
  } finally {
    await trustedApp.close();
  }
});
