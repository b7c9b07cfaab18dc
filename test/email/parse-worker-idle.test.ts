import { randomBytes } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { emailBridgeOf } from '../../src/email/module.js';
import { startMailApp, type MailTestApp } from './support.js';

/*
 * A parse worker left with nothing to do is stopped after MAIL_PARSE_WORKER_IDLE_SECONDS (issue 16,
 * RSS row: its isolate, heap, parser and database connections are tens of MB a service does not
 * need between bursts of large mail); the next large message starts a new one and parses as before.
 */

let t: MailTestApp;
beforeAll(async () => { t = await startMailApp({ MAIL_PARSE_WORKER_BYTES: '100000', MAIL_PARSE_WORKER_IDLE_SECONDS: '1' }); });
afterAll(async () => { await t.close(); });

const pool = () => (emailBridgeOf(t.app.ctx).parser as unknown as { pool: { worker: Worker }[] }).pool;
const sendLarge = (n: number) => t.send({
  from: 'kim@corp.example', to: 'support@help.example', subject: `Dump ${n}`, text: `Dump number ${n} attached.`,
  attachments: [{ filename: `dump-${n}.bin`, content: randomBytes(1024 * 1024) }],
});

test('the idle worker is terminated after the idle time; the next large message starts a new one and is stored whole', async () => {
  expect((await sendLarge(1)).response).toMatch(/created #\d+/);
  expect(pool()).toHaveLength(1);
  const first = pool()[0]!.worker;
  const exited = new Promise<number>((resolve) => first.once('exit', resolve));
  // Still there well within the idle time (a burst of mail keeps its worker).
  await new Promise((r) => setTimeout(r, 300));
  expect(pool()).toHaveLength(1);
  // Stopped after it: the thread has exited and the pool is empty.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('the idle worker was not stopped within 5 s')), 5000); })])
    .finally(() => clearTimeout(timer));
  expect(pool()).toHaveLength(0);

  const res = await sendLarge(2);
  expect(res.response).toMatch(/created #\d+/);
  expect(pool()).toHaveLength(1);
  expect(pool()[0]!.worker).not.toBe(first);
  const number = Number(/#(\d+)/.exec(res.response)![1]);
  const entry = (await t.api('GET', `/tickets/${number}`)).body.entries[0];
  expect(entry.text).toBe('Dump number 2 attached.');
  expect(entry.attachments[0]).toMatchObject({ filename: 'dump-2.bin', size: 1024 * 1024 });
  expect(emailBridgeOf(t.app.ctx).parser.stats.onWorker).toBe(2);
}, 60_000);
