import { jest } from '@jest/globals';
import { POST_LEASE_MS } from '../../src/notify/post-intent.js';
import { teamsModule } from '../../src/teams/index.js';
import { eventFromDoc } from '../../src/tickets/mappers.js';
import type { EventDoc } from '../../src/store/models.js';
import { startTestApp, type TestApp } from '../support/db.js';
import { conversationUpdate, memberOf, postActivity, teamsUser, TEAMS_CHANNEL_ID } from './kit/activities.js';
import { cardsIn, expectValidCard } from './kit/card-validator.js';
import { ConnectorStandIn } from './kit/connector.js';
import { chatTicket, deliverStored, dieDuringPost } from './kit/crash.js';
import { contractTest, skipReason } from './kit/contracts.js';

/*
 * A process that dies between a Teams post (card, thread reply, 1:1 message) and storing its
 * activity id. The Bot Connector API (contracts/teams/ConnectorAPI.json) has no operation that reads
 * a conversation's messages back: only send, reply, update, delete, members and attachments. So the
 * retry cannot look for what the dead attempt may have posted. What we guarantee instead, and test
 * here: the intent is recorded before the call; an attempt that dies before its call posts nothing
 * twice; one that dies during its call is posted again at most once more per crash, the repeat is
 * counted on the record (attempt 2), and everything afterwards (updates, thread replies) goes to one
 * message only. See docs/faults.md "Teams: why at least once".
 */
const itc = contractTest('teams posts across a crash');
// Each test starts one or two more app instances on a loaded machine.
jest.setTimeout(120_000);

let connector: ConnectorStandIn;
let dbName: string;
const apps: TestApp[] = [];
const tom = teamsUser('Tom Tech', 'tom@it.example');
const jane = teamsUser('Jane Doe', 'jane@corp.example');
const NOTE = 'SECRET-NOTE: do not tell her about the audit';

async function start(): Promise<TestApp> {
  const t = await startTestApp({ modules: [teamsModule], dbName, env: { TEAMS_CARD_COMMENT_CHARS: '1000' } });
  // Deliveries are driven by hand here: the in-process worker (woken by every write) stays out.
  await t.app.ctx.deliveries.stop();
  apps.push(t);
  return t;
}
const current = () => apps.at(-1)!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dieDuring = async (t: TestApp, operationId: string, work: () => Promise<unknown>): Promise<void> => { await dieDuringPost(connector, t, operationId, work); };
const deliver = (t: TestApp, n: number, type: string, match?: (d: Record<string, unknown>) => boolean) => deliverStored(t, n, type, match);


const ticketRef = async (t: TestApp, n: number) => (await t.app.ctx.service.getTicket(n)).channelRefs.teams as Record<string, any>;
const cardPosts = () => connector.callsOf('Conversations_SendToConversation', TEAMS_CHANNEL_ID);

beforeAll(async () => {
  connector = await new ConnectorStandIn().start();
  connector.directory.push(memberOf(tom), memberOf(jane));
  dbName = `deskbridge_teamsonce_${Date.now().toString(36)}`;
  const t = await start();
  await t.api('POST', '/people', { email: tom.email, name: tom.name, roles: ['technician'] });
  await t.api('POST', '/people', { email: jane.email, name: jane.name, roles: ['contact'] });
  expect((await postActivity(t.url, conversationUpdate(connector.url, tom, 'channel'))).status).toBeLessThan(300);
  expect((await postActivity(t.url, conversationUpdate(connector.url, jane, 'personal'))).status).toBeLessThan(300);
});
afterAll(async () => {
  for (const a of apps) await a.close().catch(() => undefined);
  await connector?.stop();
});
afterEach(() => {
  expect(connector.problems()).toEqual([]);
  for (const call of connector.calls) for (const card of cardsIn(call.body)) expectValidCard(card);
});

itc(`the card: killed during its post, the retry posts once more (attempt 2) and every later update and reply goes to that card only${skipReason}`, async () => {
  const a = current();
  const n = (await a.api('POST', '/tickets', { title: 'Printer on fire', description: 'smoke', requester: { email: jane.email } })).body.number as number;
  const before = cardPosts().length;
  await dieDuring(a, 'Conversations_SendToConversation', () => deliver(a, n, 'ticket.created'));
  expect(cardPosts().length - before).toBe(1);

  const b = await start();
  const intent = await ticketRef(b, n);
  expect(intent).toMatchObject({ posting: true, attempt: 1, conversationId: TEAMS_CHANNEL_ID });
  // Within its lease the intent belongs to the (possibly still running) attempt: nothing is posted.
  await expect(deliver(b, n, 'ticket.created')).rejects.toThrow(/being posted/);
  expect(cardPosts().length - before).toBe(1);
  // The lease has run out (the attempt is dead):
  await b.app.ctx.db.connection.collection('tickets').updateOne({ number: n }, { $set: { 'channelRefs.teams.at': intent.at - POST_LEASE_MS } });
  await deliver(b, n, 'ticket.created');
  await deliver(b, n, 'ticket.created');
  // No way to find the first copy: one more post, never two more.
  expect(cardPosts().length - before).toBe(2);
  const ref = await ticketRef(b, n);
  expect(ref).toMatchObject({ conversationId: TEAMS_CHANNEL_ID, attempt: 2 });
  expect(ref.activityId).toBeTruthy();

  const reply = await b.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'On my way', author: { email: tom.email } });
  await deliver(b, n, 'entry.added', (d) => d.entryId === reply.body.entry.id);
  const replies = connector.callsOf('Conversations_ReplyToActivity');
  const updates = connector.callsOf('Conversations_UpdateActivity');
  expect(replies.at(-1)!.activityId).toBe(ref.activityId);
  expect(updates.length).toBeGreaterThan(0);
  expect(updates.every((u) => u.activityId === ref.activityId)).toBe(true);
});

itc(`the card: an intent whose post never reached Teams (died before the call) posts exactly one card${skipReason}`, async () => {
  const b = current();
  const n = (await b.api('POST', '/tickets', { title: 'No card yet', description: 'x', requester: { email: jane.email } })).body.number as number;
  await b.app.ctx.service.setChannelRef(n, 'teams', { posting: true, at: Date.now() - POST_LEASE_MS, attempt: 1, conversationId: TEAMS_CHANNEL_ID });
  const before = cardPosts().length;
  await deliver(b, n, 'ticket.created');
  await deliver(b, n, 'ticket.created');
  expect(cardPosts().length - before).toBe(1);
  expect(await ticketRef(b, n)).toMatchObject({ activityId: expect.any(String), attempt: 2 });
});

itc(`two instances deliver events of a new ticket at once: one card; the other retries later and then uses it${skipReason}`, async () => {
  const a = current();
  const b = await start();
  const n = (await a.api('POST', '/tickets', { title: 'Two at once', description: 'x', requester: { email: jane.email } })).body.number as number;
  const reply = await a.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Both instances busy', author: { email: tom.email } });
  const before = cardPosts().length;
  const answer = connector.holdNextAnswer('Conversations_SendToConversation');
  let settled: string | null = null;
  const first = deliver(a, n, 'ticket.created').then(() => { settled = 'done'; }, (err: Error) => { settled = `failed: ${err.message}`; });
  while (cardPosts().length === before && settled === null) await sleep(10);
  expect(settled).toBeNull();
  await expect(deliver(b, n, 'entry.added', (d) => d.entryId === reply.body.entry.id)).rejects.toThrow(/being posted/);
  answer();
  await first;
  await deliver(b, n, 'entry.added', (d) => d.entryId === reply.body.entry.id);
  expect(cardPosts().length - before).toBe(1);
  expect(connector.callsOf('Conversations_ReplyToActivity').at(-1)!.activityId).toBe((await ticketRef(b, n)).activityId);
});

itc(`a thread reply: killed during its post, posted once more (attempt 2 on the entry), never a third time${skipReason}`, async () => {
  const a = current();
  const n = (await a.api('POST', '/tickets', { title: 'Thread', description: 'x', requester: { email: jane.email } })).body.number as number;
  await deliver(a, n, 'ticket.created');
  const card = await ticketRef(a, n);
  const reply = await a.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Mirrored reply', author: { email: tom.email } });
  const entryId = reply.body.entry.id as string;
  const mirrors = () => connector.callsOf('Conversations_ReplyToActivity').filter((c) => c.activityId === card.activityId && JSON.stringify(c.body).includes('Mirrored reply'));
  await dieDuring(a, 'Conversations_ReplyToActivity', () => deliver(a, n, 'entry.added', (d) => d.entryId === entryId));
  expect(mirrors()).toHaveLength(1);

  const b = await start();
  await deliver(b, n, 'entry.added', (d) => d.entryId === entryId);
  await deliver(b, n, 'entry.added', (d) => d.entryId === entryId);
  expect(mirrors()).toHaveLength(2);
  const entry = await b.app.ctx.service.getEntry(entryId);
  expect(entry!.external).toMatchObject({ teamsMirror: { attempt: 2 }, teamsActivityId: expect.any(String) });
});

itc(`a thread reply Teams refused (429) is retried without counting as a repeat: one reply, attempt 1${skipReason}`, async () => {
  const b = current();
  const n = (await b.api('POST', '/tickets', { title: 'Throttled', description: 'x', requester: { email: jane.email } })).body.number as number;
  await deliver(b, n, 'ticket.created');
  const reply = await b.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Throttled reply', author: { email: tom.email } });
  const entryId = reply.body.entry.id as string;
  connector.failNext(429, { retryAfter: '0', match: (c) => c.operationId === 'Conversations_ReplyToActivity' });
  await expect(deliver(b, n, 'entry.added', (d) => d.entryId === entryId)).rejects.toThrow(/429/);
  await deliver(b, n, 'entry.added', (d) => d.entryId === entryId);
  const posted = connector.callsOf('Conversations_ReplyToActivity').filter((c) => c.status < 300 && JSON.stringify(c.body).includes('Throttled reply'));
  expect(posted).toHaveLength(1);
  expect((await b.app.ctx.service.getEntry(entryId))!.external).toMatchObject({ teamsMirror: { attempt: 1 } });
});

itc(`a reply relayed to the end user's 1:1 chat: killed during its post, relayed once more, never a note${skipReason}`, async () => {
  const a = current();
  const { n, chat, relays } = await chatTicket(a, connector, jane, 'My screen is black', 'Try another cable');
  await a.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: NOTE, author: { email: tom.email } });
  const reply = await a.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Try another cable', author: { email: tom.email } });
  const entryId = reply.body.entry.id as string;
  // The card is posted first; then the crash hits the relay to the 1:1 chat (the only post of that delivery).
  await deliver(a, n, 'ticket.created');
  await dieDuring(a, 'Conversations_SendToConversation', () => deliver(a, n, 'entry.added', (d) => d.entryId === entryId));
  expect(relays()).toHaveLength(1);

  const b = await start();
  for (const e of await b.app.ctx.db.connection.collection('events').find({ ticketNumber: n, type: 'entry.added' }).toArray()) {
    await b.app.ctx.notifiers.get('teams')!.deliver(eventFromDoc(e as unknown as EventDoc));
    await b.app.ctx.notifiers.get('teams')!.deliver(eventFromDoc(e as unknown as EventDoc));
  }
  expect(relays()).toHaveLength(2);
  expect(await b.app.ctx.db.connection.collection('teams_sent').findOne({ _id: `relay:${entryId}` as never })).toMatchObject({ attempt: 2, activityId: expect.any(String) });
  expect(connector.textSentTo(chat)).not.toContain('SECRET-NOTE');
});

/*
 * A retry after a crash that Teams refuses (429; the pacer holding the call back is the same path)
 * posted nothing itself, but the dead attempt before it may have: its intent must survive the
 * refusal, so the post that finally goes out is counted as the repeat it is (attempt 2). Before,
 * the refusal cleared the intent and the next post was recorded as attempt 1 next to the dead
 * attempt's copy: two copies on a record that admits one (the multi-instance channels fault test's
 * "unmatched" Teams thread replies after the pacing merge).
 */
itc(`a thread reply killed during its post, then its retry refused (429): the next post is still counted as attempt 2${skipReason}`, async () => {
  const a = current();
  const n = (await a.api('POST', '/tickets', { title: 'Crash then throttle', description: 'x', requester: { email: jane.email } })).body.number as number;
  await deliver(a, n, 'ticket.created');
  const card = await ticketRef(a, n);
  const reply = await a.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Crash-then-throttle reply', author: { email: tom.email } });
  const entryId = reply.body.entry.id as string;
  const mirrors = () => connector.callsOf('Conversations_ReplyToActivity').filter((c) => c.status < 300 && c.activityId === card.activityId && JSON.stringify(c.body).includes('Crash-then-throttle reply'));
  await dieDuring(a, 'Conversations_ReplyToActivity', () => deliver(a, n, 'entry.added', (d) => d.entryId === entryId));
  expect(mirrors()).toHaveLength(1);

  const b = await start();
  connector.failNext(429, { retryAfter: '0', match: (c) => c.operationId === 'Conversations_ReplyToActivity' });
  await expect(deliver(b, n, 'entry.added', (d) => d.entryId === entryId)).rejects.toThrow(/429/);
  expect((await b.app.ctx.service.getEntry(entryId))!.external).toMatchObject({ teamsMirror: { posting: true, attempt: 1 } });
  await deliver(b, n, 'entry.added', (d) => d.entryId === entryId);
  await deliver(b, n, 'entry.added', (d) => d.entryId === entryId);
  expect(mirrors()).toHaveLength(2);
  expect((await b.app.ctx.service.getEntry(entryId))!.external).toMatchObject({ teamsMirror: { attempt: 2 }, teamsActivityId: expect.any(String) });
});

itc(`the card killed during its post, then its retry refused (429): the card that goes out is counted as attempt 2${skipReason}`, async () => {
  const a = current();
  const n = (await a.api('POST', '/tickets', { title: 'Card crash then throttle', description: 'x', requester: { email: jane.email } })).body.number as number;
  const before = cardPosts().filter((c) => c.status < 300).length;
  await dieDuring(a, 'Conversations_SendToConversation', () => deliver(a, n, 'ticket.created'));
  const b = await start();
  const intent = await ticketRef(b, n);
  await b.app.ctx.db.connection.collection('tickets').updateOne({ number: n }, { $set: { 'channelRefs.teams.at': intent.at - POST_LEASE_MS } });
  connector.failNext(429, { retryAfter: '0', match: (c) => c.operationId === 'Conversations_SendToConversation' });
  await expect(deliver(b, n, 'ticket.created')).rejects.toThrow(/429/);
  expect(await ticketRef(b, n)).toMatchObject({ posting: true, attempt: 1 });
  await deliver(b, n, 'ticket.created');
  await deliver(b, n, 'ticket.created');
  expect(cardPosts().filter((c) => c.status < 300).length - before).toBe(2);
  expect(await ticketRef(b, n)).toMatchObject({ activityId: expect.any(String), attempt: 2 });
});
