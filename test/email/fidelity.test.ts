import { simpleParser } from 'mailparser';
import { PNG } from 'pngjs';
import { emailBridgeOf } from '../../src/email/module.js';
import { TEST_TOKEN } from '../support/db.js';
import { startMailApp, type MailTestApp } from './support.js';

/*
 * Issue #13 end to end, over real SMTP on loopback and real MIME parsing of what was sent: the
 * thread as quote detector, "show the full message" and the raw download, and complete outbound
 * mail (attachments, inline images, quoted history, a Message-ID per recipient copy).
 */

let t: MailTestApp;
const TECH = 'tom@it.example';
beforeAll(async () => {
  t = await startMailApp();
  await t.api('POST', '/people', { email: TECH, name: 'Tom Tech', roles: ['technician'] });
});
afterAll(async () => { await t.close(); });

let counter = 0;
/** A ticket opened by mail from `requester`; returns its number and the Reply-To of the acknowledgement. */
async function mailTicket(requester: string, text: string) {
  const subject = `Case ${++counter}`;
  const res = await t.send({ from: requester, to: 'support@help.example', subject, text, messageId: `<open${counter}@corp.example>` });
  const n = Number(/#(\d+)/.exec(res.response)![1]);
  await t.drain();
  const ack = t.capture.to(requester).at(-1)!;
  return { n, replyTo: ack.mail.replyTo!.value[0]!.address!, subject };
}
const entries = async (n: number) => (await t.api('GET', `/tickets/${n}`)).body.entries as { id: string; text: string; kind: string }[];

test('a reply that reproduces our mail under a header no rule knows keeps only the new text (thread match)', async () => {
  const requester = 'ann@corp.example';
  const { n, replyTo, subject } = await mailTicket(requester, 'My VPN does not connect since this morning.');
  await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Please restart the VPN client, then check that the gateway is vpn.corp.example in the settings.', author: { email: TECH } });
  await t.drain();
  const ours = t.capture.to(requester).at(-1)!;
  // What we sent is kept, rendered, for this comparison.
  const stored = await emailBridgeOf(t.app.ctx).models.Outbound.findOne({ ticketNumber: n, email: requester, status: 'sent' }).sort({ at: -1 }).lean();
  expect(stored?.text).toBe(ours.mail.text!.trimEnd());

  // A client that quotes with a made-up header line and re-wraps the old text, no `>`.
  const reproduced = ours.mail.text!.replace(/\n/g, ' ').replace(/(.{1,60})(\s|$)/g, '$1\n');
  const res = await t.send({
    from: requester, to: replyTo, subject: `Re: ${subject}`, inReplyTo: ours.mail.messageId,
    text: `Restarted it, works now.\n\n·· 05.01.2026 10:00 · Helpdesk · support@help.example ··\n\n${reproduced}`,
  });
  expect(res.response).toMatch(/^250 appended/);
  expect((await entries(n)).at(-1)!.text).toBe('Restarted it, works now.');
});

test('"show the full message": the full text (quote included) and the raw .eml stay available', async () => {
  const requester = 'bob@corp.example';
  const { n, replyTo, subject } = await mailTicket(requester, 'Printer jams.');
  const body = 'Jammed again.\n\nOn Mon, 5 Jan 2026 at 10:00, Helpdesk <support@help.example> wrote:\n> Please open tray 2.\n';
  await t.send({ from: requester, to: replyTo, subject: `Re: ${subject}`, text: body, messageId: '<full-1@corp.example>' });
  const entry = (await entries(n)).at(-1)!;
  expect(entry.text).toBe('Jammed again.');

  const full = await t.api('GET', `/entries/${entry.id}/full`);
  expect(full.status).toBe(200);
  expect(full.body).toMatchObject({ entryId: entry.id, ticketNumber: n, messageId: '<full-1@corp.example>', visibleText: 'Jammed again.' });
  expect(full.body.text).toContain('> Please open tray 2.');

  const raw = await fetch(`${t.url}/api/v1/entries/${entry.id}/raw`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
  expect(raw.status).toBe(200);
  expect(raw.headers.get('content-type')).toMatch(/^message\/rfc822/);
  expect(raw.headers.get('content-disposition')).toMatch(/^attachment; filename="entry-[0-9a-f]{24}\.eml"$/);
  const parsed = await simpleParser(Buffer.from(await raw.arrayBuffer()));
  expect(parsed.messageId).toBe('<full-1@corp.example>');
  expect(parsed.text).toContain('> Please open tray 2.');

  // An entry that did not come by mail has no message; unknown ids are not found; the token is required.
  const typed = (await t.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: 'typed in', author: { email: TECH } })).body.entry;
  expect((await t.api('GET', `/entries/${typed.id}/full`)).body.error.code).toBe('NOT_FOUND');
  expect((await t.api('GET', '/entries/000000000000000000000000/raw')).status).toBe(404);
  expect((await t.api('GET', '/entries/not-an-id/full')).status).toBe(404);
  expect((await fetch(`${t.url}/api/v1/entries/${entry.id}/raw`)).status).toBe(401);
});

function png(): Buffer {
  const img = new PNG({ width: 2, height: 2 });
  img.data.fill(200);
  return PNG.sync.write(img);
}

test('outbound: attachments go with the mail, images as inline cid parts, the last public message quoted, never a note', async () => {
  const requester = 'cara@corp.example';
  const { n, replyTo, subject } = await mailTicket(requester, 'The screen flickers on my desk.');
  // The requester answers once more; then a technician writes an internal note, then replies with files.
  await t.send({ from: requester, to: replyTo, subject: `Re: ${subject}`, text: 'It flickers mostly after lunch.' });
  await t.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: 'NOTE-SECRET: the monitor is out of warranty', author: { email: TECH } });
  const { blobs } = emailBridgeOf(t.app.ctx);
  const image = png();
  const pdf = Buffer.from('%PDF-1.4\n% a tiny test file\n');
  const attachments = [
    { id: await blobs.put(image, 'screen.png', 'image/png'), filename: 'screen.png', contentType: 'image/png', size: image.length },
    { id: await blobs.put(pdf, 'manual.pdf', 'application/pdf'), filename: 'manual.pdf', contentType: 'application/pdf', size: pdf.length },
  ];
  await t.app.ctx.service.addEntry(n, { kind: 'reply', text: 'Please set the refresh rate to 60 Hz, see the picture.', author: { email: TECH }, source: 'api', attachments });
  await t.drain();

  const sent = t.capture.to(requester).at(-1)!;
  // keepCidLinks: see the html as sent (mailparser otherwise swaps cid: links for data: URIs).
  const mail = await simpleParser(sent.raw, { keepCidLinks: true });
  expect(mail.text).toContain('Please set the refresh rate to 60 Hz');
  const inline = mail.attachments.find((a) => a.filename === 'screen.png')!;
  expect(inline.contentDisposition).toBe('inline');
  expect(inline.cid).toBeTruthy();
  expect(Buffer.compare(inline.content, image)).toBe(0);
  expect(mail.html).toContain(`cid:${inline.cid}`);
  const file = mail.attachments.find((a) => a.filename === 'manual.pdf')!;
  expect(file.contentDisposition).toBe('attachment');
  expect(file.content.toString()).toBe(pdf.toString());

  // The quoted history: the last public message, marked as a quote in text and HTML.
  expect(mail.text).toMatch(/wrote:\n> It flickers mostly after lunch\./);
  expect(mail.html).toMatch(/<blockquote type="cite"[^>]*>.*It flickers mostly after lunch\./s);
  // The internal note never appears, in any part or encoding of any mail.
  for (const m of t.capture.received) {
    const parsed = await simpleParser(m.raw);
    expect(`${parsed.text}\n${parsed.html}\n${m.raw.toString()}`).not.toContain('NOTE-SECRET');
  }
});

test('an internal note written last is not the quoted history: the last public message is', async () => {
  const requester = 'dan@corp.example';
  const { n } = await mailTicket(requester, 'Keyboard missing keys.');
  await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'We ordered a new keyboard.', author: { email: TECH } });
  await t.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: 'HIDDEN-NOTE: ordered the cheap one', author: { email: TECH } });
  await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'It arrives tomorrow.', author: { email: TECH } });
  await t.drain();
  const last = await simpleParser(t.capture.to(requester).at(-1)!.raw);
  expect(last.text).toMatch(/wrote:\n> We ordered a new keyboard\./);
  expect(`${last.text}${last.html}`).not.toContain('HIDDEN-NOTE');
});

test('each recipient copy has its own Message-ID, and a reply to a CC copy threads to the ticket', async () => {
  const requester = 'eve@corp.example';
  const boss = 'boss@corp.example';
  const res = await t.api('POST', '/tickets', { title: 'Badge reader', description: 'Door 4 does not open.', requester: { email: requester }, cc: [boss], createdBy: { email: TECH } });
  const n = res.body.number as number;
  await t.drain();
  await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'A technician checks door 4 at noon.', author: { email: TECH } });
  await t.drain();
  const toRequester = t.capture.to(requester).at(-1)!.mail;
  const toBoss = t.capture.to(boss).at(-1)!.mail;
  expect(toRequester.text).toContain('door 4 at noon');
  expect(toBoss.text).toContain('door 4 at noon');
  expect(toBoss.messageId).not.toBe(toRequester.messageId);
  // The entry keeps the requester copy's id; the CC copy's id threads back through the sent-mail record.
  const entry = (await entries(n)).at(-1)! as unknown as { messageId: string };
  expect(`<${entry.messageId}>`).toBe(toRequester.messageId);
  const answer = await t.send({ from: boss, to: 'support@help.example', subject: 'Re: Badge reader', inReplyTo: toBoss.messageId, text: 'Thanks, I will be there.' });
  expect(answer.response).toMatch(new RegExp(`^250 appended #${n}`));
});
