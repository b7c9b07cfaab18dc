import { cardAction, refresh, taskFetch, taskSubmit, threadMessage } from './kit/activities.js';
import { cardsIn } from './kit/card-validator.js';
import { contractTest, skipReason } from './kit/contracts.js';
import { startTeams, type TeamsHarness } from './kit/harness.js';

/** Universal Actions and dialogs on the card, presence per user, mentions in the thread. */
let h: TeamsHarness;
type P = Awaited<ReturnType<TeamsHarness['person']>>;
let tom: P, ann: P, joe: P;
const itc = contractTest('teams actions');

beforeAll(async () => {
  h = await startTeams();
  tom = await h.person('Tom Tech', 'tom@it.example');
  ann = await h.person('Ann Admin', 'ann@it.example');
  joe = await h.person('Joe User', 'joe@corp.example', ['contact']);
  await h.installInChannel(tom);
});
afterAll(async () => { await h?.close(); });

const newTicket = async (title = 'VPN down') => {
  const res = await h.t.api('POST', '/tickets', { title, description: 'Cannot connect', requester: { email: 'jane@corp.example', name: 'Jane Doe' } });
  await h.drain();
  return res.body.number as number;
};
const act = (who: P, verb: string, data: Record<string, unknown>) => h.post(cardAction(h.connector.url, who, verb, data));
const cardText = (res: { body: any }) => JSON.stringify(res.body.value);

itc(`assign, assign to me, timer, log time and merge each call the service once and return the card${skipReason}`, async () => {
  const n = await newTicket();
  let res = await act(tom, 'assign', { ticket: n, assignee: ann.personId });
  expect(res.body.statusCode).toBe(200);
  expect((await h.t.app.ctx.service.getTicket(n)).assignee?.id).toBe(ann.personId);
  res = await act(tom, 'assign.me', { ticket: n });
  expect((await h.t.app.ctx.service.getTicket(n)).assignee?.id).toBe(tom.personId);
  res = await act(tom, 'timer.toggle', { ticket: n });
  expect(cardText(res)).toContain('Stop my timer');
  res = await act(tom, 'timer.toggle', { ticket: n });
  expect(cardText(res)).toContain('Start timer');
  res = await act(tom, 'time.log', { ticket: n, minutes: '45' });
  const t = await h.t.app.ctx.service.getTicket(n);
  expect(t.timeSpentMinutes).toBe(46); // 1 minute minimum for the stopped timer + 45 logged
  const other = await newTicket('Duplicate VPN');
  res = await act(tom, 'merge', { ticket: other, into: n });
  expect(cardText(res)).toContain(`Merged into #${n}`);
  const actions = (await h.t.app.ctx.service.getActivity(n)).map((a) => a.action);
  expect(actions).toEqual(expect.arrayContaining(['field_changed', 'timer_started', 'timer_stopped', 'time_logged', 'merged_from']));
  await h.drain();
  h.assertContract();
});

itc(`bad input gets a stable error code and changes nothing${skipReason}`, async () => {
  const n = await newTicket();
  const before = await h.t.app.ctx.service.getActivity(n);
  let res = await act(tom, 'time.log', { ticket: n, minutes: '-5' });
  expect(res.body).toMatchObject({ statusCode: 400, type: 'application/vnd.microsoft.error', value: { code: 'VALIDATION_FAILED' } });
  res = await act(tom, 'fields.save', { ticket: n, status: 'No such status' });
  expect(res.body.value.code).toBe('VALIDATION_FAILED');
  res = await act(tom, 'merge', { ticket: n, into: 99999 });
  expect(res.body.value.code).toBe('NOT_FOUND');
  res = await act(tom, 'nonsense', { ticket: n });
  expect(res.body.value.code).toBe('VALIDATION_FAILED');
  expect(await h.t.app.ctx.service.getActivity(n)).toHaveLength(before.length);
});

itc(`only technicians can act on the card${skipReason}`, async () => {
  const n = await newTicket();
  const res = await act(joe, 'assign.me', { ticket: n });
  expect(res.body).toMatchObject({ statusCode: 403, value: { code: 'FORBIDDEN' } });
  expect((await h.t.app.ctx.service.getTicket(n)).assignee).toBeNull();
});

itc(`a retried invoke (same activity id) acts once${skipReason}`, async () => {
  const n = await newTicket();
  const activity = cardAction(h.connector.url, tom, 'timer.toggle', { ticket: n });
  const first = await h.post(activity);
  const again = await h.post(activity);
  expect(first.body.statusCode).toBe(200);
  expect(again.body.statusCode).toBe(200);
  expect(cardText(again)).toContain('Stop my timer');
  const started = (await h.t.app.ctx.service.getActivity(n)).filter((a) => a.action === 'timer_started');
  expect(started).toHaveLength(1);
});

itc(`refresh gives each technician their own view: own avatar first, set apart, then others and "+N more"${skipReason}`, async () => {
  const n = await newTicket();
  const others: P[] = [];
  for (let i = 0; i < 6; i++) others.push(await h.person(`Tech ${i}`, `tech${i}@it.example`, ['technician'], i === 5 ? 'https://avatars.example/tech5.png' : undefined));
  for (const o of others) await h.post(refresh(h.connector.url, o, n));
  const res = await h.post(refresh(h.connector.url, tom, n));
  const card = res.body.value;
  const presence = card.body.find((b: any) => b.id === 'presence');
  const columns = presence.items[1].columns;
  expect(columns[0].items.at(-1).text).toBe('You');
  expect(columns[1].separator).toBe(true);
  const avatars = columns.filter((c: any) => !String(c.items[0].text).startsWith('+'));
  expect(avatars).toHaveLength(5);
  expect(columns.at(-1).items[0].text).toBe('+2 more');
  // A person with a picture shows it; others show initials.
  expect(columns[1].items[0]).toMatchObject({ type: 'Image', url: 'https://avatars.example/tech5.png', style: 'Person' });
  // The refresh goes to the ticket's technicians by Teams id, at most 60.
  expect(card.refresh.userIds).toEqual(expect.arrayContaining([tom.id, others[0]!.id]));
  expect(card.refresh.userIds.length).toBeLessThanOrEqual(60);
  // Another technician sees themselves first.
  const annView = (await h.post(refresh(h.connector.url, others[0]!, n))).body.value;
  expect(annView.body.find((b: any) => b.id === 'presence').items[1].columns[0].items.at(-1).text).toBe('You');
  // A refresh by a non-technician marks no one and shows the shared view.
  const joeView = (await h.post(refresh(h.connector.url, joe, n))).body.value;
  expect(JSON.stringify(joeView)).not.toContain('"You"');
  const presenceRows = await h.t.app.ctx.db.models.Presence.countDocuments({ ticketNumber: n });
  expect(presenceRows).toBe(7);
});

itc(`reply dialog: default type, templates, CC, @notify and send-and-set-status; status stays when not set${skipReason}`, async () => {
  await h.t.app.ctx.service.settings.update({ defaultReplyType: 'note' });
  const tpl = await h.t.app.ctx.service.settings.createTemplate({ name: 'Restart', body: 'Hi {{requester.firstName}}, please restart.' });
  const n = await newTicket();
  const fetched = await h.post(taskFetch(h.connector.url, tom, { verb: 'compose', ticket: n }));
  const dialog = fetched.body.task.value.card.content;
  expect(dialog.body.find((b: any) => b.id === 'kind').value).toBe('note');
  expect(JSON.stringify(dialog)).not.toContain('Draft with AI'); // AI compose only when configured
  const withTemplate = await h.post(taskSubmit(h.connector.url, tom, { verb: 'compose.template', ticket: n, kind: 'reply', template: tpl.id, text: '' }));
  expect(withTemplate.body.task.value.card.content.body.find((b: any) => b.id === 'text').value).toBe('Hi Jane, please restart.');
  const sent = await h.post(taskSubmit(h.connector.url, tom, { verb: 'compose.send', ticket: n, kind: 'reply', text: 'Hi Jane, please restart.', cc: 'boss@corp.example', notify: '', status: '' }));
  expect(sent.body.task.type).toBe('message');
  let t = await h.t.app.ctx.service.getTicket(n);
  expect(t.status).toBe('Open');
  expect(t.cc.map((c) => c.email)).toContain('boss@corp.example');
  await h.post(taskSubmit(h.connector.url, tom, { verb: 'compose.send', ticket: n, kind: 'note', text: 'Ann, check the VPN box', notify: ann.personId, status: 'Pending' }));
  t = await h.t.app.ctx.service.getTicket(n);
  expect(t.status).toBe('Pending');
  const note = t.entries.find((e) => e.kind === 'note')!;
  expect(note.mentions).toEqual([ann.personId]);
  const empty = await h.post(taskSubmit(h.connector.url, tom, { verb: 'compose.send', ticket: n, kind: 'reply', text: '   ' }));
  expect(JSON.stringify(empty.body)).toContain('text: must not be empty');
  await h.t.app.ctx.service.settings.update({ defaultReplyType: 'reply' });
});

itc(`AI compose appears and fills the draft only when AI is configured${skipReason}`, async () => {
  const n = await newTicket();
  const ai = h.t.app.ctx.ai;
  const saved = { ...ai };
  ai.isConfigured = () => true;
  ai.compose = async (input) => ({ text: `Draft for #${input.ticketNumber} (${input.action})` });
  try {
    const fetched = await h.post(taskFetch(h.connector.url, tom, { verb: 'compose', kind: 'reply', ticket: n }));
    expect(JSON.stringify(fetched.body)).toContain('Draft with AI');
    const drafted = await h.post(taskSubmit(h.connector.url, tom, { verb: 'compose.ai', aiAction: 'generate', ticket: n, kind: 'reply', text: '' }));
    expect(drafted.body.task.value.card.content.body.find((b: any) => b.id === 'text').value).toBe(`Draft for #${n} (generate)`);
  } finally {
    Object.assign(ai, saved);
  }
});

itc(`long comments are cut on cards with "Show full comment" and stay under the size limit${skipReason}`, async () => {
  const n = await newTicket();
  const long = 'All work and no play makes Jack a dull boy. '.repeat(1500); // ~66,000 characters
  // Reset before the write: its delivery can start (and post) before the API call has answered.
  h.connector.reset();
  await h.t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: long, author: { email: 'tom@it.example' } });
  await h.drain();
  const reply = h.connector.callsOf('Conversations_ReplyToActivity')[0]!;
  const card = reply.body.attachments[0].content;
  expect(JSON.stringify(card)).toContain('Show full comment');
  expect(Buffer.byteLength(JSON.stringify(reply.body))).toBeLessThan(28 * 1024);
  h.assertContract();
  const entryId = card.actions[0].data.entryId;
  const full = await h.post(taskFetch(h.connector.url, tom, { verb: 'entry.full', entryId }));
  const dialog = full.body.task.value.card.content;
  expect(Buffer.byteLength(JSON.stringify(dialog))).toBeLessThan(28 * 1024);
  expect(JSON.stringify(dialog)).toContain('more not shown');
});

itc(`activity log opens as a dialog${skipReason}`, async () => {
  const n = await newTicket();
  await act(tom, 'fields.save', { ticket: n, priority: 'Critical' });
  const res = await h.post(taskFetch(h.connector.url, tom, { verb: 'activity', ticket: n }));
  const text = JSON.stringify(res.body.task.value.card);
  expect(text).toContain('priority: Medium → Critical');
  expect(text).toContain('created');
});

itc(`a note with Teams mentions in the card's thread notifies each tagged technician 1:1${skipReason}`, async () => {
  await h.installPersonal(ann);
  const n = await newTicket();
  const ref = await h.cardRef(n);
  h.connector.reset();
  const res = await h.post(threadMessage(h.connector.url, tom, ref.activityId, '<p><at>Ann Admin</at> can you look at the VPN box?</p>', [ann]));
  expect(res.status).toBe(200);
  await h.drain();
  const t = await h.t.app.ctx.service.getTicket(n);
  const note = t.entries.find((e) => e.kind === 'note')!;
  expect(note.text).toContain('can you look at the VPN box?');
  expect(note.mentions).toEqual([ann.personId]);
  const annChat = h.connector.callsOf('Conversations_SendToConversation').filter((c) => c.conversationId!.startsWith('a:1-'));
  expect(annChat).toHaveLength(1);
  expect(JSON.stringify(annChat[0]!.body)).toContain('Tom Tech mentioned you');
  // The note came from the thread: it is not posted there a second time.
  expect(h.connector.callsOf('Conversations_ReplyToActivity')).toHaveLength(0);
  h.assertContract();
});

itc(`a note written in the card with @notify is mirrored with msteams mention entities${skipReason}`, async () => {
  const n = await newTicket();
  h.connector.reset();
  await h.post(taskSubmit(h.connector.url, tom, { verb: 'compose.send', ticket: n, kind: 'note', text: 'Please check', notify: ann.personId }));
  await h.drain();
  const mirrored = h.connector.callsOf('Conversations_ReplyToActivity')[0]!.body.attachments[0].content;
  expect(mirrored.msteams.entities).toEqual([{ type: 'mention', text: '<at>Ann Admin</at>', mentioned: { id: ann.id, name: 'Ann Admin' } }]);
  h.assertContract(); // the validator checks the <at> text appears in the card
  expect(cardsIn(h.connector.calls.map((c) => c.body)).length).toBeGreaterThan(0);
});
