import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { jest } from '@jest/globals';
import { buildManifest } from '../../scripts/teams-package.js';
import { POST_LEASE_MS } from '../../src/notify/post-intent.js';
import { entryCard } from '../../src/teams/cards.js';
import { carriesMarker, LOOKUP_BUDGET_MS, postMarker, sameText } from '../../src/teams/graph.js';
import { teamsModule } from '../../src/teams/index.js';
import { eventFromDoc } from '../../src/tickets/mappers.js';
import type { EventDoc } from '../../src/store/models.js';
import { TicketCards } from '../../src/teams/render.js';
import { startTestApp, type TestApp } from '../support/db.js';
import { conversationUpdate, memberOf, personalConversation, personalMessage, postActivity, teamsUser, TEAM_AAD_GROUP_ID, TEAMS_CHANNEL_ID, TENANT } from './kit/activities.js';
import { cardsIn, expectValidCard } from './kit/card-validator.js';
import { ConnectorStandIn } from './kit/connector.js';
import { chatTicket, deliverStored, dieDuringPost } from './kit/crash.js';
import { contractTest, skipReason } from './kit/contracts.js';
import { GraphStandIn } from './kit/graph.js';
import { manifestProblems } from './kit/manifest.js';

/*
 * The crashes of post-once.test.ts (the process dies after Teams took a post and before its
 * activity id was stored), now with TEAMS_GRAPH_LOOKUP on: the retry lists the conversation's
 * messages with Microsoft Graph (a local stand-in that lists exactly what the Bot Connector
 * stand-in accepted, see kit/graph.ts), finds the post by its marker, stores its id and posts
 * nothing. When Graph cannot be asked (403: the RSC permission was not granted) the retry posts
 * once more, as without Graph, and says why in the log. Without the setting nothing changes.
 */
const itc = contractTest('teams posts across a crash, looked up with Graph');
jest.setTimeout(120_000);

const CLIENT_ID = '3f2504e0-4f89-11d3-9a0c-0305e82c3301';
const CLIENT_SECRET = 'graph-test-secret';
/** The app package's id: the service finds 1:1 chats by it when TEAMS_APP_MANIFEST_ID is not set. */
const MANIFEST_ID = (JSON.parse(readFileSync(new URL('../../manifests/teams/manifest.json', import.meta.url), 'utf8')) as { id: string }).id;
let janeChat = '';
let connector: ConnectorStandIn;
let graph: GraphStandIn;
let dbName: string;
const apps: TestApp[] = [];
const tom = teamsUser('Tom Tech', 'tom@it.example');
const jane = teamsUser('Jane Doe', 'jane@corp.example');
const NOTE = 'SECRET-NOTE: the audit finds her laptop first';

async function start(opts: { graph: boolean; graphUrl?: string } = { graph: true }): Promise<TestApp> {
  const env: Record<string, string> = { TEAMS_CARD_COMMENT_CHARS: '1000' };
  if (opts.graph) {
    // MicrosoftAppId stays unset (the stand-ins speak unauthenticated Bot Framework); Graph gets its own app.
    Object.assign(env, {
      TEAMS_GRAPH_LOOKUP: 'true', TEAMS_GRAPH_CLIENT_ID: CLIENT_ID, TEAMS_GRAPH_CLIENT_SECRET: CLIENT_SECRET,
      TEAMS_GRAPH_URL: opts.graphUrl ?? graph.url, TEAMS_LOGIN_URL: opts.graphUrl ?? graph.url,
    });
  }
  const t = await startTestApp({ modules: [teamsModule], dbName, env });
  // Deliveries are driven by hand here: the in-process worker (woken by every write) stays out.
  await t.app.ctx.deliveries.stop();
  apps.push(t);
  return t;
}
const current = () => apps.at(-1)!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dieDuring = async (t: TestApp, operationId: string, work: () => Promise<unknown>): Promise<string> => (await dieDuringPost(connector, t, operationId, work))!;
const deliver = (t: TestApp, n: number, type: string, match?: (d: Record<string, unknown>) => boolean) => deliverStored(t, n, type, match);


const ticketRef = async (t: TestApp, n: number) => (await t.app.ctx.service.getTicket(n)).channelRefs.teams as Record<string, any>;
const cardPosts = () => connector.callsOf('Conversations_SendToConversation', TEAMS_CHANNEL_ID);
const expireLease = (t: TestApp, n: number, at: number) =>
  t.app.ctx.db.connection.collection('tickets').updateOne({ number: n }, { $set: { 'channelRefs.teams.at': at - POST_LEASE_MS } });

beforeAll(async () => {
  connector = await new ConnectorStandIn().start();
  graph = await new GraphStandIn(connector, { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, tenantId: TENANT.id, teamId: TEAM_AAD_GROUP_ID, channelIds: [TEAMS_CHANNEL_ID], manifestId: MANIFEST_ID }).start();
  janeChat = graph.installForUser(jane.aadObjectId, personalConversation(jane).id);
  graph.installForUser(tom.aadObjectId, personalConversation(tom).id);
  connector.directory.push(memberOf(tom), memberOf(jane));
  dbName = `deskbridge_teamsgraph_${Date.now().toString(36)}`;
  const t = await start();
  await t.api('POST', '/people', { email: tom.email, name: tom.name, roles: ['technician'] });
  await t.api('POST', '/people', { email: jane.email, name: jane.name, roles: ['contact'] });
  // The team's install event carries channelData.team.aadGroupId (Graph's team id).
  expect((await postActivity(t.url, conversationUpdate(connector.url, tom, 'channel'))).status).toBeLessThan(300);
  expect((await postActivity(t.url, conversationUpdate(connector.url, jane, 'personal'))).status).toBeLessThan(300);
  expect((await postActivity(t.url, conversationUpdate(connector.url, tom, 'personal'))).status).toBeLessThan(300);
});
afterAll(async () => {
  for (const a of apps) await a.close().catch(() => undefined);
  await connector?.stop();
  await graph?.stop();
});
afterEach(() => {
  expect(connector.problems()).toEqual([]);
  expect(graph.problems()).toEqual([]);
  for (const call of connector.calls) for (const card of cardsIn(call.body)) expectValidCard(card);
  // Whatever a look-up decided, the end user's chat never shows an internal note.
  expect(connector.textSentTo(personalConversation(jane).id)).not.toContain('SECRET-NOTE');
  graph.failWith(null);
});

itc(`the app package asks for the RSC permissions the look-ups need: ChannelMessage.Read.Group and ChatMessage.Read.Chat (manifest v1.29)${skipReason}`, () => {
  const built = buildManifest({ botId: CLIENT_ID });
  expect(manifestProblems(built)).toEqual([]);
  expect(built.authorization.permissions.resourceSpecific).toEqual(expect.arrayContaining([
    { name: 'ChannelMessage.Read.Group', type: 'Application' },
    { name: 'ChatMessage.Read.Chat', type: 'Application' },
  ]));
  expect(built.webApplicationInfo.id).toBe(CLIENT_ID);
});

itc(`the marker of a post survives the Adaptive Card 1.5 schema and the adaptivecards parser, on the ticket card and on entry cards${skipReason}`, async () => {
  const t = current();
  const n = (await t.api('POST', '/tickets', { title: 'Marked', description: 'x', requester: { email: jane.email } })).body.number as number;
  const ticketCard = await new TicketCards(t.app.ctx).render(n);
  const entry = (await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Marked reply', author: { email: tom.email } })).body.entry;
  const card = entryCard({ entry: (await t.app.ctx.service.getEntry(entry.id))!, ticketNumber: n, maxChars: 1000 });
  for (const [c, marker] of [[ticketCard, postMarker(`ticket:${n}`)], [card, postMarker(`entry:${entry.id}`)]] as const) {
    expectValidCard(c);
    expect(JSON.stringify(c)).toContain(JSON.stringify(marker));
    // Graph hands the card back as a JSON string in attachments[].content.
    expect(carriesMarker({ attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: JSON.stringify(c) }] }, marker.slice('deskbridge-post:'.length))).toBe(true);
  }
  expect(carriesMarker({ attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: JSON.stringify(ticketCard) }] }, `ticket:${n + 1}`)).toBe(false);
  // A plain text relay is recognised by its words in the html Teams made of the markdown.
  expect(sameText({ body: { contentType: 'html', content: '<p><strong>Tom Tech</strong> (ticket #7):</p>\n<p>Try &quot;another&quot; cable</p>' } }, '**Tom Tech** (ticket #7):\n\nTry "another" cable')).toBe(true);
  expect(sameText({ body: { contentType: 'html', content: '<p><strong>Tom Tech</strong> (ticket #7):</p>\n<p>Try another cable</p>' } }, '**Tom Tech** (ticket #7):\n\nTry a new cable')).toBe(false);
});

itc(`the card: killed during its post, the retry finds it with Graph and posts nothing; later updates and replies go to it${skipReason}`, async () => {
  const a = current();
  const n = (await a.api('POST', '/tickets', { title: 'Printer on fire', description: 'smoke', requester: { email: jane.email } })).body.number as number;
  const before = cardPosts().length;
  const postedId = await dieDuring(a, 'Conversations_SendToConversation', () => deliver(a, n, 'ticket.created'));
  expect(cardPosts().length - before).toBe(1);

  const b = await start();
  const intent = await ticketRef(b, n);
  expect(intent).toMatchObject({ posting: true, attempt: 1 });
  await expireLease(b, n, intent.at);
  const graphCalls = graph.requests.length;
  await deliver(b, n, 'ticket.created');
  await deliver(b, n, 'ticket.created');
  expect(cardPosts().length - before).toBe(1);
  expect(await ticketRef(b, n)).toMatchObject({ activityId: postedId, attempt: 2, foundWithGraph: true, conversationId: TEAMS_CHANNEL_ID });
  // App-only token for the conversation's tenant, then the channel's root messages, by Graph's team id.
  expect(graph.tokenRequests.at(-1)).toMatchObject({ tenant: TENANT.id, status: 200, form: { grant_type: 'client_credentials', client_id: CLIENT_ID, scope: 'https://graph.microsoft.com/.default' } });
  expect(graph.requests.slice(graphCalls).map((r) => r.path)).toEqual([`/v1.0/teams/${TEAM_AAD_GROUP_ID}/channels/${TEAMS_CHANNEL_ID}/messages`]);
  // The card found is brought up to date in place.
  expect(connector.callsOf('Conversations_UpdateActivity').at(-1)!.activityId).toBe(postedId);

  const reply = await b.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'On my way', author: { email: tom.email } });
  await deliver(b, n, 'entry.added', (d) => d.entryId === reply.body.entry.id);
  expect(connector.callsOf('Conversations_ReplyToActivity').at(-1)!.activityId).toBe(postedId);
  expect(cardPosts().length - before).toBe(1);
});

itc(`the card: an intent whose post never reached Teams: Graph finds nothing (across pages), exactly one card is posted${skipReason}`, async () => {
  const b = current();
  // Other tickets' cards in the channel, posted since: the search pages through them.
  for (const title of ['Other card 1', 'Other card 2']) {
    const other = (await b.api('POST', '/tickets', { title, description: 'x', requester: { email: jane.email } })).body.number as number;
    await deliver(b, other, 'ticket.created');
  }
  const n = (await b.api('POST', '/tickets', { title: 'No card yet', description: 'x', requester: { email: jane.email } })).body.number as number;
  await b.app.ctx.service.setChannelRef(n, 'teams', { posting: true, at: Date.now() - POST_LEASE_MS, attempt: 1, conversationId: TEAMS_CHANNEL_ID });
  // Small pages: the search follows @odata.nextLink through the other cards.
  graph.pageSize = 1;
  const before = cardPosts().length;
  const graphCalls = graph.requests.length;
  await deliver(b, n, 'ticket.created');
  await deliver(b, n, 'ticket.created');
  graph.pageSize = 50;
  expect(cardPosts().length - before).toBe(1);
  expect(graph.requests.length - graphCalls).toBeGreaterThan(1);
  expect(graph.requests.slice(graphCalls).some((r) => r.query.$skiptoken)).toBe(true);
  expect(await ticketRef(b, n)).toMatchObject({ activityId: cardPosts().at(-1)!.resultId, attempt: 2 });
  expect((await ticketRef(b, n)).foundWithGraph).toBeUndefined();
});

itc(`the token is asked for once and reused, and is never sent where an @odata.nextLink points outside Graph${skipReason}`, async () => {
  const b = current();
  // Somewhere else, counting what reaches it.
  const elsewhere: string[] = [];
  const other = createServer((req, res) => { elsewhere.push(String(req.headers.authorization)); res.writeHead(404).end(); });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  try {
    for (const title of ['Foreign link 1', 'Foreign link 2']) {
      const other = (await b.api('POST', '/tickets', { title, description: 'x', requester: { email: jane.email } })).body.number as number;
      await deliver(b, other, 'ticket.created');
    }
    const n = (await b.api('POST', '/tickets', { title: 'Foreign link', description: 'x', requester: { email: jane.email } })).body.number as number;
    await b.app.ctx.service.setChannelRef(n, 'teams', { posting: true, at: Date.now() - POST_LEASE_MS, attempt: 1, conversationId: TEAMS_CHANNEL_ID });
    graph.pageSize = 1;
    graph.nextLinkBase = `http://127.0.0.1:${(other.address() as { port: number }).port}`;
    const before = cardPosts().length;
    await deliver(b, n, 'ticket.created');
    expect(elsewhere).toEqual([]);
    expect(cardPosts().length - before).toBe(1);
    // A second look-up by the same instance reuses the token.
    const tokens = graph.tokenRequests.length;
    const m = (await b.api('POST', '/tickets', { title: 'Second look-up', description: 'x', requester: { email: jane.email } })).body.number as number;
    await b.app.ctx.service.setChannelRef(m, 'teams', { posting: true, at: Date.now() - POST_LEASE_MS, attempt: 1, conversationId: TEAMS_CHANNEL_ID });
    const graphCalls = graph.requests.length;
    await deliver(b, m, 'ticket.created');
    expect(graph.requests.length - graphCalls).toBeGreaterThan(0);
    expect(graph.tokenRequests.length - tokens).toBe(0);
    expect(elsewhere).toEqual([]);
  } finally {
    graph.pageSize = 50;
    graph.nextLinkBase = null;
    await new Promise<void>((r) => other.close(() => r()));
  }
});

itc(`a thread reply: killed during its post, the retry finds it among the card's replies and posts nothing${skipReason}`, async () => {
  const a = current();
  const n = (await a.api('POST', '/tickets', { title: 'Thread', description: 'x', requester: { email: jane.email } })).body.number as number;
  await deliver(a, n, 'ticket.created');
  const card = await ticketRef(a, n);
  const reply = await a.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Mirrored reply', author: { email: tom.email } });
  const entryId = reply.body.entry.id as string;
  const mirrors = () => connector.callsOf('Conversations_ReplyToActivity').filter((c) => c.activityId === card.activityId && JSON.stringify(c.body).includes('Mirrored reply'));
  const postedId = await dieDuring(a, 'Conversations_ReplyToActivity', () => deliver(a, n, 'entry.added', (d) => d.entryId === entryId));
  expect(mirrors()).toHaveLength(1);

  const b = await start();
  const graphCalls = graph.requests.length;
  await deliver(b, n, 'entry.added', (d) => d.entryId === entryId);
  await deliver(b, n, 'entry.added', (d) => d.entryId === entryId);
  expect(mirrors()).toHaveLength(1);
  expect(graph.requests.slice(graphCalls).map((r) => r.path)).toEqual([`/v1.0/teams/${TEAM_AAD_GROUP_ID}/channels/${TEAMS_CHANNEL_ID}/messages/${card.activityId}/replies`]);
  const entry = await b.app.ctx.service.getEntry(entryId);
  expect(entry!.external).toMatchObject({ teamsMirror: { attempt: 2 }, teamsActivityId: postedId });
});

itc(`a reply relayed to the end user's 1:1 chat: killed during its post, found in the chat with Graph, not relayed again; never a note${skipReason}`, async () => {
  const a = current();
  const { n, chat, relays } = await chatTicket(a, connector, jane, 'My screen is black', 'Try another cable');
  await a.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: NOTE, author: { email: tom.email } });
  // An earlier relay with the same words, already recorded for its own entry: not the one to find.
  const first = await a.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Try another cable', author: { email: tom.email } });
  await deliver(a, n, 'ticket.created');
  await deliver(a, n, 'entry.added', (d) => d.entryId === first.body.entry.id);
  expect(relays()).toHaveLength(1);
  const reply = await a.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Try another cable', author: { email: tom.email } });
  const entryId = reply.body.entry.id as string;
  const postedId = await dieDuring(a, 'Conversations_SendToConversation', () => deliver(a, n, 'entry.added', (d) => d.entryId === entryId));
  expect(relays()).toHaveLength(2);

  const b = await start();
  const graphCalls = graph.requests.length;
  for (const e of await b.app.ctx.db.connection.collection('events').find({ ticketNumber: n, type: 'entry.added' }).toArray()) {
    await b.app.ctx.notifiers.get('teams')!.deliver(eventFromDoc(e as unknown as EventDoc));
    await b.app.ctx.notifiers.get('teams')!.deliver(eventFromDoc(e as unknown as EventDoc));
  }
  expect(relays()).toHaveLength(2);
  // The chat's Graph id is asked from Graph (the app's installation for Jane, then its chat), not built by hand.
  const asked = graph.requests.slice(graphCalls);
  expect(asked.map((r) => r.path.replace(/installedApps\/[^/]+\/chat$/, 'installedApps/{installation}/chat'))).toEqual([
    `/v1.0/users/${jane.aadObjectId}/teamwork/installedApps`,
    `/v1.0/users/${jane.aadObjectId}/teamwork/installedApps/{installation}/chat`,
    `/v1.0/chats/${janeChat}/messages`,
  ]);
  expect(asked[0]!.query).toMatchObject({ $expand: 'teamsApp', $filter: `teamsApp/externalId eq '${MANIFEST_ID}'` });
  expect(asked.every((r) => r.status === 200)).toBe(true);
  expect(await b.app.ctx.db.connection.collection('teams_sent').findOne({ _id: `relay:${entryId}` as never })).toMatchObject({ attempt: 2, activityId: postedId, foundWithGraph: true });
  expect(connector.textSentTo(chat)).not.toContain('SECRET-NOTE');
});

itc(`a relay whose post never reached Teams is posted, even when an earlier relay with the same words is in the chat (that one is recorded for its own entry)${skipReason}`, async () => {
  const b = current();
  const chat = personalConversation(jane).id;
  expect((await postActivity(b.url, personalMessage(connector.url, jane, 'My mouse is dead'))).status).toBe(200);
  // Her open chat ticket (a new one, or the one an earlier test opened): replies to it are relayed to her chat.
  const n = (await b.app.ctx.db.connection.collection('teams_conversations').findOne({ _id: chat as never }))!.chatTicket as number;
  expect(n).toEqual(expect.any(Number));
  const relays = () => connector.callsOf('Conversations_SendToConversation', chat).filter((c) => JSON.stringify(c.body).includes('Plug it in again'));
  const first = await b.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Plug it in again', author: { email: tom.email } });
  await deliver(b, n, 'ticket.created');
  await deliver(b, n, 'entry.added', (d) => d.entryId === first.body.entry.id);
  const before = relays().length;
  expect(before).toBe(1);
  const reply = await b.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Plug it in again', author: { email: tom.email } });
  const entryId = reply.body.entry.id as string;
  // An attempt that died before its call: the intent is there, the message is not.
  await b.app.ctx.db.connection.collection('teams_sent').insertOne({ _id: `relay:${entryId}` as never, posting: true, at: new Date(Date.now() - 60_000), attempt: 1 });
  await deliver(b, n, 'entry.added', (d) => d.entryId === entryId);
  await deliver(b, n, 'entry.added', (d) => d.entryId === entryId);
  expect(relays().length - before).toBe(1);
  expect(await b.app.ctx.db.connection.collection('teams_sent').findOne({ _id: `relay:${entryId}` as never })).toMatchObject({ attempt: 2, activityId: relays().at(-1)!.resultId });
});

itc(`a mention message (a card in the technician's 1:1 chat): killed during its post, found by its marker, not sent again${skipReason}`, async () => {
  const a = current();
  const n = (await a.api('POST', '/tickets', { title: 'Mention', description: 'x', requester: { email: jane.email } })).body.number as number;
  await deliver(a, n, 'ticket.created');
  const note = await a.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: 'Please look at the VPN box', author: { email: tom.email }, mentions: [{ email: tom.email }] });
  const entryId = note.body.entry.id as string;
  const entry = await a.app.ctx.service.getEntry(entryId);
  if (!entry || entry.mentions.length === 0) throw new Error('the note mentions nobody: the test cannot check mention messages');
  const tomChat = personalConversation(tom).id;
  const mentionPosts = () => connector.callsOf('Conversations_SendToConversation', tomChat).filter((c) => JSON.stringify(c.body).includes(postMarker(`entry:${entryId}`)));
  // Thread reply first, then the mention message: the crash hits the mention message.
  const answer = connector.holdNextAnswer('Conversations_SendToConversation');
  const dying = deliver(a, n, 'entry.added', (d) => d.entryId === entryId).then(() => 'stored', (err: Error) => `failed: ${err.message}`);
  while (mentionPosts().length === 0) await sleep(10);
  await a.app.ctx.db.connection.close(true);
  answer();
  expect(await dying).toMatch(/^failed/);
  await a.app.stop().catch(() => undefined);
  const postedId = mentionPosts()[0]!.resultId;

  const b = await start();
  await deliver(b, n, 'entry.added', (d) => d.entryId === entryId);
  await deliver(b, n, 'entry.added', (d) => d.entryId === entryId);
  expect(mentionPosts()).toHaveLength(1);
  const key = `mention:${entryId}:${entry.mentions[0]}`;
  expect(await b.app.ctx.db.connection.collection('teams_sent').findOne({ _id: key as never })).toMatchObject({ attempt: 2, activityId: postedId, foundWithGraph: true });
});

itc(`Graph forbidden (403, the RSC permission not granted): the card is posted once more and the log says why${skipReason}`, async () => {
  const a = current();
  const n = (await a.api('POST', '/tickets', { title: 'Forbidden lookup', description: 'x', requester: { email: jane.email } })).body.number as number;
  const before = cardPosts().length;
  await dieDuring(a, 'Conversations_SendToConversation', () => deliver(a, n, 'ticket.created'));
  const b = await start();
  await expireLease(b, n, (await ticketRef(b, n)).at);
  graph.failWith(403);
  const warn = jest.spyOn(b.app.ctx.logger, 'warn');
  const graphCalls = graph.requests.length;
  await deliver(b, n, 'ticket.created');
  await deliver(b, n, 'ticket.created');
  expect(graph.requests.slice(graphCalls).map((r) => r.status)).toEqual([403]);
  expect(cardPosts().length - before).toBe(2);
  expect(await ticketRef(b, n)).toMatchObject({ attempt: 2, activityId: cardPosts().at(-1)!.resultId });
  const logged = warn.mock.calls.find((c) => String(c[1]).includes('Graph could not tell'));
  expect(logged?.[0]).toMatchObject({ what: `card of #${n}`, attempt: 2, why: expect.stringContaining('403 Forbidden') });
  warn.mockRestore();
});

itc(`Graph unreachable (nothing listens): the card is posted once more and the log says why; the look-up ends within the posting lease${skipReason}`, async () => {
  expect(LOOKUP_BUDGET_MS).toBeLessThan(POST_LEASE_MS);
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const deadUrl = `http://127.0.0.1:${(closed.address() as { port: number }).port}`;
  await new Promise<void>((r) => closed.close(() => r()));
  const a = current();
  const n = (await a.api('POST', '/tickets', { title: 'Unreachable lookup', description: 'x', requester: { email: jane.email } })).body.number as number;
  const before = cardPosts().length;
  await dieDuring(a, 'Conversations_SendToConversation', () => deliver(a, n, 'ticket.created'));
  const b = await start({ graph: true, graphUrl: deadUrl });
  await expireLease(b, n, (await ticketRef(b, n)).at);
  const warn = jest.spyOn(b.app.ctx.logger, 'warn');
  await deliver(b, n, 'ticket.created');
  await deliver(b, n, 'ticket.created');
  expect(cardPosts().length - before).toBe(2);
  expect(await ticketRef(b, n)).toMatchObject({ attempt: 2, activityId: cardPosts().at(-1)!.resultId });
  const logged = warn.mock.calls.find((c) => String(c[1]).includes('Graph could not tell'));
  expect(logged?.[0]).toMatchObject({ what: `card of #${n}`, why: expect.stringContaining('unreachable') });
  warn.mockRestore();
});

itc(`Graph not configured: as before, the retry posts once more (attempt 2) and Graph is never called${skipReason}`, async () => {
  const a = current();
  const n = (await a.api('POST', '/tickets', { title: 'No Graph', description: 'x', requester: { email: jane.email } })).body.number as number;
  const before = cardPosts().length;
  await dieDuring(a, 'Conversations_SendToConversation', () => deliver(a, n, 'ticket.created'));
  const b = await start({ graph: false });
  await expireLease(b, n, (await ticketRef(b, n)).at);
  const graphCalls = graph.requests.length;
  const tokens = graph.tokenRequests.length;
  await deliver(b, n, 'ticket.created');
  await deliver(b, n, 'ticket.created');
  expect(cardPosts().length - before).toBe(2);
  expect(await ticketRef(b, n)).toMatchObject({ attempt: 2 });
  expect(graph.requests.length - graphCalls).toBe(0);
  expect(graph.tokenRequests.length - tokens).toBe(0);
});
