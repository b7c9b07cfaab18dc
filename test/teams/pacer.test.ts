import { ConversationPacer } from '../../src/teams/connector.js';
import { RetryLaterError } from '../../src/notify/notifier.js';

/*
 * Proactive Teams calls are paced per conversation ahead of the published limits (7/s, 60 per
 * 30 s), and a 429's Retry-After holds the conversation: the outbound pacing benchmark measures
 * the effect; these pin the rule.
 */

test('calls to one conversation are spaced at the sustained limit (60 per 30 s = one per 500 ms); other conversations are not held up', async () => {
  const pacer = new ConversationPacer();
  const t0 = Date.now();
  const times: number[] = [];
  for (let i = 0; i < 3; i++) { await pacer.slot('c1'); times.push(Date.now() - t0); }
  expect(times[0]).toBeLessThan(50);
  expect(times[1]).toBeGreaterThanOrEqual(490);
  expect(times[2]).toBeGreaterThanOrEqual(990);
  const other = Date.now();
  await pacer.slot('c2');
  expect(Date.now() - other).toBeLessThan(50);
});

test('after a 429 nothing goes to that conversation before Retry-After has passed; a long wait becomes RetryLaterError, not a sleep', async () => {
  const pacer = new ConversationPacer(500, 10_000);
  const now = Date.now();
  pacer.blocked('c1', 30_000, now);
  const err = await pacer.slot('c1', now + 1000).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RetryLaterError);
  expect((err as RetryLaterError).retryAfterMs).toBe(29_000);
  pacer.blocked('c2', 300, now);
  const t = Date.now();
  await pacer.slot('c2');
  expect(Date.now() - now).toBeGreaterThanOrEqual(295);
  expect(Date.now() - t).toBeLessThan(400);
});
