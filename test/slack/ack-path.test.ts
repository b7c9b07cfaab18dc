import { slackModule, slackRuntime } from '../../src/slack/index.js';
import { connectDatabase } from '../../src/store/database.js';
import { startTestApp, testMongoUri, type TestApp } from '../support/db.js';
import { SlackSigner, SlackWebApiStub } from './kit/index.js';
import { ANN, CHANNEL, JANE, SECRET, TOM, describeWithContracts, eventually } from './support.js';

/*
 * The Events API ack path: verify the signature, record the event, answer 200 — nothing else.
 * Whatever comes after (Bolt's authorization, our listeners, Slack Web API calls) must neither
 * delay the 200 nor lose the event: it is processed from its record, exactly once.
 * Payloads shaped like Slack's published `message` event sample (Events API, message.channels,
 * a reply in a thread), as in events.test.ts.
 */
describeWithContracts('slack events: the ack waits for nothing but verification', () => {
  const AUTH_TEST_DELAY_MS = 12_000;
  let t: TestApp;
  let stub: SlackWebApiStub;
  let slack: SlackSigner;
  let card: { channel: string; ts: string };
  let bootAt: number;

  beforeAll(async () => {
    stub = new SlackWebApiStub();
    await stub.start();
    for (const u of [TOM, ANN, JANE]) stub.addUser(u);
    // A slow Slack right after a start: Bolt's auth.test (its authorization of every request until
    // answered) takes seconds. Bolt's own receiver would hold the first acks until then.
    stub.delayNext('auth.test', AUTH_TEST_DELAY_MS);
    bootAt = Date.now();
    t = await startTestApp({
      modules: [slackModule],
      env: { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: SECRET, SLACK_TICKETS_CHANNEL: CHANNEL, SLACK_API_URL: stub.url, SLACK_UNDO_SECONDS: '1', SLACK_CARD_COALESCE_MS: '100' },
    });
    await t.api('POST', '/people', { email: TOM.email, name: TOM.name, roles: ['technician'] });
    await t.api('POST', '/people', { email: ANN.email, name: ANN.name, roles: ['technician'] });
    await t.api('POST', '/tickets', { title: 'VPN', description: 'VPN drops', requester: { email: JANE.email } });
    await t.app.ctx.deliveries.drain();
    card = (await t.api('GET', '/tickets/1')).body.channelRefs.slack;
    await t.api('PUT', '/settings', { defaultReplyType: 'note' });
    slack = new SlackSigner(t.url, SECRET);
  });
  afterAll(async () => {
    await t?.close();
    await stub?.stop();
  });

  const notes = async (text: string) => ((await t.api('GET', '/tickets/1')).body.entries as { text: string; kind: string }[]).filter((e) => e.text === text);
  const threadReply = (user: string, text: string, ts: string) => ({ type: 'message', channel: CHANNEL, channel_type: 'channel', user, text, ts, thread_ts: card.ts, event_ts: ts });

  test('the 200 comes before processing starts; the recorded event is processed afterwards, once', async () => {
    const deps = slackRuntime.get(t.app.ctx)!;
    // Still inside Slack's slow auth.test: processing cannot have started.
    expect(Date.now() - bootAt).toBeLessThan(AUTH_TEST_DELAY_MS - 4000);
    const ev = threadReply(TOM.id, 'rebooted the concentrator', '1800000101.000100');
    const res = await slack.event(ev, { eventId: 'EvSLOW0001' });
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(1500);
    // Recorded, not yet processed (auth.test has not answered).
    const rec = await eventually(() => deps.models.SlackEvent.findById('EvSLOW0001').lean(), 'recorded');
    expect(rec).toMatchObject({ state: 'processing', attempts: 1 });
    expect(await notes('rebooted the concentrator')).toHaveLength(0);
    // Slack's retry of the same delivery is acknowledged as fast and ignored.
    const again = await slack.event(ev, { eventId: 'EvSLOW0001', retryNum: 1 });
    expect(again.status).toBe(200);
    expect(again.ms).toBeLessThan(1500);

    await eventually(async () => (await notes('rebooted the concentrator')).length > 0, 'note added after the ack', AUTH_TEST_DELAY_MS + 10_000);
    expect(await deps.events.settled(10_000)).toBe(true);
    expect(await notes('rebooted the concentrator')).toHaveLength(1);
    expect(await deps.models.SlackEvent.findById('EvSLOW0001').lean()).toMatchObject({ state: 'done', attempts: 1 });
    expect(await deps.events.retryDue(new Date(Date.now() + 600_000))).toBe(0);
    expect(await notes('rebooted the concentrator')).toHaveLength(1);
  });

  test('a slow handler that then fails does not delay the 200; the event is processed again from its record, once', async () => {
    const deps = slackRuntime.get(t.app.ctx)!;
    // Ann is new to Slack identity: her message needs users.info, which is slow and then refused (429).
    stub.delayNext('users.info', 2000);
    stub.rateLimitNext('users.info', 1);
    const ev = threadReply(ANN.id, 'tunnel logs attached', '1800000102.000100');
    const res = await slack.event(ev, { eventId: 'EvSLOWFAIL1' });
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(1500);
    await eventually(async () => (await deps.models.SlackEvent.findById('EvSLOWFAIL1').lean())?.state === 'failed', 'failure recorded', 15_000);
    expect(await notes('tunnel logs attached')).toHaveLength(0);
    expect(await deps.events.retryDue(new Date(Date.now() + 5_000))).toBe(1);
    await eventually(async () => (await notes('tunnel logs attached')).length > 0, 'note added by the retry');
    expect(await deps.events.settled(10_000)).toBe(true);
    expect(await notes('tunnel logs attached')).toHaveLength(1);
    expect(await deps.models.SlackEvent.findById('EvSLOWFAIL1').lean()).toMatchObject({ state: 'done', attempts: 2 });
  });

  test('verification stays on the ack path: a wrong signature gets 401 and nothing is recorded or processed', async () => {
    const deps = slackRuntime.get(t.app.ctx)!;
    const forged = new SlackSigner(t.url, 'not-the-signing-secret');
    const res = await forged.event(threadReply(TOM.id, 'forged note', '1800000103.000100'), { eventId: 'EvFORGED01' });
    expect(res.status).toBe(401);
    expect(await deps.events.settled(5_000)).toBe(true);
    expect(await deps.models.SlackEvent.findById('EvFORGED01').lean()).toBeNull();
    expect(await notes('forged note')).toHaveLength(0);
  });

  test('an event of our own bot (ignored by Bolt) is recorded and marked done, not left for retries', async () => {
    const deps = slackRuntime.get(t.app.ctx)!;
    const ts = '1800000105.000100';
    const res = await slack.event({ type: 'message', subtype: 'bot_message', bot_id: 'BBOT', channel: CHANNEL, channel_type: 'channel', text: 'card mirror', ts, thread_ts: card.ts, event_ts: ts }, { eventId: 'EvOWNBOT01' });
    expect(res.status).toBe(200);
    await eventually(async () => (await deps.models.SlackEvent.findById('EvOWNBOT01').lean())?.state === 'done', 'own event marked done');
    expect(await deps.events.settled(5_000)).toBe(true);
    expect(await deps.models.SlackEvent.findById('EvOWNBOT01').lean()).toMatchObject({ state: 'done', attempts: 1 });
  });

  // Last: it stops the app.
  test('stopping the app right after an ack waits for that event: processed and marked done before the database closes', async () => {
    const BOB = { id: 'U0BOB', email: 'bob@it.example', name: 'Bob Tech' };
    stub.addUser(BOB);
    await t.api('POST', '/people', { email: BOB.email, name: BOB.name, roles: ['technician'] });
    // Bob is new to Slack identity: users.info is needed, and Slack is slow to answer it.
    stub.delayNext('users.info', 1500);
    const res = await slack.event(threadReply(BOB.id, 'swapped the dock', '1800000104.000100'), { eventId: 'EvSTOP0001' });
    expect(res.status).toBe(200);
    await t.app.stop();
    const db = await connectDatabase(testMongoUri(), { dbName: t.dbName, indexes: false });
    try {
      const native = db.connection.db!;
      expect(await native.collection('slack_events').findOne({ _id: 'EvSTOP0001' as never })).toMatchObject({ state: 'done' });
      expect(await native.collection('entries').countDocuments({ text: 'swapped the dock' })).toBe(1);
    } finally {
      await db.close();
    }
  });
});
