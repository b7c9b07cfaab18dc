import { CHANNEL, JANE, TOM, describeWithContracts, eventually, shown, startSlack, type SlackHarness } from './support.js';

describeWithContracts('slack chat with end users (DMs)', () => {
  let h: SlackHarness;
  let card: { channel: string; ts: string };
  let seq = 0;
  const ts = () => `1810000000.${String(++seq).padStart(6, '0')}`;
  const dmToJane = () => h.stub.callsTo('chat.postMessage').filter((c) => c.args.channel === `D${JANE.id}`);

  beforeAll(async () => {
    h = await startSlack();
    await h.t.api('POST', '/tickets', { title: 'Laptop slow', description: 'Very slow', requester: { email: JANE.email } });
    await h.drain();
    card = (await h.ticket(1)).channelRefs.slack;
  });
  afterAll(async () => { await h?.close(); });
  afterEach(() => { expect(h.stub.violations).toEqual([]); });

  test('Start chat DMs the requester and records "chat started" in the activity log', async () => {
    await h.slack.blockAction(TOM.id, { action_id: 'ticket_more', type: 'overflow', selected_option: { value: '1|chat' } }, card);
    await eventually(async () => (await h.ticket(1)).channelRefs.slackDm, 'chat DM opened');
    await h.drain();
    expect(dmToJane()).toHaveLength(1);
    expect(dmToJane()[0]!.args.text).toContain('#1');
    const acts = (await h.t.api('GET', '/tickets/1/activity')).body.items.map((a: any) => a.action);
    expect(acts).toContain('chat_started');
  });

  test('the end user\'s DMs become chat entries, mirrored to the card thread', async () => {
    await h.slack.event({ type: 'message', channel: `D${JANE.id}`, channel_type: 'im', user: JANE.id, text: 'It takes 10 minutes to boot', ts: ts() });
    const e = await eventually(async () => (await h.ticket(1)).entries.find((x: any) => x.text === 'It takes 10 minutes to boot'), 'chat entry');
    expect(e).toMatchObject({ kind: 'chat', author: { kind: 'contact' } });
    await h.stub.waitFor((calls) => calls.some((c) => c.method === 'chat.postMessage' && c.args.thread_ts === card.ts && shown(c.json).includes('10 minutes to boot')), 'chat entry mirrored');
  });

  test('technicians\' public replies are relayed to the DM; internal notes never are', async () => {
    const before = dmToJane().length;
    await h.t.api('POST', '/tickets/1/entries', { kind: 'note', text: 'NOTE: she has the old image', author: { email: TOM.email } });
    await h.t.api('POST', '/tickets/1/entries', { kind: 'reply', text: 'Please restart once more', author: { email: TOM.email } });
    await h.drain();
    const relayed = dmToJane().slice(before);
    expect(relayed).toHaveLength(1);
    expect(relayed[0]!.args.text).toContain('Please restart once more');
    expect(shown(h.stub.calls.filter((c) => c.args.channel === `D${JANE.id}`))).not.toContain('old image');
    // the thread says where the public reply went
    expect(h.stub.callsTo('chat.postMessage').some((c) => c.args.thread_ts === card.ts && shown(c.json).includes('in Slack DM'))).toBe(true);
  });

  test('a DM with no open chat offers to open one; accepting creates a chat ticket', async () => {
    h.stub.reset();
    // Close the first chat so Jane has none open.
    await h.t.api('PATCH', '/tickets/1', { status: 'Closed' });
    const m = ts();
    await h.slack.event({ type: 'message', channel: `D${JANE.id}`, channel_type: 'im', user: JANE.id, text: 'My monitor flickers', ts: m });
    await h.stub.waitFor((c) => c.some((x) => x.method === 'chat.postMessage' && shown(x.json.blocks).includes('dm_open_chat')), 'offer');
    await h.slack.blockAction(JANE.id, { action_id: 'dm_open_chat', type: 'button', value: m }, { channel: `D${JANE.id}`, ts: ts() });
    const t = await eventually(async () => (await h.t.api('GET', '/tickets')).body.items.find((x: any) => x.title.includes('monitor')), 'chat ticket');
    expect(t.requester.email).toBe(JANE.email);
    const dm = await eventually(async () => (await h.ticket(t.number)).channelRefs.slackDm, 'chat DM remembered');
    expect(dm).toMatchObject({ channel: `D${JANE.id}` });
    // pressing it twice does not create a second ticket
    await h.slack.blockAction(JANE.id, { action_id: 'dm_open_chat', type: 'button', value: m }, { channel: `D${JANE.id}`, ts: ts() });
    await new Promise((r) => setTimeout(r, 200));
    expect((await h.t.api('GET', '/tickets')).body.items.filter((x: any) => x.title.includes('monitor'))).toHaveLength(1);
    await h.drain();
  });
});
