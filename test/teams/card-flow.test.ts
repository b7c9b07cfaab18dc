import { cardAction, conversationUpdate, TEAMS_CHANNEL_ID } from './kit/activities.js';
import { contractTest, skipReason } from './kit/contracts.js';
import { startTeams, type TeamsHarness } from './kit/harness.js';

/** The ticket card in the tickets channel: posted once, updated in place, conversation mirrored. */
let h: TeamsHarness;
let tom: Awaited<ReturnType<TeamsHarness['person']>>;
const itc = contractTest('teams card flow');

beforeAll(async () => {
  h = await startTeams();
  tom = await h.person('Tom Tech', 'tom@it.example');
  await h.installInChannel(tom);
});
afterAll(async () => { await h?.close(); });

const newTicket = async (title: string, description = 'It does not print') => {
  const res = await h.t.api('POST', '/tickets', { title, description, requester: { email: 'jane@corp.example', name: 'Jane Doe' } });
  expect(res.status).toBe(201);
  await h.drain();
  return res.body.number as number;
};

itc(`a new ticket posts one card into the channel captured at install, and stores where it is${skipReason}`, async () => {
  h.connector.reset();
  const n = await newTicket('Printer on fire');
  const posts = h.connector.callsOf('Conversations_SendToConversation', TEAMS_CHANNEL_ID);
  expect(posts).toHaveLength(1);
  const card = posts[0]!.body.attachments[0].content;
  expect(JSON.stringify(card)).toContain(`#${n} Printer on fire`);
  expect(card.version).toBe('1.5');
  const ref = await h.cardRef(n);
  expect(ref).toMatchObject({ conversationId: TEAMS_CHANNEL_ID, serviceUrl: h.connector.url });
  expect(ref.activityId).toBeTruthy();
  h.assertContract();
});

itc(`replies and notes are mirrored in the card's thread, notes in a yellow locked container; the card updates in place${skipReason}`, async () => {
  const n = await newTicket('Mouse broken');
  const ref = await h.cardRef(n);
  h.connector.reset();
  expect((await h.t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Try the other port', author: { email: 'tom@it.example' }, status: 'Pending' })).status).toBe(201);
  expect((await h.t.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: 'User keeps unplugging it', author: { email: 'tom@it.example' } })).status).toBe(201);
  await h.drain();
  const replies = h.connector.callsOf('Conversations_ReplyToActivity', TEAMS_CHANNEL_ID);
  expect(replies.map((c) => c.activityId)).toEqual([ref.activityId, ref.activityId]);
  const [reply, note] = replies.map((c) => c.body.attachments[0].content);
  expect(JSON.stringify(reply)).toContain('Try the other port');
  expect(JSON.stringify(reply)).not.toContain('Internal note');
  expect(note.body[0].style).toBe('warning');
  expect(JSON.stringify(note)).toContain('🔒 Internal note');
  const updates = h.connector.callsOf('Conversations_UpdateActivity', TEAMS_CHANNEL_ID);
  expect(updates.length).toBeGreaterThan(0);
  expect(updates.every((c) => c.activityId === ref.activityId)).toBe(true);
  expect(JSON.stringify(updates.at(-1)!.body)).toContain('Pending');
  // No new top-level posts: the card lives where it was first posted.
  expect(h.connector.callsOf('Conversations_SendToConversation', TEAMS_CHANNEL_ID)).toHaveLength(0);
  const ticket = await h.t.app.ctx.service.getTicket(n);
  expect(ticket.entries.filter((e) => e.kind !== 'system').slice(1).every((e) => typeof e.external.teamsActivityId === 'string')).toBe(true);
  h.assertContract();
});

itc(`a replayed delivery posts nothing twice (stored activity ids are checked)${skipReason}`, async () => {
  const n = await newTicket('Replay me');
  await h.t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'First answer', author: { email: 'tom@it.example' } });
  await h.drain();
  h.connector.reset();
  const events = await h.t.app.ctx.db.models.Event.find({ ticketNumber: n }).sort({ at: 1, _id: 1 }).lean();
  const notifier = h.t.app.ctx.notifiers.get('teams')!;
  const { eventFromDoc } = await import('../../src/tickets/mappers.js');
  for (const e of events) await notifier.deliver(eventFromDoc(e));
  expect(h.connector.callsOf('Conversations_SendToConversation')).toHaveLength(0);
  expect(h.connector.callsOf('Conversations_ReplyToActivity')).toHaveLength(0);
});

itc(`429, 412, 502 and 504 from Teams are retried until the card is updated${skipReason}`, async () => {
  const n = await newTicket('Throttled');
  for (const status of [429, 412, 502, 504]) {
    h.connector.reset();
    h.connector.failNext(status, { times: 1, retryAfter: '0', match: (c) => c.operationId === 'Conversations_UpdateActivity' });
    expect((await h.t.api('PATCH', `/tickets/${n}`, { priority: status === 429 ? 'High' : status === 412 ? 'Low' : status === 502 ? 'Critical' : 'Medium' })).status).toBe(200);
    await h.drain();
    const updates = h.connector.callsOf('Conversations_UpdateActivity');
    expect(updates.length).toBeGreaterThanOrEqual(2);
    const delivery = await h.t.app.ctx.db.models.Delivery.find({ channel: 'teams', status: { $ne: 'done' } }).lean();
    expect(delivery).toEqual([]);
  }
});

itc(`a 403 from Teams gives the delivery up instead of retrying forever${skipReason}`, async () => {
  const n = await newTicket('Forbidden');
  h.connector.reset();
  h.connector.failNext(403, { times: 1, match: (c) => c.operationId === 'Conversations_UpdateActivity' });
  await h.t.api('PATCH', `/tickets/${n}`, { priority: 'High' });
  await h.drain();
  expect(h.connector.callsOf('Conversations_UpdateActivity')).toHaveLength(1);
  const failed = await h.t.app.ctx.db.models.Delivery.find({ channel: 'teams', status: 'failed' }).lean();
  expect(failed.length).toBe(1);
});

itc(`an action on the card returns the updated card and the channel card is updated in place${skipReason}`, async () => {
  const n = await newTicket('Keyboard sticky');
  const ref = await h.cardRef(n);
  h.connector.reset();
  const res = await h.post(cardAction(h.connector.url, tom, 'fields.save', { ticket: n, status: 'Resolved', priority: 'High', type: 'Request', impact: 'Low', productFamily: 'Peripherals', title: 'Keyboard very sticky' }, { rootId: ref.activityId }));
  expect(res.status).toBe(200);
  expect(res.body).toMatchObject({ statusCode: 200, type: 'application/vnd.microsoft.card.adaptive' });
  const text = JSON.stringify(res.body.value);
  expect(text).toContain('Resolved');
  expect(text).toContain('Keyboard very sticky');
  const t = await h.t.app.ctx.service.getTicket(n);
  expect(t).toMatchObject({ status: 'Resolved', priority: 'High', type: 'Request', impact: 'Low', productFamily: 'Peripherals', title: 'Keyboard very sticky' });
  await h.drain();
  expect(JSON.stringify(h.connector.callsOf('Conversations_UpdateActivity').at(-1)!.body)).toContain('Resolved');
  h.assertContract();
});

itc(`activity in another channel does not move the tickets channel; only adding the app does${skipReason}`, async () => {
  const other = '19:other-channel@thread.tacv2';
  const elsewhere = cardAction(h.connector.url, tom, 'refresh', { ticket: 1 });
  elsewhere.conversation.id = other;
  await h.post(elsewhere);
  h.connector.reset();
  await newTicket('Still in the tickets channel');
  expect(h.connector.callsOf('Conversations_SendToConversation', TEAMS_CHANNEL_ID)).toHaveLength(1);
  expect(h.connector.callsOf('Conversations_SendToConversation', other)).toHaveLength(0);
});

itc(`TEAMS_TICKETS_CHANNEL chooses the channel even when the app was added elsewhere later${skipReason}`, async () => {
  const chosen = '19:chosen@thread.tacv2';
  const h2 = await startTeams({ env: { TEAMS_TICKETS_CHANNEL: chosen } });
  try {
    const ann = await h2.person('Ann Admin', 'ann@it.example');
    const installChosen = conversationUpdate(h2.connector.url, ann, 'channel');
    installChosen.conversation.id = chosen;
    await h2.post(installChosen);
    await h2.installInChannel(ann); // the default channel, added later
    await h2.t.api('POST', '/tickets', { title: 'Goes to the chosen channel', description: 'x', requester: { email: 'jane@corp.example' } });
    await h2.drain();
    expect(h2.connector.callsOf('Conversations_SendToConversation', chosen)).toHaveLength(1);
    expect(h2.connector.callsOf('Conversations_SendToConversation', TEAMS_CHANNEL_ID)).toHaveLength(0);
  } finally {
    await h2.close();
  }
});

/*
 * Issue 16: this once failed in 2 of ~8 full runs (no card update at all). A batch read racing the
 * write of a delivery's outcome queued that delivery again behind the burst, so the burst's last
 * refresh was coalesced away; test/core/deliveries.test.ts covers the cause on its own.
 */
itc(`a burst of changes to one ticket becomes one card update showing the end state (identical renders are not sent)${skipReason}`, async () => {
  const n = await newTicket('Burst');
  const deliveries = h.t.app.ctx.deliveries;
  h.connector.reset();
  await deliveries.stop(); // the changes land while no delivery runs, as under a backlog
  try {
    for (let i = 1; i <= 5; i++) expect((await h.t.api('PATCH', `/tickets/${n}`, { title: `Burst change ${i}` })).status).toBe(200);
  } finally {
    deliveries.start();
  }
  // drain() waits for the worker's first run after start(): no polling for a late update.
  await h.drain();
  const updates = h.connector.callsOf('Conversations_UpdateActivity', TEAMS_CHANNEL_ID);
  expect(updates).toHaveLength(1);
  expect(JSON.stringify(updates[0]!.body)).toContain('Burst change 5');
  h.assertContract();
});
