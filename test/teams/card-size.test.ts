import { cardBytes } from '../../src/teams/cards.js';
import { cardAction, refresh } from './kit/activities.js';
import { expectValidCard } from './kit/card-validator.js';
import { contractTest, skipReason } from './kit/contracts.js';
import { startTeams, type TeamsHarness } from './kit/harness.js';

/** The card stays under Teams' ~28 KB limit even for a big helpdesk and a maximal ticket. */
let h: TeamsHarness;
const itc = contractTest('teams card size');
beforeAll(async () => { h = await startTeams(); });
afterAll(async () => { await h?.close(); });

itc(`a maximal ticket (500-char title, 120 technicians, 40 custom statuses, 7 working now) fits${skipReason}`, async () => {
  const techs = [];
  for (let i = 0; i < 120; i++) techs.push(await h.person(`Technician Number ${i} With A Rather Long Name`, `tech${i}@it.example`));
  await h.installInChannel(techs[0]!);
  await h.t.app.ctx.service.settings.update({
    customStatuses: Array.from({ length: 40 }, (_, i) => ({ name: `Waiting on vendor number ${i}`, category: 'Pending' as const })),
  });
  const res = await h.t.api('POST', '/tickets', {
    title: 'T'.repeat(500), description: 'D'.repeat(60_000), requester: { email: 'someone.with.a.long.address@corp.example', name: 'N'.repeat(100) },
    productFamily: 'P'.repeat(200),
  });
  const n = res.body.number;
  await h.t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'R'.repeat(60_000), author: { email: 'tech0@it.example' } });
  await h.drain();
  for (const t of techs.slice(1, 8)) await h.post(refresh(h.connector.url, t, n));
  const view = (await h.post(refresh(h.connector.url, techs[0]!, n))).body.value;
  expectValidCard(view);
  const posted = h.connector.callsOf('Conversations_UpdateActivity').at(-1)?.body ?? h.connector.callsOf('Conversations_SendToConversation')[0]!.body;
  expectValidCard(posted.attachments[0].content);
  console.log(`card sizes: user view ${cardBytes(view)} bytes, channel card ${cardBytes(posted.attachments[0].content)} bytes`);
  expect(cardBytes(view)).toBeLessThan(28 * 1024);
  const after = await h.post(cardAction(h.connector.url, techs[0]!, 'assign.me', { ticket: n }));
  expect(after.body.statusCode).toBe(200);
});
