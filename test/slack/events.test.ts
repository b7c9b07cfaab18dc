import { slackRuntime } from '../../src/slack/index.js';
import { ANN, CHANNEL, JANE, TOM, describeWithContracts, eventually, shown, startSlack, type SlackHarness } from './support.js';

describeWithContracts('slack events: thread fast path, undo window, retries, reactions, DMs, /ticket, App Home', () => {
  let h: SlackHarness;
  let card: { channel: string; ts: string };
  let msgSeq = 0;
  const nextTs = () => `1800000000.${String(++msgSeq).padStart(6, '0')}`;
  const threadMessage = (user: string, text: string, ts = nextTs()) =>
    h.slack.event({ type: 'message', channel: CHANNEL, channel_type: 'channel', user, text, ts, thread_ts: card.ts, event_ts: ts });
  const entries = async () => (await h.ticket(1)).entries as any[];
  const contactTexts = async () => shown((await h.t.api('GET', '/tickets/1?view=contact')).body.entries);

  beforeAll(async () => {
    h = await startSlack({ SLACK_UNDO_SECONDS: '1' });
    await h.t.api('POST', '/tickets', { title: 'Mail bounces', description: 'All my mail bounces', requester: { email: JANE.email } });
    await h.drain();
    card = (await h.ticket(1)).channelRefs.slack;
  });
  afterAll(async () => { await h?.close(); });
  afterEach(() => { expect(h.stub.violations).toEqual([]); });

  test('with default type "note", a thread message becomes an internal note at once and never reaches the requester', async () => {
    await h.t.api('PUT', '/settings', { defaultReplyType: 'note' });
    await threadMessage(TOM.id, 'checking the MX records');
    const note = await eventually(async () => (await entries()).find((e) => e.text === 'checking the MX records'), 'note entry');
    expect(note).toMatchObject({ kind: 'note', visibility: 'internal', source: 'slack' });
    await h.drain();
    expect(await contactTexts()).not.toContain('MX records');
    // It is already in the thread: not mirrored a second time.
    expect(h.stub.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === card.ts)).toHaveLength(0);
    // A real Slack mention of a technician in a thread note DMs them a link to the card.
    await threadMessage(TOM.id, `<@${ANN.id}> can you look at the relay?`);
    await h.stub.waitFor((c) => c.some((x) => x.method === 'chat.postMessage' && x.args.channel === `D${ANN.id}` && shown(x.args.text).includes('mentioned you in a note on #1')), 'mention DM');
    await h.t.api('PUT', '/settings', { defaultReplyType: 'reply' });
  });

  test('a public thread message is held for the undo window with an ephemeral, then sent', async () => {
    h.stub.reset();
    const started = Date.now();
    await threadMessage(TOM.id, 'Fixed the SPF record');
    await h.stub.waitFor((c) => c.some((x) => x.method === 'chat.postEphemeral' && x.args.user === TOM.id), 'undo ephemeral');
    const eph = h.stub.callsTo('chat.postEphemeral')[0]!;
    expect(eph.args.thread_ts).toBe(card.ts);
    expect(shown(eph.json.blocks)).toContain('held_undo');
    expect(shown(eph.json.blocks)).toContain('held_make_note');
    expect((await entries()).some((e) => e.text === 'Fixed the SPF record')).toBe(false);
    const sent = await eventually(async () => (await entries()).find((e) => e.text === 'Fixed the SPF record'), 'sent after window');
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(sent).toMatchObject({ kind: 'reply', visibility: 'public' });
    expect(await contactTexts()).toContain('Fixed the SPF record');
  });

  const heldIdOfLastEphemeral = () => {
    const eph = h.stub.callsTo('chat.postEphemeral').at(-1)!;
    return eph.json.blocks[1].elements[0].value as string;
  };

  test('Undo: the message is never sent', async () => {
    h.stub.reset();
    await threadMessage(TOM.id, 'Wrong ticket, sorry');
    await h.stub.waitFor((c) => c.some((x) => x.method === 'chat.postEphemeral'), 'ephemeral');
    await h.slack.blockAction(TOM.id, { action_id: 'held_undo', type: 'button', value: heldIdOfLastEphemeral() }, card);
    await new Promise((r) => setTimeout(r, 1300));
    expect((await entries()).some((e) => e.text === 'Wrong ticket, sorry')).toBe(false);
  });

  test('Make it a note: recorded as an internal note, never reaches the requester', async () => {
    h.stub.reset();
    await threadMessage(TOM.id, 'Her password is on a sticky note');
    await h.stub.waitFor((c) => c.some((x) => x.method === 'chat.postEphemeral'), 'ephemeral');
    await h.slack.blockAction(TOM.id, { action_id: 'held_make_note', type: 'button', value: heldIdOfLastEphemeral() }, card);
    const note = await eventually(async () => (await entries()).find((e) => e.text === 'Her password is on a sticky note'), 'noted');
    expect(note.kind).toBe('note');
    await new Promise((r) => setTimeout(r, 1300));
    expect((await entries()).filter((e) => e.text === 'Her password is on a sticky note')).toHaveLength(1);
    await h.drain();
    expect(await contactTexts()).not.toContain('sticky note');
  });

  test('a held reply survives a restart: the sweep sends it once, and a second sweep sends nothing', async () => {
    const deps = slackRuntime.get(h.t.app.ctx)!;
    await threadMessage(TOM.id, 'Held across a restart');
    const id = await eventually(async () => (await deps.models.HeldMessage.findOne({ text: 'Held across a restart' }).lean())?._id, 'held record');
    deps.held.stop(); // the process "dies": its timer is gone
    await deps.models.HeldMessage.updateOne({ _id: id }, { $set: { sendAt: new Date(Date.now() - 1000) } });
    await deps.held.sweep();
    await new Promise((r) => setTimeout(r, 100));
    await deps.held.sweep();
    await eventually(async () => (await entries()).some((e) => e.text === 'Held across a restart'), 'sent by the sweep');
    await new Promise((r) => setTimeout(r, 100));
    expect((await entries()).filter((e) => e.text === 'Held across a restart')).toHaveLength(1);
  });

  test('a send interrupted by a crash (state "sending" for over a minute) is finished once by the sweep', async () => {
    const deps = slackRuntime.get(h.t.app.ctx)!;
    const ts = nextTs();
    await deps.models.HeldMessage.create({
      _id: `${CHANNEL}:${ts}`, ticketNumber: 1, channel: CHANNEL, threadTs: card.ts, userId: TOM.id,
      personId: (await h.t.api('GET', '/people')).body.items.find((p: any) => p.email === TOM.email).id,
      text: 'Interrupted send', sendAt: new Date(Date.now() - 120_000), state: 'sending', sendingSince: new Date(Date.now() - 90_000), entryId: null, createdAt: new Date(),
    });
    await Promise.all([deps.held.sweep(), deps.held.sweep(), deps.held.release(`${CHANNEL}:${ts}`)]);
    expect((await entries()).filter((e) => e.text === 'Interrupted send')).toHaveLength(1);
    expect((await deps.models.HeldMessage.findById(`${CHANNEL}:${ts}`).lean())!.state).toBe('sent');
  });

  test('Undo racing the timer: exactly one wins, never both', async () => {
    const deps = slackRuntime.get(h.t.app.ctx)!;
    const ts = nextTs();
    const personId = (await h.t.api('GET', '/people')).body.items.find((p: any) => p.email === TOM.email).id;
    await deps.held.hold({ _id: `${CHANNEL}:${ts}`, ticketNumber: 1, channel: CHANNEL, threadTs: card.ts, userId: TOM.id, personId, text: 'Race me' }, 0);
    const [undone, released] = await Promise.all([deps.held.undo(`${CHANNEL}:${ts}`), deps.held.release(`${CHANNEL}:${ts}`)]);
    await new Promise((r) => setTimeout(r, 100));
    const sent = (await entries()).filter((e) => e.text === 'Race me').length;
    expect(Boolean(undone) !== released).toBe(true);
    expect(sent).toBe(released ? 1 : 0);
  });

  test('Slack\'s retries of one event (same event_id, X-Slack-Retry-Num) are processed once', async () => {
    await h.t.api('PUT', '/settings', { defaultReplyType: 'note' });
    const ts = nextTs();
    const ev = { type: 'message', channel: CHANNEL, channel_type: 'channel', user: TOM.id, text: 'retry me once', ts, thread_ts: card.ts };
    await h.slack.event(ev, { eventId: 'EvRETRY1' });
    await h.slack.event(ev, { eventId: 'EvRETRY1', retryNum: 1 });
    await h.slack.event(ev, { eventId: 'EvRETRY1', retryNum: 2 });
    await eventually(async () => (await entries()).some((e) => e.text === 'retry me once'), 'processed');
    await new Promise((r) => setTimeout(r, 200));
    expect((await entries()).filter((e) => e.text === 'retry me once')).toHaveLength(1);
    await h.t.api('PUT', '/settings', { defaultReplyType: 'reply' });
  });

  test('the bot\'s own messages in the thread are ignored (no echo)', async () => {
    const before = (await entries()).length;
    await h.slack.event({ type: 'message', channel: CHANNEL, user: 'UBOT', bot_id: 'BBOT', text: 'mirror', ts: nextTs(), thread_ts: card.ts });
    await h.slack.event({ type: 'message', subtype: 'bot_message', channel: CHANNEL, bot_id: 'BBOT', text: 'mirror', ts: nextTs(), thread_ts: card.ts });
    await new Promise((r) => setTimeout(r, 200));
    expect((await entries()).length).toBe(before);
  });

  test('reactions: 👀 assigns the reacting technician, ✅ resolves', async () => {
    await h.slack.event({ type: 'reaction_added', user: TOM.id, reaction: 'eyes', item: { type: 'message', channel: CHANNEL, ts: card.ts }, event_ts: nextTs() });
    await eventually(async () => (await h.ticket(1)).assignee?.email === TOM.email, 'assigned by 👀');
    await h.slack.event({ type: 'reaction_added', user: TOM.id, reaction: 'white_check_mark', item: { type: 'message', channel: CHANNEL, ts: card.ts }, event_ts: nextTs() });
    await eventually(async () => (await h.ticket(1)).status === 'Resolved', 'resolved by ✅');
  });

  test('🎫 makes a ticket from a person\'s message (author = requester) but never from the bot\'s posts, such as a mirrored note', async () => {
    h.stub.messages.push({ channel: 'CGENERAL', ts: '1800000100.000100', text: 'The projector in room 4 is broken', user: JANE.id });
    await h.slack.event({ type: 'reaction_added', user: TOM.id, reaction: 'ticket', item: { type: 'message', channel: 'CGENERAL', ts: '1800000100.000100' }, event_ts: nextTs() });
    const list = await eventually(async () => (await h.t.api('GET', '/tickets')).body.items.find((t: any) => t.title.includes('projector')), 'ticket from 🎫');
    expect(list.requester.email).toBe(JANE.email);
    // a mirrored internal note (posted by the bot in the card's thread)
    await h.t.api('POST', '/tickets/1/entries', { kind: 'note', text: 'internal only: VIP customer', author: { email: TOM.email } });
    await h.drain();
    const mirror = h.stub.messages.find((m) => m.text.includes('VIP customer'))!;
    const count = (await h.t.api('GET', '/tickets')).body.items.length;
    await h.slack.event({ type: 'reaction_added', user: TOM.id, reaction: 'ticket', item: { type: 'message', channel: CHANNEL, ts: mirror.ts }, event_ts: nextTs() });
    await h.stub.waitFor((c) => c.some((x) => x.method === 'chat.postEphemeral' && shown(x.args.text).includes('belongs to the helpdesk')), 'refusal');
    expect((await h.t.api('GET', '/tickets')).body.items.length).toBe(count);
  });

  test('/ticket: help, <number> (ephemeral card), mine, unassigned, search, new — answered through response_url', async () => {
    h.stub.reset();
    const eph = async (text: string) => {
      const n = h.stub.callsTo('response_url').length;
      const res = await h.slack.command('/ticket', text, { id: TOM.id });
      expect(res.status).toBe(200);
      await h.stub.waitFor((c) => c.filter((x) => x.method === 'response_url').length > n, `/ticket ${text}`);
      const answer = h.stub.callsTo('response_url').at(-1)!;
      expect(answer.json.response_type).toBe('ephemeral');
      return answer;
    };
    expect((await eph('help')).args.text).toContain('/ticket mine');
    expect(shown((await eph('1')).json.blocks)).toContain('#1 Mail bounces');
    expect(shown((await eph('mine')).json.blocks)).toContain('Your tickets');
    expect(shown((await eph('unassigned')).json.blocks)).toContain('projector');
    const found = await eph('search projector');
    expect(found.args.text).toContain('1 tickets match');
    await h.slack.command('/ticket', 'new', { id: TOM.id });
    await h.stub.waitFor((c) => c.some((x) => x.method === 'views.open' && x.json.view.callback_id === 'ticket_create_modal'), 'new ticket modal');
    const res = await h.slack.viewSubmission(TOM.id, 'ticket_create_modal', '{}', {
      title: { v: { type: 'plain_text_input', value: 'New laptop' } }, description: { v: { type: 'plain_text_input', value: 'For the intern' } },
      requester: { v: { type: 'email_text_input', value: JANE.email } },
    });
    expect(res.status).toBe(200);
    await eventually(async () => (await h.t.api('GET', '/tickets')).body.items.some((t: any) => t.title === 'New laptop'), 'created from modal');
    expect(h.stub.callsTo('chat.postEphemeral')).toHaveLength(0);
  });

  test('/ticket typed in a private channel (and a DM between two people) the bot is not in: answered via response_url', async () => {
    // Shaped like Slack's sample (java-slack-sdk app-backend_slash-commands_SlashCommandPayload.json);
    // the stand-in answers channel_not_found to chat.postEphemeral there, as Slack does.
    for (const [channel, name] of [['GPRIVATE1', 'privategroup'], ['D0TOMANN', 'directmessage']] as const) {
      h.stub.reset();
      h.stub.notMemberOf.add(channel);
      const responseUrl = h.stub.responseUrl(`private-${channel}`);
      const res = await h.slack.command('/ticket', '1', { id: TOM.id }, channel, { responseUrl, channelName: name });
      expect(res.status).toBe(200);
      await h.stub.waitFor((c) => c.some((x) => x.method === 'response_url'), `answer in ${name}`);
      expect(shown(h.stub.callsTo('response_url')[0]!.json.blocks)).toContain('#1 Mail bounces');
      expect(h.stub.callsTo('chat.postEphemeral')).toHaveLength(0);
    }
  });

  test('a button on that card, pressed in the private channel, answers through the action\'s response_url', async () => {
    h.stub.reset();
    h.stub.notMemberOf.add('GPRIVATE1');
    // Jane is no technician: the action is refused, and she must see why.
    await h.slack.blockAction(JANE.id, { action_id: 'ticket_assign_me', type: 'button', value: '1' }, { channel: 'GPRIVATE1', ts: '1700000000.000100' });
    await h.stub.waitFor((c) => c.some((x) => x.method === 'response_url'), 'refusal via response_url');
    expect(h.stub.callsTo('response_url')[0]!.json.text).toContain('Only technicians');
    expect(h.stub.callsTo('chat.postEphemeral')).toHaveLength(0);
  });

  test('message shortcut opens a prefilled new-ticket modal with the author as requester', async () => {
    h.stub.reset();
    await h.slack.interaction({ type: 'message_action', callback_id: 'create_ticket_from_message', user: { id: TOM.id }, channel: { id: 'CGENERAL' }, message: { type: 'message', user: JANE.id, text: 'Printer jammed again', ts: '1800000200.000100' }, response_url: 'https://hooks.slack.invalid/x' });
    await h.stub.waitFor((c) => c.some((x) => x.method === 'views.open'), 'prefilled modal');
    const view = shown(h.stub.callsTo('views.open')[0]!.json.view);
    expect(view).toContain('Printer jammed again');
    expect(view).toContain(JANE.email);
  });

  test('App Home lists my tickets and unassigned ones for a technician; an end user sees their own', async () => {
    h.stub.reset();
    await h.slack.event({ type: 'app_home_opened', user: TOM.id, channel: 'DHOME', tab: 'home', event_ts: nextTs() });
    await h.stub.waitFor((c) => c.some((x) => x.method === 'views.publish'), 'home published');
    const home = shown(h.stub.callsTo('views.publish')[0]!.json.view);
    expect(home).toContain('Assigned to you');
    expect(home).toContain('#1 Mail bounces');
    expect(home).toContain('Unassigned');
    await h.slack.event({ type: 'app_home_opened', user: JANE.id, channel: 'DHOME2', tab: 'home', event_ts: nextTs() });
    await h.stub.waitFor((c) => c.filter((x) => x.method === 'views.publish').length === 2, 'end-user home');
    const mine = shown(h.stub.callsTo('views.publish')[1]!.json.view);
    expect(mine).toContain('Your requests');
    expect(mine).not.toContain('VIP customer');
  });

  test('events are acked before the work: a slow Slack API does not delay the 200', async () => {
    h.stub.addUser({ id: 'U0NEW', email: 'newbie@corp.example', name: 'New Person' });
    h.stub.delayNext('users.info', 3500);
    const res = await h.slack.event({ type: 'app_home_opened', user: 'U0NEW', channel: 'DNEW', tab: 'home', event_ts: nextTs() });
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(1000);
    await h.stub.waitFor((c) => c.some((x) => x.method === 'views.publish' && x.args.user_id === 'U0NEW'), 'home after the slow lookup');
  });

  test('/ticket with an unknown number answers with the reason', async () => {
    h.stub.reset();
    await h.slack.command('/ticket', '999', { id: TOM.id });
    await h.stub.waitFor((c) => c.some((x) => x.method === 'response_url'), 'reply');
    expect(h.stub.callsTo('response_url')[0]!.json.text).toContain('ticket #999 not found');
  });

  test('old event ids expire by query (no TTL indexes on FerretDB), recent ones stay', async () => {
    const { expireSlackRecords } = await import('../../src/slack/store.js');
    const deps = slackRuntime.get(h.t.app.ctx)!;
    await deps.models.SlackEvent.create({ _id: 'EvOLD', at: new Date(Date.now() - 2 * 24 * 3600_000) });
    await expireSlackRecords(deps.models);
    expect(await deps.models.SlackEvent.exists({ _id: 'EvOLD' })).toBeNull();
    expect(await deps.models.SlackEvent.exists({ _id: 'EvRETRY1' })).toBeTruthy();
  });

  test('App Home "Open card" shows the live card in a modal; Slack\'s URL verification is answered', async () => {
    h.stub.reset();
    await h.slack.interaction({
      type: 'block_actions', user: { id: TOM.id, username: 'tom', team_id: 'T0001' }, container: { type: 'view', view_id: 'VHOME' },
      view: { id: 'VHOME', type: 'home', private_metadata: '', state: { values: {} } },
      actions: [{ action_id: 'open_card:1', block_id: 'b', type: 'button', value: '1', action_ts: '1' }],
    });
    await h.stub.waitFor((c) => c.some((x) => x.method === 'views.open'), 'card modal');
    expect(shown(h.stub.callsTo('views.open')[0]!.json.view.blocks)).toContain('#1 Mail bounces');
    const res = await h.slack.post(JSON.stringify({ token: 'legacy', type: 'url_verification', challenge: 'ch4ll3nge' }), 'application/json');
    expect(res.status).toBe(200);
    expect(res.body).toContain('ch4ll3nge');
  });
});
