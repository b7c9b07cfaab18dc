import { CHANNEL, JANE, TOM, describeWithContracts, eventually, shown, startSlack, type SlackHarness } from './support.js';

/**
 * Edits and deletes in a card's thread, as the Events API delivers them: message subtype
 * message_changed (message + previous_message, edited: {user, ts}) and message_deleted (deleted_ts +
 * previous_message), per Slack's "message_changed" / "message_deleted" event reference.
 */
describeWithContracts('slack edits and deletes in a ticket thread', () => {
  let h: SlackHarness;
  let card: { channel: string; ts: string };
  let seq = 0;
  const nextTs = () => `1810000000.${String(++seq).padStart(6, '0')}`;
  const say = (text: string, ts = nextTs()) =>
    h.slack.event({ type: 'message', channel: CHANNEL, channel_type: 'channel', user: TOM.id, text, ts, thread_ts: card.ts, event_ts: ts }).then(() => ts);
  const edit = (ts: string, before: string, after: string) => {
    const at = nextTs();
    return h.slack.event({
      type: 'message', subtype: 'message_changed', hidden: true, channel: CHANNEL, channel_type: 'channel', ts: at, event_ts: at,
      message: { type: 'message', user: TOM.id, text: after, ts, thread_ts: card.ts, edited: { user: TOM.id, ts: at } },
      previous_message: { type: 'message', user: TOM.id, text: before, ts, thread_ts: card.ts },
    });
  };
  const remove = (ts: string, before: string) => {
    const at = nextTs();
    return h.slack.event({
      type: 'message', subtype: 'message_deleted', hidden: true, channel: CHANNEL, channel_type: 'channel', ts: at, event_ts: at, deleted_ts: ts,
      previous_message: { type: 'message', user: TOM.id, text: before, ts, thread_ts: card.ts },
    });
  };
  const entries = async () => (await h.ticket(1)).entries as any[];
  const contactView = async () => shown((await h.t.api('GET', '/tickets/1?view=contact')).body);
  const activity = async () => (await h.t.api('GET', '/tickets/1/activity')).body.items as any[];
  const ephemeralSaying = (words: string) => h.stub.waitFor((c) => c.some((x) => x.method === 'chat.postEphemeral' && shown(x.args.text).includes(words)), `ephemeral "${words}"`);

  beforeAll(async () => {
    h = await startSlack({ SLACK_UNDO_SECONDS: '2' });
    await h.t.api('POST', '/tickets', { title: 'Mail bounces', description: 'All my mail bounces', requester: { email: JANE.email } });
    await h.drain();
    card = (await h.ticket(1)).channelRefs.slack;
  });
  afterAll(async () => { await h?.close(); });
  afterEach(() => { expect(h.stub.violations).toEqual([]); });

  test('inside the undo window an edit changes what will be sent', async () => {
    h.stub.reset();
    const ts = await say('Fixed teh SPF recrod');
    await h.stub.waitFor((c) => c.some((x) => x.method === 'chat.postEphemeral'), 'undo ephemeral');
    await edit(ts, 'Fixed teh SPF recrod', 'Fixed the SPF record');
    await ephemeralSaying('the new text is what will be sent');
    const sent = await eventually(async () => (await entries()).find((e) => e.external?.slackTs === ts), 'sent after the window');
    expect(sent).toMatchObject({ kind: 'reply', text: 'Fixed the SPF record' });
    const seen = await contactView();
    expect(seen).toContain('Fixed the SPF record');
    expect(seen).not.toContain('recrod');
  });

  test('inside the undo window a delete cancels the send', async () => {
    h.stub.reset();
    const ts = await say('Sent to the wrong ticket');
    await h.stub.waitFor((c) => c.some((x) => x.method === 'chat.postEphemeral'), 'undo ephemeral');
    await remove(ts, 'Sent to the wrong ticket');
    await ephemeralSaying('nothing was sent');
    await new Promise((r) => setTimeout(r, 2500)); // past the window: the timer must find nothing to send
    expect((await entries()).some((e) => e.text === 'Sent to the wrong ticket')).toBe(false);
  });

  test('after sending, an edit and a delete are logged and the technician is told the email went out unchanged', async () => {
    h.stub.reset();
    const ts = await say('Your mailbox is fixed');
    const sent = await eventually(async () => (await entries()).find((e) => e.text === 'Your mailbox is fixed'), 'sent');
    await edit(ts, 'Your mailbox is fixed', 'Your mailbox is NOT fixed yet');
    await ephemeralSaying(`the email to ${JANE.email} went out unchanged`);
    await eventually(async () => (await activity()).some((a) => a.action === 'edited_after_send' && a.meta.entryId === sent.id), 'edit logged');
    await remove(ts, 'Your mailbox is fixed');
    await eventually(async () => (await activity()).some((a) => a.action === 'deleted_after_send' && a.meta.entryId === sent.id), 'delete logged');
    const entry = (await entries()).find((e) => e.id === sent.id);
    expect(entry.text).toBe('Your mailbox is fixed');
    expect(await contactView()).not.toContain('NOT fixed');
  });

  test('notes follow edits (and never reach the requester); the log names the note, not its words', async () => {
    await h.t.api('PUT', '/settings', { defaultReplyType: 'note' });
    const ts = await say('password is hunter1');
    const note = await eventually(async () => (await entries()).find((e) => e.text === 'password is hunter1'), 'note');
    expect(note.kind).toBe('note');
    await edit(ts, 'password is hunter1', 'password was reset, see vault');
    await eventually(async () => (await entries()).find((e) => e.id === note.id)?.text === 'password was reset, see vault', 'note edited');
    // The log entry is written after the note's text (one step later): wait for it, not for a moment.
    await eventually(async () => (await activity()).some((a) => a.action === 'note_edited' && a.meta.entryId === note.id), 'edit logged');
    const log = await activity();
    expect(shown(log)).not.toContain('vault');
    expect(shown(log)).not.toContain('hunter1');
    // The edited words find the ticket for technicians, never for the requester.
    const service = h.t.app.ctx.service;
    expect((await service.searchTickets('vault')).items.map((t) => t.number)).toEqual([1]);
    const jane = (await h.t.api('GET', '/people')).body.items.find((p: any) => p.email === JANE.email).id;
    expect((await service.searchTickets('vault', { participant: jane })).items).toEqual([]);
    await h.drain();
    const seen = await contactView();
    expect(seen).not.toContain('vault');
    expect(seen).not.toContain('hunter1');
    await h.t.api('PUT', '/settings', { defaultReplyType: 'reply' });
  });

  test('edits of messages outside a card thread, and of the bot\'s own posts, change nothing', async () => {
    const before = shown(await entries());
    const at = nextTs();
    await h.slack.event({ type: 'message', subtype: 'message_changed', hidden: true, channel: CHANNEL, ts: at, event_ts: at, message: { type: 'message', user: 'UBOT', bot_id: 'BBOT', text: 'x', ts: card.ts }, previous_message: { type: 'message', user: 'UBOT', text: 'y', ts: card.ts } });
    await h.slack.event({ type: 'message', subtype: 'message_changed', hidden: true, channel: 'CGENERAL', ts: nextTs(), message: { type: 'message', user: TOM.id, text: 'x', ts: '1700000000.000001', thread_ts: '1700000000.000000' } });
    await new Promise((r) => setTimeout(r, 300));
    expect(shown(await entries())).toBe(before);
  });
});
