import nodemailer from 'nodemailer';
import type { Worker } from 'node:worker_threads';
import { emailBridgeOf } from '../../src/email/module.js';
import { startMailApp, type MailTestApp } from './support.js';

/*
 * A parse worker that dies is first taken as not the message's fault (451: the sender retries).
 * The same bytes taking down a second worker are the message's fault: 550, so the sender's MTA
 * bounces it instead of retrying it for days and killing a worker each time. The worker's death is
 * made by terminating it while it parses (what an out-of-memory or a crash in the parser does).
 */
let t: MailTestApp;
beforeAll(async () => {
  t = await startMailApp({ MAIL_PARSE_WORKER_BYTES: '100000', MAIL_PARSE_WORKERS: '1' });
});
afterAll(async () => { await t?.close(); });

type PoolView = { pool: { worker: Worker; job: unknown }[] };

/** Sends `raw` once over SMTP; meanwhile terminates the parse worker as soon as it has the job. */
async function sendWhileKillingTheWorker(raw: Buffer, kill: boolean): Promise<{ code: number; message: string }> {
  const parser = emailBridgeOf(t.app.ctx)!.parser as unknown as PoolView;
  let stop = false;
  const killer = (async () => {
    while (kill && !stop) {
      const busy = parser.pool.find((w) => w.job);
      if (busy) { await busy.worker.terminate(); return; }
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.inboundPort, secure: false, ignoreTLS: true });
  try {
    await transport.sendMail({ envelope: { from: 'kim@corp.example', to: ['support@help.example'] }, raw });
    return { code: 250, message: 'stored' };
  } catch (err) {
    const e = err as { responseCode?: number; response?: string };
    return { code: e.responseCode ?? 0, message: e.response ?? String(err) };
  } finally {
    stop = true;
    await killer;
    transport.close();
  }
}

async function largeMail(id: string): Promise<Buffer> {
  const built = await nodemailer.createTransport({ streamTransport: true, buffer: true }).sendMail({
    from: 'kim@corp.example', to: 'support@help.example', subject: 'Scan attached', messageId: `<${id}@corp.example>`,
    text: 'The scan is attached.', attachments: [{ filename: 'scan.bin', content: Buffer.alloc(3_000_000, 9) }],
  });
  return built.message as Buffer;
}

test('a message that takes down a parse worker is retried once (451), refused the second time (550)', async () => {
  const raw = await largeMail('crasher-1');
  const first = await sendWhileKillingTheWorker(raw, true);
  expect(first.code).toBe(451);
  const second = await sendWhileKillingTheWorker(raw, true);
  expect(second.code).toBe(550);
  expect(await t.app.ctx.db.connection.collection('entries').countDocuments({ messageId: 'crasher-1@corp.example' })).toBe(0);
}, 60_000);

test('another message is not refused for it, and the parser keeps working', async () => {
  const other = await largeMail('innocent-1');
  const once = await sendWhileKillingTheWorker(other, true);
  expect(once.code).toBe(451); // its first worker death: retried
  const retry = await sendWhileKillingTheWorker(other, false);
  expect(retry.code).toBe(250);
  expect(await t.app.ctx.db.connection.collection('entries').countDocuments({ messageId: 'innocent-1@corp.example' })).toBe(1);
}, 60_000);
