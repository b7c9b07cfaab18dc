import { randomUUID } from 'node:crypto';
import { BOT, TENANT, type TeamsUserFixture } from './kit/activities.js';
import { contractTest, skipReason } from './kit/contracts.js';
import { startTeams, type TeamsHarness } from './kit/harness.js';

/**
 * The "Search tickets" message extension (composeExtension/query, shaped like the query invoke in
 * Microsoft's "Respond to search command" docs: value.commandId, parameters[{name, value}],
 * queryOptions{skip, count}). Technicians search title and conversation of all tickets; anyone
 * else only their own, matched on public entries, and no result ever shows a note's words.
 */
let h: TeamsHarness;
type P = Awaited<ReturnType<TeamsHarness['person']>>;
let tom: P, jane: P;
const itc = contractTest('teams search');
const NOTE = 'zebra firmware secret';

const query = (serviceUrl: string, from: TeamsUserFixture, q: string) => ({
  id: `f:${randomUUID()}`, channelId: 'msteams', serviceUrl, timestamp: new Date().toISOString(),
  from: { id: from.id, name: from.name, aadObjectId: from.aadObjectId }, recipient: { ...BOT },
  conversation: { id: `a:1-${from.id.slice(3)}`, conversationType: 'personal', tenantId: TENANT.id }, channelData: { tenant: TENANT, source: { name: 'compose' } },
  type: 'invoke', name: 'composeExtension/query',
  value: { commandId: 'searchTickets', parameters: [{ name: 'q', value: q }], queryOptions: { skip: 0, count: 25 } },
});
const results = async (from: TeamsUserFixture, q: string) => {
  const res = await h.post(query(h.connector.url, from, q));
  expect(res.status).toBe(200);
  expect(res.body.composeExtension).toMatchObject({ type: 'result', attachmentLayout: 'list' });
  return res.body.composeExtension.attachments as { content: { title: string; text?: string } }[];
};

beforeAll(async () => {
  h = await startTeams();
  tom = await h.person('Tom Tech', 'tom@it.example');
  jane = await h.person('Jane Doe', 'jane@corp.example', ['contact']);
  await h.person('Bob Other', 'bob@corp.example', ['contact']);
  await h.t.api('POST', '/tickets', { title: 'Printer jams', description: 'tray two', requester: { email: jane.email } });
  await h.t.api('POST', '/tickets/1/entries', { kind: 'note', text: NOTE, author: { email: tom.email } });
  await h.t.api('POST', '/tickets', { title: 'Bob printer', description: 'his own', requester: { email: 'bob@corp.example' } });
});
afterAll(async () => { await h?.close(); });

itc(`a technician finds tickets by title and by conversation (notes included)${skipReason}`, async () => {
  expect((await results(tom, 'printer')).map((a) => a.content.title).sort()).toEqual(['#1 Printer jams', '#2 Bob printer']);
  expect((await results(tom, 'zebra')).map((a) => a.content.title)).toEqual(['#1 Printer jams']);
});

itc(`an end user finds only their own tickets, never by a note's words, and no snippet shows a note${skipReason}`, async () => {
  expect(await results(jane, 'zebra firmware')).toEqual([]);
  const mine = await results(jane, 'printer');
  expect(mine.map((a) => a.content.title)).toEqual(['#1 Printer jams']);
  expect(JSON.stringify(mine)).not.toContain('zebra');
  expect(JSON.stringify(mine)).toContain('tray two');
});
