import { TEAMS_CHANNEL_ID, channelConversation, conversationUpdate } from './kit/activities.js';
import { contractTest, skipReason } from './kit/contracts.js';
import { startTeams, type TeamsHarness } from './kit/harness.js';

/**
 * Teams cards go to the channel routed by customer and ticket type (settings.extra.teamsChannelRoutes,
 * the same rule as Slack's: src/domain/channel-routing.ts), else the tickets channel. Before Teams
 * has any conversation, no delivery rows are recorded for it at all.
 */
let h: TeamsHarness;
type P = Awaited<ReturnType<TeamsHarness['person']>>;
let tom: P;
const itc = contractTest('teams routing');
const ACME = '19:acme-support@thread.tacv2';
const CHANGES = '19:change-board@thread.tacv2';
const teamsRows = () => h.t.app.ctx.service.models.Delivery.countDocuments({ channel: 'teams' });

beforeAll(async () => {
  h = await startTeams();
  tom = await h.person('Tom Tech', 'tom@it.example');
  await h.person('Jane Doe', 'jane@corp.example', ['contact']);
});
afterAll(async () => { await h?.close(); });

itc(`with no Teams conversation anywhere, ticket changes record no teams delivery rows${skipReason}`, async () => {
  await h.t.api('POST', '/tickets', { title: 'Before Teams', description: 'x', requester: { email: 'jane@corp.example' } });
  await h.t.api('PATCH', '/tickets/1', { priority: 'High' });
  await h.drain();
  expect(await teamsRows()).toBe(0);
  expect(h.connector.calls).toHaveLength(0);
});

itc(`once the app is in a channel, cards are routed by customer and type; the rest go to the tickets channel${skipReason}`, async () => {
  await h.installInChannel(tom);
  // The Change board channel has been seen by the bot (its own reference); Acme's has not (reached via the team's).
  const seen = conversationUpdate(h.connector.url, tom, 'channel');
  seen.conversation = { tenantId: 'tenant-0001', ...channelConversation(), id: CHANGES } as typeof seen.conversation;
  seen.membersAdded = [];
  await h.post(seen);
  const res = await h.t.api('PUT', '/settings', { extra: { teamsChannelRoutes: [{ customer: 'Acme', channel: ACME }, { type: 'Change', channel: CHANGES }, { channel: 'no customer or type: ignored' }] } });
  expect(res.status).toBe(200);
  h.connector.reset();
  const acme = await h.t.api('POST', '/tickets', { title: 'Acme printer', description: 'x', requester: { email: 'jane@corp.example' }, customer: 'Acme' });
  const change = await h.t.api('POST', '/tickets', { title: 'Upgrade switch', description: 'x', requester: { email: 'jane@corp.example' }, type: 'Change' });
  const plain = await h.t.api('POST', '/tickets', { title: 'Plain one', description: 'x', requester: { email: 'jane@corp.example' } });
  await h.drain();
  expect((await h.cardRef(acme.body.number)).conversationId).toBe(ACME);
  expect((await h.cardRef(change.body.number)).conversationId).toBe(CHANGES);
  expect((await h.cardRef(plain.body.number)).conversationId).toBe(TEAMS_CHANNEL_ID);
  const posts = h.connector.callsOf('Conversations_SendToConversation');
  expect(posts.map((c) => c.conversationId).sort()).toEqual([ACME, CHANGES, TEAMS_CHANNEL_ID].sort());
  // Updates and thread replies follow the card into its channel.
  await h.t.api('POST', `/tickets/${acme.body.number}/entries`, { kind: 'reply', text: 'On it', author: { email: 'tom@it.example' } });
  await h.drain();
  expect(h.connector.callsOf('Conversations_ReplyToActivity').map((c) => c.conversationId)).toEqual([ACME]);
  h.assertContract();
});
