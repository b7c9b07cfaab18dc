import { buildManifest } from '../../scripts/teams-package.js';
import { BOT, channelConversation, threadMessage } from './kit/activities.js';
import { contractTest, skipReason } from './kit/contracts.js';
import { startTeams, type TeamsHarness } from './kit/harness.js';
import { manifestProblems } from './kit/manifest.js';

/**
 * Plain replies in a card's thread. Teams delivers channel messages that do not @mention the bot
 * only with the resource-specific consent permission ChannelMessage.Read.Group in the manifest
 * (learn.microsoft.com "Receive all conversation messages with RSC"); tenants that refuse RSC still
 * deliver @mentions, which must keep working.
 */
let h: TeamsHarness;
type P = Awaited<ReturnType<TeamsHarness['person']>>;
let tom: P;
const itc = contractTest('teams thread replies');

beforeAll(async () => {
  h = await startTeams();
  tom = await h.person('Tom Tech', 'tom@it.example');
  await h.person('Jane Doe', 'jane@corp.example', ['contact']);
  await h.installInChannel(tom);
});
afterAll(async () => { await h?.close(); });

itc(`the manifest asks for RSC ChannelMessage.Read.Group (v1.29 authorization.permissions.resourceSpecific) for the bot's app${skipReason}`, () => {
  const built = buildManifest({ botId: '11111111-2222-3333-4444-555555555555' });
  expect(manifestProblems(built)).toEqual([]);
  expect(built.manifestVersion).toBe('1.29');
  expect(built.authorization.permissions.resourceSpecific).toContainEqual({ name: 'ChannelMessage.Read.Group', type: 'Application' });
  expect(built.webApplicationInfo.id).toBe('11111111-2222-3333-4444-555555555555');
});

async function ticketWithCard(title: string) {
  const created = await h.t.api('POST', '/tickets', { title, description: 'x', requester: { email: 'jane@corp.example' } });
  await h.drain();
  return { n: created.body.number as number, card: await h.cardRef(created.body.number) };
}

itc(`a thread reply without any @mention (delivered thanks to RSC) becomes an internal note${skipReason}`, async () => {
  const { n, card } = await ticketWithCard('Printer offline');
  // Shaped like the channel reply Teams delivers with RSC: no mention entities, HTML text.
  const res = await h.post(threadMessage(h.connector.url, tom, card.activityId, '<p>Rebooted the print server</p>'));
  expect(res.status).toBe(200);
  const t = await h.t.app.ctx.service.getTicket(n);
  expect(t.entries.at(-1)).toMatchObject({ kind: 'note', text: 'Rebooted the print server', source: 'teams' });
  await h.drain();
  expect(JSON.stringify((await h.t.api('GET', `/tickets/${n}?view=contact`)).body.entries)).not.toContain('Rebooted the print server');
});

itc(`a thread reply that @mentions the bot (tenants without RSC) still becomes a note, without the mention${skipReason}`, async () => {
  const { n, card } = await ticketWithCard('Scanner jams');
  const activity = threadMessage(h.connector.url, tom, card.activityId, `<p><at>${BOT.name}</at> cleaned the rollers</p>`);
  activity.entities = [{ type: 'mention', text: `<at>${BOT.name}</at>`, mentioned: { id: BOT.id, name: BOT.name } }];
  await h.post(activity);
  const t = await h.t.app.ctx.service.getTicket(n);
  expect(t.entries.at(-1)).toMatchObject({ kind: 'note', text: 'cleaned the rollers' });
});

itc(`with RSC every channel message arrives: one outside a ticket thread creates nothing and costs no lookup${skipReason}`, async () => {
  const before = (await h.t.api('GET', '/tickets')).body.items.length;
  await h.drain(); // the earlier tests' card updates are done before we count calls
  h.connector.reset();
  const chatter = { ...threadMessage(h.connector.url, tom, '1799999999999', '<p>lunch?</p>'), conversation: { tenantId: 'tenant-0001', ...channelConversation('1799999999999') } };
  const res = await h.post(chatter);
  expect(res.status).toBe(200);
  expect((await h.t.api('GET', '/tickets')).body.items.length).toBe(before);
  expect(h.connector.calls).toHaveLength(0);
});
