import nodemailer from 'nodemailer';
import { emailBridgeOf } from '../../src/email/module.js';
import { startMailApp, type MailTestApp } from './support.js';

/* Auto-replies, bounces, duplicates, loops and oversize mail do no harm. */

let t: MailTestApp;
let replyTo: string;
let ackId: string;
const REQUESTER = 'ann@corp.example';

beforeAll(async () => {
  t = await startMailApp({ MAIL_MAX_BYTES: String(64 * 1024) });
  await t.send({ from: REQUESTER, to: 'support@help.example', subject: 'Laptop slow', text: 'It takes ages to boot.' });
  await t.drain();
  const ack = t.capture.to(REQUESTER)[0]!;
  replyTo = ack.mail.replyTo!.value[0]!.address!;
  ackId = ack.mail.messageId!;
});
afterAll(async () => { await t.close(); });

const ticket = async (n = 1) => (await t.api('GET', `/tickets/${n}`)).body;
const activity = async (n = 1) => (await t.api('GET', `/tickets/${n}/activity`)).body.items;
const ingest = (raw: string, opts: { envelopeFrom?: string | null } = {}) => emailBridgeOf(t.app.ctx).pipeline.ingest(Buffer.from(raw.replace(/\n/g, '\r\n')), { via: 'pipe', ...opts });

test.each([
  ['Auto-Submitted: auto-replied', 'Auto-Submitted: auto-replied\n', 'Re: Laptop slow'],
  ['X-Autoreply', 'X-Autoreply: yes\n', 'Re: Laptop slow'],
  ['Precedence: bulk', 'Precedence: bulk\n', 'Re: Laptop slow'],
  ['X-Auto-Response-Suppress', 'X-Auto-Response-Suppress: All\n', 'Re: Laptop slow'],
  ['an out-of-office subject (German)', '', 'Abwesenheitsnotiz: Laptop slow'],
  ['an out-of-office subject (English)', '', 'Out of Office: Laptop slow'],
])('an auto-reply (%s) is ignored, noted on the ticket, never answered and never reopens', async (_name, header, subject) => {
  await t.api('PATCH', '/tickets/1', { status: 'Resolved' });
  await t.drain();
  const mailsBefore = t.capture.received.length;
  const entriesBefore = (await ticket()).entries.length;
  const res = await ingest(`From: ${REQUESTER}\nTo: ${replyTo}\nSubject: ${subject}\nMessage-ID: <ooo-${Math.random()}@corp.example>\n${header}\nI am away until Monday.\n`);
  expect(res).toMatchObject({ status: 'ignored', ticketNumber: 1, reason: expect.stringMatching(/^auto-reply/) });
  await t.drain();
  const after = await ticket();
  expect(after.entries).toHaveLength(entriesBefore);
  expect(after.status).toBe('Resolved');
  expect(t.capture.received.length).toBe(mailsBefore);
  expect((await activity()).at(-1)).toMatchObject({ action: 'email_ignored', meta: { reason: res.reason } });
});

test('a bounce (multipart/report) is ignored and marks the failed recipient undeliverable; no more mail goes there', async () => {
  await t.api('POST', '/tickets/1/entries', { kind: 'reply', text: 'cc test', author: { system: 'test' } }).catch(() => undefined);
  const bounce = [
    'From: Mail Delivery System <MAILER-DAEMON@mx.corp.example>', `To: ${replyTo}`, 'Subject: Undelivered Mail Returned to Sender',
    'Message-ID: <bounce-1@mx.corp.example>', `In-Reply-To: ${ackId}`, 'MIME-Version: 1.0',
    'Content-Type: multipart/report; report-type=delivery-status; boundary="B"', '', '--B', 'Content-Type: text/plain', '',
    'Your message could not be delivered.', '', '--B', 'Content-Type: message/delivery-status', '',
    'Reporting-MTA: dns; mx.corp.example', '', `Final-Recipient: rfc822; ${REQUESTER}`, 'Action: failed', 'Status: 5.1.1',
    'Diagnostic-Code: smtp; 550 5.1.1 user unknown', '', '--B--', '',
  ].join('\n');
  const res = await ingest(bounce, { envelopeFrom: '' });
  expect(res).toMatchObject({ status: 'ignored', ticketNumber: 1, reason: expect.stringMatching(/^bounce/) });
  const people = (await t.api('GET', '/people?q=ann')).body;
  const ann = (people.items ?? people).find((p: any) => p.email === REQUESTER);
  expect(ann.undeliverable[0]).toMatchObject({ email: REQUESTER, reason: expect.stringContaining('5.1.1') });
  expect((await activity()).map((a: any) => a.action)).toContain('email_undeliverable');
  expect((await ticket()).requester).toMatchObject({ email: REQUESTER, undeliverable: true });
  const before = t.capture.to(REQUESTER).length;
  await t.api('POST', '/people', { email: 'tom@it.example', roles: ['technician'] });
  await t.api('POST', '/tickets/1/entries', { kind: 'reply', text: 'Anyone there?', author: { email: 'tom@it.example' } });
  await t.drain();
  expect(t.capture.to(REQUESTER).length).toBe(before);
});

test('a mail with our own Message-ID (a loop) is ignored', async () => {
  const res = await ingest(`From: someone@corp.example\nTo: support@help.example\nSubject: hi\nMessage-ID: <deskbridge.e123@help.example>\n\nhello\n`);
  expect(res).toMatchObject({ status: 'ignored', reason: expect.stringMatching(/^loop/) });
  const res2 = await ingest(`From: robot@corp.example\nTo: support@help.example\nSubject: hi\nMessage-ID: <x1@corp.example>\nX-Deskbridge-Loop: deskbridge@help.example\n\nhello\n`);
  expect(res2).toMatchObject({ status: 'ignored', reason: expect.stringMatching(/^loop/) });
  const hops = Array.from({ length: 31 }, (_, i) => `Received: from hop${i}.example by hop${i + 1}.example`).join('\n');
  const res3 = await ingest(`${hops}\nFrom: robot@corp.example\nTo: support@help.example\nSubject: hi\nMessage-ID: <x2@corp.example>\n\nhello\n`);
  expect(res3).toMatchObject({ status: 'ignored', reason: expect.stringMatching(/^loop: more than 30/) });
  const res4 = await ingest(`From: Helpdesk <support@help.example>\nTo: support@help.example\nSubject: hi\nMessage-ID: <x3@elsewhere.example>\n\nhello\n`);
  expect(res4).toMatchObject({ status: 'ignored', reason: expect.stringMatching(/^loop: mail from our own address/) });
  expect((await t.api('GET', '/tickets')).body.items).toHaveLength(1);
});

test('the same Message-ID delivered twice is recorded once', async () => {
  const raw = `From: dup@corp.example\nTo: support@help.example\nSubject: Once\nMessage-ID: <dup-1@corp.example>\n\nonly once\n`;
  const a = await ingest(raw);
  const b = await ingest(raw);
  expect(a.status).toBe('created');
  expect(b).toMatchObject({ status: 'ignored', ticketNumber: a.ticketNumber, reason: expect.stringMatching(/^duplicate/) });
  const sent = await t.send({ envelope: { from: 'dup@corp.example', to: ['support@help.example'] }, raw: raw.replace(/\n/g, '\r\n') });
  expect(sent.response).toMatch(/^250 ignored/);
  expect((await ticket(a.ticketNumber!)).entries).toHaveLength(1);
});

test('oversize mail is refused with 552 over SMTP and the sender gets one short notice; automatic oversize mail gets none', async () => {
  const big = 'x'.repeat(70 * 1024);
  await expect(t.send({ from: 'big@corp.example', to: 'support@help.example', subject: 'Huge', text: 'see attachment', attachments: [{ filename: 'big.bin', content: big }] }))
    .rejects.toMatchObject({ responseCode: 552 });
  // The notice is sent after the 552 answer: wait for it (up to 10 s on a loaded machine).
  let notice = t.capture.to('big@corp.example');
  for (let waited = 0; notice.length === 0 && waited < 10_000; waited += 50) {
    await new Promise((r) => setTimeout(r, 50));
    notice = t.capture.to('big@corp.example');
  }
  expect(notice).toHaveLength(1);
  expect(notice[0]!.mail.subject).toBe('Not delivered: Huge');
  expect(notice[0]!.mail.headers.get('auto-submitted')).toBe('auto-replied');
  await expect(t.send({ from: 'big2@corp.example', to: 'support@help.example', subject: 'Huge', headers: { 'Auto-Submitted': 'auto-generated' }, text: big }))
    .rejects.toMatchObject({ responseCode: 552 });
  const piped = await ingest(`From: big3@corp.example\nTo: support@help.example\nSubject: Huge\nAuto-Submitted: auto-generated\n\n${big}\n`);
  expect(piped).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/too large/) });
  // A notice to an automatic sender would have been sent as quickly as the one above.
  await new Promise((r) => setTimeout(r, 1000));
  expect(t.capture.to('big2@corp.example')).toHaveLength(0);
  expect(t.capture.to('big3@corp.example')).toHaveLength(0);
  expect((await t.api('GET', '/tickets')).body.items.every((x: any) => x.title !== 'Huge')).toBe(true);
});

test('the [#n] subject tag threads only for a participant; a stranger opens a new ticket', async () => {
  const own = await ingest(`From: ${REQUESTER}\nTo: support@help.example\nSubject: Re: [#1] Laptop slow\nMessage-ID: <tag-1@corp.example>\n\nstill slow\n`);
  expect(own).toMatchObject({ status: 'appended', ticketNumber: 1 });
  const stranger = await ingest(`From: eve@evil.example\nTo: support@help.example\nSubject: Re: [#1] Laptop slow\nMessage-ID: <tag-2@evil.example>\n\nlet me in\n`);
  expect(stranger.status).toBe('created');
  expect(stranger.ticketNumber).not.toBe(1);
  expect((await ticket(stranger.ticketNumber!)).title).toBe('Laptop slow');
});

test('a technician CC\'d by an end user joins the CC list with their email address; the technician replying by email is recorded as technician', async () => {
  await t.api('POST', '/people', { email: 'tina@it.example', name: 'Tina Tech', roles: ['technician'] });
  const res = await ingest(`From: bob@corp.example\nTo: support@help.example\nCc: Tina Tech <tina@it.example>\nSubject: Monitor flickers\nMessage-ID: <cc-1@corp.example>\n\nflicker flicker\n`);
  const n = res.ticketNumber!;
  expect((await ticket(n)).cc).toEqual([expect.objectContaining({ email: 'tina@it.example' })]);
  const reply = await ingest(`From: tina@it.example\nTo: support@help.example\nSubject: Re: [#${n}] Monitor flickers\nIn-Reply-To: <cc-1@corp.example>\nMessage-ID: <cc-2@it.example>\n\nTry another cable.\n`);
  expect(reply).toMatchObject({ status: 'appended', ticketNumber: n, author: { kind: 'technician', email: 'tina@it.example' } });
});

test('no automatic mail to noreply-style addresses; a mail without a sender is rejected', async () => {
  const res = await ingest(`From: no-reply@shop.example\nTo: support@help.example\nSubject: Your order\nMessage-ID: <nr-1@shop.example>\n\nThanks for your order\n`);
  expect(res.status).toBe('created');
  await t.drain();
  expect(t.capture.to('no-reply@shop.example')).toHaveLength(0);
  const bad = await ingest(`To: support@help.example\nSubject: who am I\nMessage-ID: <nosender@x.example>\n\nhello\n`);
  expect(bad).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/sender/) });
  const smtp = nodemailer.createTransport({ host: '127.0.0.1', port: t.inboundPort, secure: false, ignoreTLS: true });
  await expect(smtp.sendMail({ envelope: { from: 'x@y.example', to: 'support@help.example' }, raw: 'To: support@help.example\r\nSubject: anon\r\nMessage-ID: <anon@x>\r\n\r\nhi\r\n' }))
    .rejects.toMatchObject({ responseCode: 550 });
  smtp.close();
});
