import { personalConversation, personalMessage } from './kit/activities.js';
import { contractTest, skipReason } from './kit/contracts.js';
import { startTeams, type TeamsHarness } from './kit/harness.js';

/**
 * A technician chatting 1:1 with the bot in Teams (personal scope) gets technician commands
 * (src/domain/tech-commands.ts): "my tickets", "new …", a ticket number — not a chat ticket.
 */
let h: TeamsHarness;
type P = Awaited<ReturnType<TeamsHarness['person']>>;
let tom: P, jane: P;
const itc = contractTest('teams technician chat');
const sentToTom = () => h.connector.textSentTo(personalConversation(tom).id);

beforeAll(async () => {
  h = await startTeams();
  tom = await h.person('Tom Tech', 'tom@it.example');
  jane = await h.person('Jane Doe', 'jane@corp.example', ['contact']);
  await h.installInChannel(tom);
  await h.t.api('POST', '/tickets', { title: 'Mail bounces', description: 'x', requester: { email: jane.email }, assignee: { email: tom.email } });
  await h.t.api('POST', '/tickets', { title: 'Projector dead', description: 'x', requester: { email: jane.email } });
  await h.drain();
});
afterAll(async () => { await h?.close(); });

itc(`"my tickets", a number and "new …" are technician commands; no chat ticket is opened${skipReason}`, async () => {
  h.connector.reset();
  const count = (await h.t.api('GET', '/tickets')).body.items.length;
  await h.post(personalMessage(h.connector.url, tom, 'my tickets'));
  expect(sentToTom()).toContain('#1');
  expect(sentToTom()).toContain('Mail bounces');
  expect(sentToTom()).not.toContain('Projector');
  h.connector.reset();
  await h.post(personalMessage(h.connector.url, tom, '2'));
  expect(sentToTom()).toContain('application/vnd.microsoft.card.adaptive');
  expect(sentToTom()).toContain('Projector dead');
  await h.post(personalMessage(h.connector.url, tom, 'new VPN certificate expires Friday'));
  expect(sentToTom()).toMatch(/Opened ticket #3: VPN certificate expires Friday/);
  const t = await h.t.app.ctx.service.getTicket(3);
  expect(t.requester?.email).toBe('tom@it.example');
  expect(t.channelRefs.teamsChat).toBeUndefined();
  await h.post(personalMessage(h.connector.url, tom, 'how are you'));
  expect(sentToTom()).toContain('I understand');
  expect((await h.t.api('GET', '/tickets')).body.items.length).toBe(count + 1);
  h.assertContract();
});

itc(`an unknown number answers with the reason; an end user's message still opens a chat ticket${skipReason}`, async () => {
  h.connector.reset();
  await h.post(personalMessage(h.connector.url, tom, '#999'));
  expect(sentToTom()).toContain('NOT_FOUND');
  await h.post(personalMessage(h.connector.url, jane, 'my tickets'));
  expect(h.connector.textSentTo(personalConversation(jane).id)).toContain('I opened ticket');
});
