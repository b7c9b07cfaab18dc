import { memberOf, personalConversation, personalMessage, teamsUser, threadMessage } from './kit/activities.js';
import { contractTest, skipReason } from './kit/contracts.js';
import { startTeams, type TeamsHarness } from './kit/harness.js';

/**
 * Who a Teams user is: looked up one member at a time (GET /v3/conversations/{id}/members/{userId},
 * TeamsInfo.getMember) with a cache, never with the deprecated non-paged member list, which the
 * stand-in throttles like Teams. A member without an email address is linked by an admin.
 */
let h: TeamsHarness;
type P = Awaited<ReturnType<TeamsHarness['person']>>;
let tom: P;
const itc = contractTest('teams identity');
const ops = () => h.connector.calls.map((c) => c.operationId);

beforeAll(async () => {
  h = await startTeams();
  tom = await h.person('Tom Tech', 'tom@it.example');
  await h.installInChannel(tom);
});
afterAll(async () => { await h?.close(); });

itc(`new users in a large team are each looked up with GET members/{userId}, never the throttled member list${skipReason}`, async () => {
  h.connector.reset();
  const users = Array.from({ length: 6 }, (_, i) => teamsUser(`User ${i}`, `user${i}@corp.example`));
  for (const u of users) h.connector.directory.push(memberOf(u));
  for (const u of users) await h.post(personalMessage(h.connector.url, u, `My problem number ${u.name}`));
  for (const u of users) expect((await h.t.app.ctx.service.people.findByEmail(u.email))?.roles).toEqual(['contact']);
  expect(ops()).not.toContain('Conversations_GetConversationMembers');
  const lookups = h.connector.callsOf('Conversations_GetConversationMember');
  expect(lookups.map((c) => c.path)).toEqual(users.map((u) => `/v3/conversations/${encodeURIComponent(personalConversation(u).id)}/members/${encodeURIComponent(u.id)}`));
  expect(lookups.every((c) => c.status === 200)).toBe(true);
  h.assertContract();
});

itc(`in a channel the member is looked up in the team (channelData.team), and the answer is cached${skipReason}`, async () => {
  const created = await h.t.api('POST', '/tickets', { title: 'VPN drops', description: 'x', requester: { email: 'user0@corp.example' } });
  await h.drain();
  const card = await h.cardRef(created.body.number);
  const ann = teamsUser('Ann Admin', 'ann@it.example');
  await h.t.api('POST', '/people', { email: ann.email, name: ann.name, roles: ['technician'] });
  h.connector.directory.push({ id: ann.id, name: ann.name, aadObjectId: ann.aadObjectId }); // Teams gives no email or UPN for Ann
  h.connector.reset();
  const inTeam = (html: string) => ({ ...threadMessage(h.connector.url, ann, card.activityId, html), channelData: { tenant: { id: 'tenant-0001' }, team: { id: '19:team-general@thread.tacv2' }, channel: { id: '19:tickets-channel@thread.tacv2' } } });
  await h.post(inTeam('<p>first try</p>'));
  await h.post(inTeam('<p>second try</p>'));
  // Ann has no email in Teams: not matched, so no note — and looked up once, not per message.
  const lookups = h.connector.callsOf('Conversations_GetConversationMember');
  expect(lookups).toHaveLength(1);
  expect(lookups[0]!.conversationId).toBe('19:team-general@thread.tacv2');
  expect((await h.t.app.ctx.service.getTicket(created.body.number)).entries.map((e) => e.text)).not.toContain('first try');

  // The admin links Ann's Teams account by hand; her next thread message becomes a note.
  const annId = (await h.t.app.ctx.service.people.findByEmail(ann.email))!._id.toString();
  const linked = await h.t.api('PUT', `/people/${annId}/identities/teams`, { userId: ann.id, aadObjectId: '6f1c1f4e-3f7a-4a59-9a43-0d7f1c2b9a10' });
  expect(linked.status).toBe(200);
  expect(linked.body.identities.teams).toEqual({ userId: ann.id, aadObjectId: '6f1c1f4e-3f7a-4a59-9a43-0d7f1c2b9a10' });
  await h.post(inTeam('<p>third try</p>'));
  const t = await h.t.app.ctx.service.getTicket(created.body.number);
  expect(t.entries.at(-1)).toMatchObject({ kind: 'note', text: 'third try', author: { kind: 'technician' } });
  expect(ops()).not.toContain('Conversations_GetConversationMembers');
});

itc(`a member without an email is told how to get linked, and the lookup is not repeated for each message${skipReason}`, async () => {
  const ghost = teamsUser('Ghost Guest', 'ghost@guest.example');
  h.connector.directory.push({ id: ghost.id, name: ghost.name, aadObjectId: ghost.aadObjectId });
  h.connector.reset();
  const first = await h.post(personalMessage(h.connector.url, ghost, 'hello'));
  expect(first.status).toBe(200);
  await h.post(personalMessage(h.connector.url, ghost, 'hello again'));
  expect(h.connector.textSentTo(personalConversation(ghost).id)).toContain('ask the helpdesk to link your Teams account');
  expect(h.connector.callsOf('Conversations_GetConversationMember')).toHaveLength(1);
});

itc(`PUT /people/{id}/identities/{platform}: validated, stable error codes, nothing half-written${skipReason}`, async () => {
  const jane = await h.t.api('POST', '/people', { email: 'jane@corp.example', name: 'Jane', roles: ['contact'] });
  const bob = await h.t.api('POST', '/people', { email: 'bob@corp.example', name: 'Bob', roles: ['contact'] });
  const put = (id: string, platform: string, body: unknown) => h.t.api('PUT', `/people/${id}/identities/${platform}`, body);
  expect((await put(jane.body.id, 'skype', { userId: '29:x' })).body.error.code).toBe('VALIDATION_FAILED');
  const bad = await put(jane.body.id, 'teams', { userId: 'jane' });
  expect([bad.status, bad.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
  expect((await put(jane.body.id, 'slack', { userId: 'U0JANE', extra: 1 })).body.error.code).toBe('VALIDATION_FAILED');
  expect((await put(jane.body.id, 'slack', { userId: { $gt: '' } })).body.error.code).toBe('VALIDATION_FAILED');
  const missing = await put('0123456789abcdef01234567', 'slack', { userId: 'U0NOBODY' });
  expect([missing.status, missing.body.error.code]).toEqual([404, 'NOT_FOUND']);
  expect((await put('nope', 'slack', { userId: 'U0NOBODY' })).body.error.code).toBe('VALIDATION_FAILED');
  const ok = await put(jane.body.id, 'slack', { userId: 'U0JANE', teamId: 'T0001' });
  expect(ok.body.identities.slack).toEqual({ userId: 'U0JANE', teamId: 'T0001' });
  const taken = await put(bob.body.id, 'slack', { userId: 'U0JANE' });
  expect([taken.status, taken.body.error.code]).toEqual([409, 'CONFLICT']);
  const bobAfter = await h.t.app.ctx.service.people.get(bob.body.id);
  expect((bobAfter!.identities as Record<string, unknown>).slack).toBeUndefined();
});
