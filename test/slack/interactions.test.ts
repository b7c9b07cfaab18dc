import { KEEP_STATUS } from '../../src/slack/blocks/modals.js';
import { SECRET, ANN, JANE, TOM, describeWithContracts, eventually, shown, startSlack, type SlackHarness } from './support.js';
import { slackSignature } from './kit/index.js';

const sel = (value: string) => ({ type: 'static_select', selected_option: { value } });

describeWithContracts('slack card buttons and modals', () => {
  let h: SlackHarness;
  let card: { channel: string; ts: string };
  const press = (user: string, action_id: string, extra: Record<string, unknown>) =>
    h.slack.blockAction(user, { action_id, type: 'button', ...extra }, card);

  beforeAll(async () => {
    h = await startSlack();
    await h.t.api('POST', '/tickets', { title: 'VPN down', description: 'Cannot connect', requester: { email: JANE.email } });
    await h.drain();
    card = (await h.ticket(1)).channelRefs.slack;
  });
  afterAll(async () => { await h?.close(); });
  afterEach(() => { expect(h.stub.violations).toEqual([]); });

  test('bad signatures and stale timestamps get 401; good requests are acked well within 3 s', async () => {
    const body = new URLSearchParams({ payload: '{}' }).toString();
    expect((await h.slack.post(body, 'application/x-www-form-urlencoded', { signature: 'v0=deadbeef' })).status).toBe(401);
    const stale = Math.floor(Date.now() / 1000) - 600;
    expect((await h.slack.post(body, 'application/x-www-form-urlencoded', { timestamp: stale, signature: slackSignature(SECRET, stale, body) })).status).toBe(401);
    const ok = await press(TOM.id, 'ticket_assign_me', { value: '1' });
    expect(ok.status).toBe(200);
    expect(ok.ms).toBeLessThan(3000);
  });

  test('assign to me, status, priority and assign take effect through the service and the card re-renders', async () => {
    await eventually(async () => (await h.ticket(1)).assignee?.email === TOM.email, 'assigned to Tom');
    await press(TOM.id, 'ticket_status', sel('1|Pending'));
    await eventually(async () => (await h.ticket(1)).status === 'Pending', 'status Pending');
    await press(TOM.id, 'ticket_priority', sel('1|High'));
    await eventually(async () => (await h.ticket(1)).priority === 'High', 'priority High');
    const ann = (await h.t.api('GET', `/people?q=ann`)).body.items?.[0] ?? (await h.t.api('GET', '/people')).body.items.find((p: any) => p.email === ANN.email);
    await press(TOM.id, 'ticket_assign', sel(`1|${ann.id}`));
    await eventually(async () => (await h.ticket(1)).assignee?.email === ANN.email, 'assigned to Ann');
    await h.drain();
    await h.stub.waitFor((calls) => calls.some((c) => c.method === 'chat.update' && shown(c.json.blocks).includes('Ann Admin') && shown(c.json.blocks).includes('High')), 'card re-render');
    const actions = (await h.t.api('GET', '/tickets/1/activity')).body.items.map((a: any) => `${a.action}:${a.field ?? ''}`);
    expect(actions).toEqual(expect.arrayContaining(['field_changed:status', 'field_changed:priority']));
  });

  test('who is working on it shows on the card', async () => {
    await h.stub.waitFor((calls) => calls.some((c) => c.method === 'chat.update' && shown(c.json.blocks).includes('Tom Tech is working on this')), 'presence on card');
  });

  test('an end user pressing a card button gets an explanation, and nothing changes', async () => {
    h.stub.reset();
    await press(JANE.id, 'ticket_status', sel('1|Closed'));
    // Answered through the action's response_url (an ephemeral only Jane sees).
    await h.stub.waitFor((calls) => calls.some((c) => c.method === 'response_url'), 'ephemeral answer');
    expect(h.stub.callsTo('response_url')[0]!.json).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(shown(h.stub.callsTo('response_url')[0]!.json.text)).toContain('Only technicians');
    expect((await h.ticket(1)).status).toBe('Pending');
  });

  test('Reply opens the modal at the admin\'s default reply type; Internal note opens as a note', async () => {
    h.stub.reset();
    await h.t.api('PUT', '/settings', { defaultReplyType: 'note' });
    await press(TOM.id, 'ticket_reply', { value: '1' });
    await h.stub.waitFor((calls) => calls.some((c) => c.method === 'views.open'), 'views.open');
    let view = h.stub.callsTo('views.open')[0]!.json.view;
    const vis = view.blocks.find((b: any) => b.block_id === 'visibility');
    expect(vis.element.initial_option.value).toBe('note');
    expect(shown(view.blocks)).not.toContain('compose_generate'); // AI is not configured
    await h.t.api('PUT', '/settings', { defaultReplyType: 'reply' });
    await press(TOM.id, 'ticket_reply', { value: '1' });
    await h.stub.waitFor((calls) => calls.filter((c) => c.method === 'views.open').length === 2, 'second views.open');
    view = h.stub.callsTo('views.open')[1]!.json.view;
    expect(view.blocks.find((b: any) => b.block_id === 'visibility').element.initial_option.value).toBe('reply');
    // presence on a per-user surface: you first, set apart
    expect(shown(view.blocks.find((b: any) => b.block_id === 'presence'))).toContain('*You* are working on this');
    await press(TOM.id, 'ticket_note', { value: '1' });
    await h.stub.waitFor((calls) => calls.filter((c) => c.method === 'views.open').length === 3, 'note modal');
    view = h.stub.callsTo('views.open')[2]!.json.view;
    expect(view.blocks.find((b: any) => b.block_id === 'visibility').element.initial_option.value).toBe('note');
  });

  test('a quick-reply template fills the message box, rendered for this ticket; compose buttons only when AI is configured', async () => {
    h.stub.reset();
    const tpl = await h.t.api('POST', '/templates', { name: 'Restart', body: 'Hi {{requester.firstName}}, please restart (#{{ticket.number}}).' });
    expect(tpl.status).toBe(201);
    const ctx = h.t.app.ctx;
    const saved = ctx.ai;
    ctx.ai = { isConfigured: () => true, compose: async (i) => ({ text: `draft for #${i.ticketNumber} (${i.action})` }) };
    try {
      await press(TOM.id, 'ticket_reply', { value: '1' });
      await h.stub.waitFor((calls) => calls.some((c) => c.method === 'views.open'), 'modal');
      const view = h.stub.callsTo('views.open')[0]!.json.view;
      expect(shown(view.blocks)).toContain('compose_generate');
      await h.slack.interaction({
        type: 'block_actions', user: { id: TOM.id, username: 'tom', team_id: 'T0001' },
        view: { id: 'VREPLY', hash: 'h1', type: 'modal', callback_id: 'ticket_reply_modal', private_metadata: JSON.stringify({ n: 1 }), state: { values: {} } },
        container: { type: 'view', view_id: 'VREPLY' },
        actions: [{ action_id: 'reply_template', block_id: 'template', type: 'static_select', selected_option: { value: tpl.body.id }, action_ts: '1' }],
      });
      await h.stub.waitFor((calls) => calls.some((c) => c.method === 'views.update'), 'views.update');
      const updated = h.stub.callsTo('views.update')[0]!;
      expect(updated.args.view_id).toBe('VREPLY');
      expect(updated.json.view.blocks.find((b: any) => b.block_id === 'message').element.initial_value).toBe('Hi Jane, please restart (#1).');
    } finally {
      ctx.ai = saved;
    }
  });

  const submitReply = (user: string, kind: 'reply' | 'note', text: string, status = KEEP_STATUS, extra: Record<string, any> = {}) =>
    h.slack.viewSubmission(user, 'ticket_reply_modal', JSON.stringify({ n: 1 }), {
      message: { text: { type: 'plain_text_input', value: text } },
      visibility: { kind: { type: 'radio_buttons', selected_option: { value: kind } } },
      status: { status: sel(status) },
      cc: { people: { type: 'multi_external_select', selected_options: extra.cc ?? [] } },
      notify: { users: { type: 'multi_users_select', selected_users: extra.notify ?? [] } },
    });

  test('the modal sends a reply and sets the status on send; "keep" leaves it', async () => {
    let res = await submitReply(TOM.id, 'reply', 'Restart the client please', 'Resolved', { cc: [{ value: 'boss@corp.example' }] });
    expect(res.status).toBe(200);
    let t = await h.ticket(1);
    const reply = t.entries.find((e: any) => e.text === 'Restart the client please');
    expect(reply).toMatchObject({ kind: 'reply', visibility: 'public', source: 'slack' });
    expect(reply.cc.map((c: any) => c.email)).toEqual(['boss@corp.example']);
    expect(t.status).toBe('Resolved');
    res = await submitReply(TOM.id, 'reply', 'Any luck?');
    t = await h.ticket(1);
    expect(t.status).toBe('Resolved');
  });

  test('a note from the modal stays internal: never in the end-user view; @notify DMs the technician with a link', async () => {
    h.stub.reset();
    await submitReply(TOM.id, 'note', 'Jane\'s laptop is on the blocklist', KEEP_STATUS, { notify: [ANN.id] });
    await h.drain();
    const contact = await h.t.api('GET', '/tickets/1?view=contact');
    expect(shown(contact.body.entries)).not.toContain('blocklist');
    const dms = h.stub.callsTo('chat.postMessage').filter((c) => c.args.channel === `D${ANN.id}`);
    expect(dms).toHaveLength(1);
    expect(dms[0]!.args.text).toContain('mentioned you in a note on #1');
    expect(dms[0]!.args.text).toContain('https://example.slack.com/archives/');
    // the requester never gets a DM with the note
    expect(h.stub.calls.some((c) => c.args.channel === `D${JANE.id}`)).toBe(false);
  });

  test('an empty message is refused in the modal and nothing is written', async () => {
    const before = (await h.ticket(1)).entries.length;
    const res = await submitReply(TOM.id, 'reply', '   ');
    expect(JSON.parse(res.body)).toMatchObject({ response_action: 'errors', errors: { message: expect.stringContaining('Write a message') } });
    expect((await h.ticket(1)).entries.length).toBe(before);
  });

  test('overflow: fields modal, merge, timer, log time, activity log', async () => {
    h.stub.reset();
    await press(TOM.id, 'ticket_more', sel('1|fields'));
    await h.stub.waitFor((c) => c.some((x) => x.method === 'views.open'), 'fields modal');
    await h.slack.viewSubmission(TOM.id, 'ticket_fields_modal', JSON.stringify({ n: 1 }), {
      title: { v: { type: 'plain_text_input', value: 'VPN down for all of sales' } }, type: { v: sel('Problem') },
      impact: { v: sel('High') }, productFamily: { v: { type: 'plain_text_input', value: 'Network' } },
    });
    let t = await h.ticket(1);
    expect(t).toMatchObject({ title: 'VPN down for all of sales', type: 'Problem', impact: 'High', productFamily: 'Network' });

    await press(TOM.id, 'ticket_time', sel('1|start'));
    await eventually(async () => (await h.ticket(1)).runningTimers.length === 1, 'timer running');
    await press(TOM.id, 'ticket_time', sel('1|stop'));
    await eventually(async () => (await h.ticket(1)).runningTimers.length === 0, 'timer stopped');
    const logged = await h.slack.viewSubmission(TOM.id, 'ticket_log_time_modal', JSON.stringify({ n: 1 }), { minutes: { v: { type: 'number_input', value: '30' } }, note: { v: { type: 'plain_text_input', value: 'call' } } });
    expect(logged).toMatchObject({ status: 200, body: '' });
    t = await h.ticket(1);
    expect(t.timeSpentMinutes).toBeGreaterThanOrEqual(31);

    await press(TOM.id, 'ticket_time', sel('1|activity'));
    await h.stub.waitFor((c) => c.some((x) => x.method === 'views.open' && shown(x.json.view).includes('timer started')), 'activity modal');

    await h.t.api('POST', '/tickets', { title: 'VPN again', description: 'same', requester: { email: JANE.email } });
    const bad = await h.slack.viewSubmission(TOM.id, 'ticket_merge_modal', JSON.stringify({ n: 2 }), { into: { v: { type: 'number_input', value: '999' } } });
    expect(JSON.parse(bad.body)).toMatchObject({ response_action: 'errors', errors: { into: expect.stringContaining('not found') } });
    await h.slack.viewSubmission(TOM.id, 'ticket_merge_modal', JSON.stringify({ n: 2 }), { into: { v: { type: 'number_input', value: '1' } } });
    expect((await h.ticket(2)).mergedInto).toBe(1);
    await h.drain();
  });
});
