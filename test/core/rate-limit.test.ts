import { Writable } from 'node:stream';
import pino from 'pino';
import { PacedError, PacingLog, RateLimiter, isPaced, type RateKey } from '../../src/notify/rate-limit.js';

/*
 * The outbound limiter every Slack/Teams delivery of the process shares (src/notify/rate-limit.ts):
 * it counts like the platforms (sliding windows), and a 429's Retry-After holds the bucket.
 */

const windowed = (key: string, max: number, windowMs: number): RateKey => ({ key, windows: [{ max, windowMs }] });
const is429 = (err: unknown) => (err as { retryAfterMs?: number }).retryAfterMs;
const ok = async () => 'ok';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the whole window\'s allowance goes at once; the next call waits until the oldest answer has left the window', async () => {
  const limiter = new RateLimiter(5_000);
  const key = windowed('k', 3, 400);
  const t0 = Date.now();
  const at: number[] = [];
  for (let i = 0; i < 4; i++) await limiter.run([key], async () => { at.push(Date.now() - t0); }, is429);
  expect(at.slice(0, 3).every((t) => t < 100)).toBe(true);
  expect(at[3]).toBeGreaterThanOrEqual(400);
  // Another bucket is not held up by this one.
  const other = Date.now();
  await limiter.run([windowed('other', 3, 400)], ok, is429);
  expect(Date.now() - other).toBeLessThan(100);
});

test('a slot is counted from the answer, not the request: a slow call cannot make the next one early at the platform', async () => {
  const limiter = new RateLimiter(5_000);
  const key = windowed('slow', 1, 300);
  const t0 = Date.now();
  await limiter.run([key], () => sleep(200), is429);
  await limiter.run([key], ok, is429);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
});

test('a 429 holds its bucket until Retry-After has passed: no call before it; the refused call does not use up the allowance; other buckets go on', async () => {
  const limiter = new RateLimiter(5_000);
  const key = windowed('conv', 7, 1000);
  const app = windowed('app', 50, 1000);
  const t0 = Date.now();
  const refused = limiter.run([key, app], async () => { throw Object.assign(new Error('429'), { retryAfterMs: 700 }); }, is429);
  await expect(refused).rejects.toThrow('429');
  let held = -1;
  let free = -1;
  await Promise.all([
    limiter.run([key, app], async () => { held = Date.now() - t0; }, is429),
    limiter.run([windowed('conv-2', 7, 1000), app], async () => { free = Date.now() - t0; }, is429),
  ]);
  expect(held).toBeGreaterThanOrEqual(700);
  expect(free).toBeLessThan(300); // the app-wide bucket is not held by one conversation's 429
  // The refused call left no slot behind: after the hold, the conversation still has 7 in its second.
  for (let i = 0; i < 6; i++) await limiter.run([key, app], ok, is429);
  expect(limiter.waitFor([key])).toBeGreaterThan(0);
});

test('a wait longer than maxWait is a PacedError carrying the wait (the delivery is rescheduled), not a sleep', async () => {
  const limiter = new RateLimiter(200);
  const key = windowed('tier3', 2, 60_000);
  await limiter.run([key], ok, is429);
  await limiter.run([key], ok, is429);
  const t0 = Date.now();
  const err = await limiter.run([key], ok, is429).catch((e: unknown) => e);
  expect(Date.now() - t0).toBeLessThan(150);
  expect(err).toBeInstanceOf(PacedError);
  expect(isPaced(err)).toBe(true);
  expect((err as PacedError).retryAfterMs).toBeGreaterThan(59_000);
  // Retry-After longer than maxWait, likewise.
  limiter.blocked('held', 5_000);
  await expect(limiter.run([windowed('held', 10, 1000)], ok, is429)).rejects.toBeInstanceOf(PacedError);
});

test('waiting for the allowance is logged once per hold of a bucket, with how many deliveries were rescheduled in it; each reschedule only at debug', async () => {
  const lines: { level: number; msg: string; bucket?: string; rescheduled?: number; heldMs?: number }[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } }));
  const log = new PacingLog(logger, 'slack');
  const paced = (bucket: string, waitMs: number) => new PacedError(`paced: ${bucket} has no room for ${waitMs} ms`, waitMs, [bucket]);
  const info = () => lines.filter((l) => l.level >= 30);
  const until = async (n: number) => { for (const end = Date.now() + 5_000; info().length < n && Date.now() < end;) await sleep(10); };
  // A burst: twelve deliveries of one bucket rescheduled during its hold, one of another bucket.
  for (let i = 0; i < 12; i++) log.rescheduled(paced('slack:W:chat.update', 300 - i * 10), { ticket: i });
  log.rescheduled(paced('slack:W:chat.postMessage:C1', 100));
  await sleep(0); // pino writes on the next tick
  expect(info()).toEqual([]); // nothing above debug while the holds last
  expect(lines.filter((l) => l.level === 20)).toHaveLength(13);
  expect(log.active().sort()).toEqual(['slack:W:chat.postMessage:C1', 'slack:W:chat.update']);
  await until(2);
  expect(info()).toHaveLength(2);
  expect(info()[0]).toMatchObject({ bucket: 'slack:W:chat.postMessage:C1', rescheduled: 1 });
  expect(info()[1]).toMatchObject({ bucket: 'slack:W:chat.update', rescheduled: 12, msg: 'slack: 12 deliveries waited for the rate allowance' });
  expect(info()[1]!.heldMs).toBeGreaterThanOrEqual(300);
  expect(log.active()).toEqual([]);
  // The next hold of the bucket is a new one; a longer wait during it extends it.
  const t0 = Date.now();
  log.rescheduled(paced('slack:W:chat.update', 50));
  log.rescheduled(paced('slack:W:chat.update', 250));
  await until(3);
  expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
  expect(info()).toHaveLength(3);
  expect(info()[2]).toMatchObject({ bucket: 'slack:W:chat.update', rescheduled: 2 });
});
