import { emailBridgeOf } from '../../src/email/module.js';
import { startMailApp, type MailTestApp } from './support.js';

/*
 * MAIL_OUTBOUND_ATTACHMENTS_MAX_BYTES: an entry's files travel with its mail up to the cap; above it
 * the mail carries none, names them and points to the request (the files stay on the ticket).
 */

let t: MailTestApp;
const TECH = 'tom@it.example';
beforeAll(async () => {
  t = await startMailApp({ MAIL_OUTBOUND_ATTACHMENTS_MAX_BYTES: '1000' });
  await t.api('POST', '/people', { email: TECH, name: 'Tom Tech', roles: ['technician'] });
});
afterAll(async () => { await t.close(); });

test('files over the configured total are named and linked, not attached; under it they are attached', async () => {
  const requester = 'dora@corp.example';
  const res = await t.send({ from: requester, to: 'support@help.example', subject: 'Logs', text: 'Need the logs back.', messageId: '<cap-1@corp.example>' });
  const n = Number(/#(\d+)/.exec(res.response)![1]);
  const { blobs } = emailBridgeOf(t.app.ctx);
  const file = async (name: string, bytes: number) => {
    const data = Buffer.alloc(bytes, 'x');
    return { id: await blobs.put(data, name, 'text/plain'), filename: name, contentType: 'text/plain', size: bytes };
  };

  await t.app.ctx.service.addEntry(n, { kind: 'reply', text: 'Small one attached.', author: { email: TECH }, source: 'api', attachments: [await file('small.log', 400)] });
  await t.drain();
  const small = t.capture.to(requester).at(-1)!.mail;
  expect(small.text).toContain('Small one attached.');
  expect(small.attachments.map((a) => a.filename)).toEqual(['small.log']);

  await t.app.ctx.service.addEntry(n, { kind: 'reply', text: 'Big ones on the request.', author: { email: TECH }, source: 'api', attachments: [await file('a.log', 700), await file('b.log', 700)] });
  await t.drain();
  const big = t.capture.to(requester).at(-1)!.mail;
  expect(big.text).toContain('Big ones on the request.');
  expect(big.attachments).toEqual([]);
  expect(big.text).toMatch(/Attachments too large for email \(open the request to download\): a\.log, b\.log/);
  expect(big.text).toMatch(/View your request: http/);
});

test('the acknowledgement of a mailed-in request names the sender\'s own files and does not mail them back; a request opened for someone carries its files', async () => {
  const requester = 'erin@corp.example';
  const res = await t.send({
    from: requester, to: 'support@help.example', subject: 'Crash dump', text: 'The dump is attached.', messageId: '<own-files-1@corp.example>',
    attachments: [{ filename: 'dump.txt', content: 'x'.repeat(300) }, { filename: 'shot.png', content: Buffer.from('89504e470d0a1a0a', 'hex'), contentType: 'image/png' }],
  });
  const n = Number(/#(\d+)/.exec(res.response)![1]);
  await t.drain();
  const ack = t.capture.to(requester).at(-1)!.mail;
  expect(ack.subject).toContain(`[#${n}]`);
  expect(ack.text).toContain(`We received your request #${n}.`);
  expect(ack.attachments).toEqual([]);
  expect(ack.text).toMatch(/Files received with your request: dump\.txt, shot\.png/);
  // The files are on the ticket all the same.
  const entry = (await t.api('GET', `/tickets/${n}`)).body.entries[0];
  expect(entry.attachments.map((a: { filename: string }) => a.filename)).toEqual(['dump.txt', 'shot.png']);

  // Opened by a technician for someone else: that person has not seen the files, so they go with the mail.
  const { blobs } = emailBridgeOf(t.app.ctx);
  const id = await blobs.put(Buffer.from('steps'), 'steps.txt', 'text/plain');
  const opened = await t.app.ctx.service.createTicket({
    title: 'Set up VPN', description: 'Steps attached.', requester: { email: 'finn@corp.example' }, source: 'api',
    createdBy: { email: TECH }, attachments: [{ id, filename: 'steps.txt', contentType: 'text/plain', size: 5 }],
  });
  await t.drain();
  const forFinn = t.capture.to('finn@corp.example').at(-1)!.mail;
  expect(forFinn.subject).toContain(`[#${opened.number}]`);
  expect(forFinn.attachments.map((a) => a.filename)).toEqual(['steps.txt']);
  expect(forFinn.text).not.toMatch(/Files received with your request/);
});
