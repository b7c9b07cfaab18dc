import { monitorEventLoopDelay } from 'node:perf_hooks';
import { emailBridgeOf } from '../../src/email/module.js';
import { startMailApp, type MailTestApp } from './support.js';

/* Large messages are parsed on a worker thread: same result, and the event loop stays free. */

let t: MailTestApp;
beforeAll(async () => { t = await startMailApp({ MAIL_PARSE_WORKER_BYTES: '100000' }); });
afterAll(async () => { await t.close(); });

test('a large message parsed off the main thread gives the same entry (stripped text, attachments intact)', async () => {
  const attachment = Buffer.alloc(3 * 1024 * 1024, 42);
  const quoted = '> an old line of the quoted conversation\n'.repeat(20_000);
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const res = await t.send({
    from: 'kim@corp.example', to: 'support@help.example', subject: 'Big one',
    text: `Please see the dump.\n\nOn Mon, Jan 5, 2026 at 10:00 AM Helpdesk <support@help.example> wrote:\n${quoted}`,
    attachments: [{ filename: 'dump.bin', content: attachment, contentType: 'application/octet-stream' }],
  });
  h.disable();
  expect(res.response).toMatch(/created #1/);
  const entry = (await t.api('GET', '/tickets/1')).body.entries[0];
  expect(entry.text).toBe('Please see the dump.');
  expect(entry.attachments[0]).toMatchObject({ filename: 'dump.bin', size: attachment.length });
  expect((await emailBridgeOf(t.app.ctx).blobs.get(entry.attachments[0].id)).equals(attachment)).toBe(true);
  console.log(`event loop max delay while a ${(attachment.length / 1048576).toFixed(0)} MB mail was received and parsed: ${(h.max / 1e6).toFixed(0)} ms`);
});
