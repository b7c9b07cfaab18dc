import { NOTE_COLOR } from '../../src/slack/blocks/card.js';
import { slackRuntime } from '../../src/slack/index.js';
import { CHANNEL, JANE, TOM, describeWithContracts, shown, startSlack, type SlackHarness } from './support.js';

describeWithContracts('slack ticket card', () => {
  let h: SlackHarness;
  beforeAll(async () => { h = await startSlack({ SLACK_CARD_COALESCE_MS: '500' }); });
  afterAll(async () => { await h?.close(); });
  afterEach(() => { expect(h.stub.violations).toEqual([]); });

  test('a new ticket posts one card with every fact; its {channel, ts} is stored', async () => {
    await h.t.api('POST', '/tickets', { title: 'Printer on fire', description: 'It is burning', requester: { email: JANE.email, name: JANE.name } });
    await h.drain();
    const posts = h.stub.callsTo('chat.postMessage');
    expect(posts).toHaveLength(1);
    const card = posts[0]!;
    expect(card.args.channel).toBe(CHANNEL);
    const text = shown(card.json.blocks);
    for (const s of ['#1 Printer on fire', 'Jane Doe', 'Open', 'Medium', 'Incident', 'Unassigned', 'Unread', 'Time spent', 'It is burning']) expect(text).toContain(s);
    const t = await h.ticket(1);
    expect(t.channelRefs.slack).toMatchObject({ channel: CHANNEL, ts: posts[0]!.json.ts ?? expect.any(String) });
    // Replaying delivery does not post a second card.
    await slackRuntime.get(h.t.app.ctx)!.cards.syncCard(1);
    expect(h.stub.callsTo('chat.postMessage')).toHaveLength(1);
  });

  test('the thread mirrors replies and notes; notes have the yellow bar and lock; public says where it went', async () => {
    h.stub.reset();
    await h.t.api('POST', '/tickets/1/entries', { kind: 'reply', text: 'On my way', author: { email: TOM.email }, cc: ['boss@corp.example'] });
    await h.t.api('POST', '/tickets/1/entries', { kind: 'note', text: 'Secret: toner is fake', author: { email: TOM.email } });
    await h.drain();
    const ref = (await h.ticket(1)).channelRefs.slack;
    const thread = h.stub.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === ref.ts);
    expect(thread).toHaveLength(2);
    const [reply, note] = thread;
    expect(reply!.json.attachments[0].color).not.toBe(NOTE_COLOR);
    expect(shown(reply!.json.attachments)).toContain('emailed to jane@corp.example, boss@corp.example');
    expect(note!.json.attachments[0].color).toBe(NOTE_COLOR);
    expect(shown(note!.json.attachments)).toContain(':lock: *Internal note*');
    // the card shows the latest public excerpt, never the note
    const updates = h.stub.callsTo('chat.update');
    const last = shown(updates[updates.length - 1]!.json.blocks);
    expect(last).toContain('On my way');
    expect(last).not.toContain('toner is fake');
    // each mirrored entry remembers its ts; a replay posts nothing
    const t = await h.ticket(1);
    const mirrored = t.entries.filter((e: any) => e.external?.slackTs);
    expect(mirrored).toHaveLength(2);
    const cards = slackRuntime.get(h.t.app.ctx)!.cards;
    for (const e of mirrored) await cards.mirrorEntry(1, e.id);
    expect(h.stub.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === ref.ts)).toHaveLength(2);
  });

  test('a burst of changes to one ticket becomes one chat.update showing the end state', async () => {
    h.stub.reset();
    for (const p of ['High', 'Low', 'Critical', 'Low', 'High']) await h.t.api('PATCH', '/tickets/1', { priority: p });
    await h.t.api('PATCH', '/tickets/1', { status: 'Pending' });
    await h.drain();
    const updates = h.stub.callsTo('chat.update');
    console.info(`burst of 6 changes -> ${updates.length} chat.update`);
    expect(updates.length).toBeLessThanOrEqual(2);
    const last = shown(updates[updates.length - 1]!.json.blocks);
    expect(last).toContain('Pending');
    expect(last).toContain('High');
  });

  test('a 429 waits for Retry-After, then the update goes through', async () => {
    h.stub.reset();
    h.stub.rateLimitNext('chat.update', 1);
    await h.t.api('PATCH', '/tickets/1', { priority: 'Low' });
    // Whether the retry is waiting in the queue or already paced in process depends on timing;
    // what must hold is what Slack sees: the retry only after Retry-After, then the end state.
    await h.stub.waitFor((calls) => calls.filter((c) => c.method === 'chat.update').length >= 2, 'the retried chat.update', 10_000);
    await h.drain();
    const updates = h.stub.callsTo('chat.update');
    expect(updates).toHaveLength(2);
    expect(updates[1]!.at - updates[0]!.at).toBeGreaterThanOrEqual(1000);
    expect(shown(updates[1]!.json.blocks)).toContain('Low');
  });

  test('routing rules send a customer\'s cards to its own channel', async () => {
    h.stub.reset();
    await h.t.api('PUT', '/settings', { extra: { slackChannelRoutes: [{ customer: 'Acme', channel: 'C0ACME' }] } });
    await h.t.api('POST', '/tickets', { title: 'Acme printer', description: 'x', requester: { email: JANE.email }, customer: 'Acme' });
    await h.t.api('POST', '/tickets', { title: 'Other printer', description: 'x', requester: { email: JANE.email } });
    await h.drain();
    const posts = h.stub.callsTo('chat.postMessage').filter((c) => !c.args.thread_ts);
    expect(posts.find((c) => shown(c.json.blocks).includes('Acme printer'))!.args.channel).toBe('C0ACME');
    expect(posts.find((c) => shown(c.json.blocks).includes('Other printer'))!.args.channel).toBe(CHANNEL);
  });

  test('a reply goes into the thread before the card refresh, so it does not wait behind the card\'s coalescing pause', async () => {
    h.stub.reset();
    await h.t.api('POST', '/tickets/1/entries', { kind: 'reply', text: 'Thread first', author: { email: TOM.email } });
    await h.drain();
    const ref = (await h.ticket(1)).channelRefs.slack;
    const threadPost = h.stub.calls.findIndex((c) => c.method === 'chat.postMessage' && c.args.thread_ts === ref.ts);
    const cardUpdate = h.stub.calls.findIndex((c) => c.method === 'chat.update');
    expect(threadPost).toBeGreaterThanOrEqual(0);
    expect(cardUpdate).toBeGreaterThan(threadPost);
    // The pause is 500 ms here: the thread post came before it, not after.
    expect(h.stub.calls[cardUpdate]!.at - h.stub.calls[threadPost]!.at).toBeGreaterThanOrEqual(400);
  });
});
