import { cardAction, messageAction, personalConversation, personalMessage } from './kit/activities.js';
import { contractTest, skipReason } from './kit/contracts.js';
import { startTeams, type TeamsHarness } from './kit/harness.js';

/**
 * End users in Teams: chat tickets in personal scope, relayed public replies, "Start chat",
 * "Create ticket from message". On every path an internal note must never reach the end user.
 */
let h: TeamsHarness;
type P = Awaited<ReturnType<TeamsHarness['person']>>;
let tom: P, jane: P, bob: P, eve: P;
const itc = contractTest('teams chat');
const NOTE = 'SECRET-NOTE: requester is on the watch list';

beforeAll(async () => {
  h = await startTeams();
  tom = await h.person('Tom Tech', 'tom@it.example');
  jane = await h.person('Jane Doe', 'jane@corp.example', ['contact']);
  bob = await h.person('Bob Nobody', 'bob@corp.example', ['contact']);
  eve = await h.person('Eve Writer', 'eve@corp.example', ['contact']);
  await h.installInChannel(tom);
});
afterAll(async () => { await h?.close(); });

const note = (n: number) => h.t.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: NOTE, author: { email: 'tom@it.example' } });
const reply = (n: number, text: string) => h.t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text, author: { email: 'tom@it.example' } });
const toUser = (u: P) => h.connector.textSentTo(personalConversation(u).id);

itc(`an end user's 1:1 message opens a chat ticket, later ones continue it; public replies are relayed, notes never${skipReason}`, async () => {
  const res = await h.post(personalMessage(h.connector.url, jane, 'My laptop will not boot'));
  expect(res.status).toBe(200);
  await h.drain();
  const list = await h.t.api('GET', '/tickets?requester=jane@corp.example');
  expect(list.body.items).toHaveLength(1);
  const n = list.body.items[0].number;
  expect(toUser(jane)).toContain(`opened ticket #${n}`);
  await h.post(personalMessage(h.connector.url, jane, 'It beeps three times'));
  const t = await h.t.app.ctx.service.getTicket(n);
  expect(t.source).toBe('teams');
  expect(t.entries.map((e) => e.text)).toEqual(['My laptop will not boot', 'It beeps three times']);
  expect(t.entries[1]!.kind).toBe('chat');
  expect(t.entries[1]!.author.kind).toBe('contact');

  await note(n);
  await reply(n, 'Hold the power button for 10 seconds');
  await h.drain();
  const sent = toUser(jane);
  expect(sent).toContain('Hold the power button for 10 seconds');
  expect(sent).not.toContain('SECRET-NOTE');
  // The user's own messages are not echoed back to them.
  expect(sent).not.toContain('It beeps three times');
  h.assertContract();
});

itc(`a resolved chat ticket is not reopened: the next message opens a new ticket${skipReason}`, async () => {
  const before = (await h.t.api('GET', '/tickets?requester=jane@corp.example')).body.items;
  await h.t.api('PATCH', `/tickets/${before[0].number}`, { status: 'Resolved' });
  await h.post(personalMessage(h.connector.url, jane, 'Now the printer'));
  const after = (await h.t.api('GET', '/tickets?requester=jane@corp.example')).body.items;
  expect(after).toHaveLength(before.length + 1);
  expect(after[0].title).toBe('Now the printer');
});

itc(`an unknown Teams user becomes a contact from the email Teams gives${skipReason}`, async () => {
  const stranger = { id: '29:user-new', name: 'New Person', aadObjectId: 'aad-new', email: 'new@corp.example' };
  h.connector.directory.push({ ...stranger, userPrincipalName: stranger.email });
  await h.post(personalMessage(h.connector.url, stranger, 'Hello?'));
  const person = await h.t.app.ctx.service.people.findByEmail('new@corp.example');
  expect(person?.roles).toEqual(['contact']);
  expect((person?.identities as any).teams.userId).toBe('29:user-new');
});

itc(`"Start chat" without the app installed says so on the card and offers email; nothing is logged${skipReason}`, async () => {
  const created = await h.t.api('POST', '/tickets', { title: 'Email only', description: 'x', requester: { email: 'bob@corp.example' } });
  const n = created.body.number;
  await h.drain();
  const res = await h.post(cardAction(h.connector.url, tom, 'chat.start', { ticket: n }));
  expect(res.body.statusCode).toBe(200);
  expect(JSON.stringify(res.body.value)).toContain("doesn't have the deskbridge app in Teams");
  expect(JSON.stringify(res.body.value)).toContain('bob@corp.example');
  expect((await h.t.app.ctx.service.getActivity(n)).map((a) => a.action)).not.toContain('chat_started');
});

itc(`"Start chat" with the app installed sends a proactive 1:1, logs "chat started", relays replies and never notes${skipReason}`, async () => {
  await h.installPersonal(bob);
  const created = await h.t.api('POST', '/tickets', { title: 'Monitor flickers', description: 'x', requester: { email: 'bob@corp.example' } });
  const n = created.body.number;
  await note(n);
  await h.drain();
  h.connector.reset();
  const res = await h.post(cardAction(h.connector.url, tom, 'chat.start', { ticket: n }));
  expect(JSON.stringify(res.body.value)).toContain('Chat started');
  await h.drain();
  expect((await h.t.app.ctx.service.getActivity(n)).map((a) => a.action)).toContain('chat_started');
  expect(toUser(bob)).toContain(`would like to chat about ticket #${n}`);
  await note(n);
  await reply(n, 'Which cable do you use?');
  await h.drain();
  expect(toUser(bob)).toContain('Which cable do you use?');
  expect(toUser(bob)).not.toContain('SECRET-NOTE');
  // Bob answers in the chat: it lands on the ticket as his chat message.
  await h.post(personalMessage(h.connector.url, bob, 'HDMI'));
  const t = await h.t.app.ctx.service.getTicket(n);
  expect(t.entries.at(-1)).toMatchObject({ kind: 'chat', text: 'HDMI' });
  h.assertContract();
});

itc(`"Create ticket from message" opens a ticket for the message's author; their Teams chat gets replies, never notes${skipReason}`, async () => {
  await h.installPersonal(eve);
  h.connector.reset();
  const res = await h.post(messageAction(h.connector.url, tom, eve, '<p>The <b>shared drive</b> is gone</p>'));
  expect(res.body.task.value).toMatch(/^Created ticket #\d+: The shared drive is gone$/);
  const n = Number(/#(\d+)/.exec(res.body.task.value)![1]);
  const t = await h.t.app.ctx.service.getTicket(n);
  expect(t.requester?.email).toBe('eve@corp.example');
  expect(t.entries[0]).toMatchObject({ text: 'The shared drive is gone', author: { kind: 'technician' } });
  await note(n);
  await reply(n, 'Restored from backup');
  await h.drain();
  expect(toUser(eve)).toContain('Restored from backup');
  expect(toUser(eve)).not.toContain('SECRET-NOTE');
  h.assertContract();
});

itc(`"Create ticket from message" is for technicians only${skipReason}`, async () => {
  const res = await h.post(messageAction(h.connector.url, eve, jane, '<p>please</p>'));
  expect(res.body.task.value).toMatch(/^FORBIDDEN: /);
});
