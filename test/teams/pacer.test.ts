import { TEAMS_LIMITS, wholeWindowShare } from '../../bench/lib/standins.js';
import { TEAMS_CONVERSATION_LIMITS } from '../../src/teams/connector.js';
import { cardAction, personalConversation } from './kit/activities.js';
import { contractTest, skipReason } from './kit/contracts.js';
import { startTeams, type TeamsHarness } from './kit/harness.js';

/*
 * Proactive Teams calls are paced by Teams' published limits for bots (7 per second and 60 per
 * 30 s per conversation), shared by every delivery: a backlog drains at the allowed rate against
 * the connector stand-in enforcing those limits (validated against ConnectorAPI.json), a 429's
 * Retry-After is honoured, and the end user's chat still gets replies and never a note.
 */
let h: TeamsHarness;
type P = Awaited<ReturnType<TeamsHarness['person']>>;
let tom: P, bob: P;
const itc = contractTest('teams pacing');
const NOTE = 'SECRET-NOTE: paced, never to the user';
const CHANNEL_CONVERSATION = '19:tickets-channel@thread.tacv2';

beforeAll(async () => {
  h = await startTeams();
  tom = await h.person('Tom Tech', 'tom@it.example');
  bob = await h.person('Bob User', 'bob@corp.example', ['contact']);
  await h.installInChannel(tom);
  await h.installPersonal(bob);
});
afterAll(async () => { await h?.close(); });

test('the sender paces by the limits the stand-ins enforce (Teams\' published per-conversation limits)', () => {
  expect(TEAMS_CONVERSATION_LIMITS).toEqual(TEAMS_LIMITS);
});

itc(`a backlog drains at ≥ 90 % of 7/s per conversation with no 429 left unhonoured; a 429 holds the conversation for its Retry-After; notes never reach the end user${skipReason}`, async () => {
  const TICKETS = 6;
  const TICKETS_AT_ONCE = 4; // the delivery worker's default concurrency per channel
  const numbers: number[] = [];
  for (let i = 0; i < TICKETS; i++) {
    const r = await h.t.api('POST', '/tickets', { title: `Paced ${i}`, description: 'x', requester: { email: 'bob@corp.example' } });
    numbers.push(r.body.number);
  }
  await h.drain();
  // Bob chats about the first ticket: public replies go to his 1:1, notes must not.
  const started = await h.post(cardAction(h.connector.url, tom, 'chat.start', { ticket: numbers[0] }));
  expect(JSON.stringify(started.body.value)).toContain('Chat started');
  await h.drain();
  const conversation = (await h.cardRef(numbers[0]!)).conversationId;
  expect(conversation).toBe(CHANNEL_CONVERSATION);

  // The backlog: written while the worker is stopped, so it is all queued when the worker starts.
  const worker = h.t.app.ctx.deliveries;
  await worker.stop();
  for (const n of numbers) {
    for (const text of [`First answer on #${n}`, `Second answer on #${n}`]) {
      await h.t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text, author: { email: 'tom@it.example' } });
    }
    await h.t.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: NOTE, author: { email: 'tom@it.example' } });
  }
  h.connector.reset();
  h.connector.rateLimit(TEAMS_LIMITS);
  // The first call is answered 429 with Retry-After 2 s: nothing may go to that conversation before it has passed.
  h.connector.failNext(429, { retryAfter: '2', match: (c) => c.conversationId === CHANNEL_CONVERSATION && c.method !== 'GET' });
  worker.start();
  await worker.drain(90_000);
  await new Promise((r) => setTimeout(r, 2_100));
  await worker.drain(90_000);

  const calls = h.connector.calls.filter((c) => c.conversationId === CHANNEL_CONVERSATION && c.method !== 'GET');
  const refused = calls.find((c) => c.status === 429)!;
  expect(refused).toBeDefined();
  const after = calls.filter((c) => c !== refused && c.at >= refused.at);
  // The worker starts a few tickets at once: calls sent together with the refused one may reach the
  // stand-in just after it (the stand-in shares the test's event loop). Those are not "after the 429";
  // anything later within the Retry-After is.
  const IN_FLIGHT_MS = 250;
  const sentTogether = after.filter((c) => c.at < refused.at + IN_FLIGHT_MS);
  expect(sentTogether.length).toBeLessThanOrEqual(TICKETS_AT_ONCE - 1);
  expect(after.filter((c) => c.at >= refused.at + IN_FLIGHT_MS && c.at < refused.at + 2_000).map((c) => `${c.method} ${c.status} +${c.at - refused.at}`)).toEqual([]);
  expect(h.connector.retryAfterIgnored).toBe(0);
  const accepted = after.filter((c) => c.status < 300);
  // Every entry is in its ticket's thread: 3 per ticket (notes included: it is the technicians' channel).
  expect(accepted.filter((c) => c.operationId === 'Conversations_ReplyToActivity')).toHaveLength(TICKETS * 3);
  // 7 per second: the calls of every whole second from the first one (the last, partial second is
  // where the backlog ran out).
  // Counted from the end of the Retry-After hold (calls sent together with the refused one, and the
  // hold itself, say nothing about how well the allowance is used).
  const used = wholeWindowShare(accepted.filter((c) => c.at >= refused.at + 2_000).map((c) => c.at), 7, 1000)!;
  console.info(`teams pacing: ${accepted.length} calls; ${used.calls} in ${used.windows} whole seconds, ${used.allowed} allowed (${Math.round(used.share * 100)} %), ${calls.filter((c) => c.status === 429).length} 429s`);
  expect(used.windows).toBeGreaterThanOrEqual(2); // the limit held the calls back
  expect(used.share).toBeGreaterThanOrEqual(0.9);

  const toBob = h.connector.textSentTo(personalConversation(bob).id);
  expect(toBob).toContain(`Second answer on #${numbers[0]}`);
  expect(toBob).not.toContain('SECRET-NOTE');
  h.assertContract();
}, 120_000);
