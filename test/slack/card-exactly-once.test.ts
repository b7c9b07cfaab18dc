import { POST_LEASE_MS } from '../../src/notify/post-intent.js';
import { slackModule, slackRuntime } from '../../src/slack/index.js';
import { startTestApp, type TestApp } from '../support/db.js';
import { SlackWebApiStub } from './kit/index.js';
import { CHANNEL, JANE, SECRET, describeWithContracts } from './support.js';

/*
 * A process that dies between chat.postMessage and storing the card's ts must not leave a second
 * card behind when the delivery is retried: the intent is recorded first, and the retry finds the
 * card already posted by its message metadata (conversations.history, include_all_metadata).
 */
describeWithContracts('slack card: exactly once across a crash between the post and the write', () => {
  let stub: SlackWebApiStub;
  let dbName: string;
  const apps: TestApp[] = [];
  const start = async () => {
    const t = await startTestApp({
      modules: [slackModule], dbName,
      env: { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: SECRET, SLACK_TICKETS_CHANNEL: CHANNEL, SLACK_API_URL: stub.url, SLACK_CARD_COALESCE_MS: '0' },
    });
    // Deliveries are driven by hand here: the in-process worker (woken by every write) stays out.
    await t.app.ctx.deliveries.stop();
    apps.push(t);
    return t;
  };
  beforeAll(async () => {
    stub = new SlackWebApiStub();
    await stub.start();
    dbName = `deskbridge_cardonce_${Date.now().toString(36)}`;
  });
  afterAll(async () => {
    for (const a of apps) await a.close().catch(() => undefined);
    await stub.stop();
  });
  afterEach(() => { expect(stub.violations).toEqual([]); });

  /** Cards that exist in the channel (calls refused by the stand-in, e.g. 429, posted nothing). */
  const cardsPosted = (n: number) => stub.messages.filter((m) => m.channel === CHANNEL && !m.thread_ts && (m.metadata as { event_payload?: { ticket?: number } })?.event_payload?.ticket === n);

  test('killed after the post, before the write: the restarted instance finds the card and posts none', async () => {
    const a = await start();
    const created = await a.api('POST', '/tickets', { title: 'Printer on fire', description: 'smoke', requester: { email: JANE.email } });
    const n = created.body.number as number;
    // The post reaches Slack, and the process is gone before it can store the ts (Slack's answer
    // is slow, so the test closes the database while the app still waits for it).
    stub.delayNextAnswer('chat.postMessage', 400);
    const dying = slackRuntime.get(a.app.ctx)!.cards.syncCard(n).then(() => 'stored', (err: Error) => `failed: ${err.message}`);
    while (cardsPosted(n).length === 0) await new Promise((r) => setTimeout(r, 10));
    // The process loses its database at that moment, as a kill -9 would (nothing after the post is written).
    await a.app.ctx.db.connection.close(true);
    expect(await dying).toMatch(/^failed/);
    await a.app.stop().catch(() => undefined);
    expect(cardsPosted(n)).toHaveLength(1);

    const b = await start();
    const stored = (await b.api('GET', `/tickets/${n}`)).body.channelRefs.slack;
    expect(stored).toMatchObject({ posting: true, channel: CHANNEL });
    // Within its lease the intent is the (possibly still running) attempt's own: nothing is posted.
    await expect(slackRuntime.get(b.app.ctx)!.cards.syncCard(n)).rejects.toThrow(/being posted/);
    expect(stub.callsTo('conversations.history')).toHaveLength(0);
    // The lease has run out (the attempt is dead):
    await b.app.ctx.db.connection.collection('tickets').updateOne({ number: n }, { $set: { 'channelRefs.slack.at': stored.at - POST_LEASE_MS } });
    const ref = await slackRuntime.get(b.app.ctx)!.cards.syncCard(n);
    expect(cardsPosted(n)).toHaveLength(1);
    const postedTs = stub.messages.find((m) => (m.metadata as { event_payload?: { ticket?: number } })?.event_payload?.ticket === n)!.ts;
    expect(ref).toMatchObject({ channel: CHANNEL, ts: postedTs });
    expect(stub.callsTo('conversations.history').at(-1)!.args).toMatchObject({ channel: CHANNEL, include_all_metadata: 'true' });
    // The recovered card is brought up to date by an update, not a second post.
    await slackRuntime.get(b.app.ctx)!.cards.syncCard(n);
    expect(cardsPosted(n)).toHaveLength(1);
    expect(stub.callsTo('chat.update').some((c) => c.args.ts === postedTs)).toBe(true);
  });

  test('an intent whose post never reached Slack: the retry posts exactly one card', async () => {
    const b = await start();
    const created = await b.api('POST', '/tickets', { title: 'No card yet', description: 'x', requester: { email: JANE.email } });
    const n = created.body.number as number;
    // What a process that died between recording the intent and the post leaves behind.
    await b.app.ctx.db.connection.collection('tickets').updateOne({ number: n }, { $set: { 'channelRefs.slack': { posting: true, channel: CHANNEL, at: Date.now() - POST_LEASE_MS } } });
    expect(cardsPosted(n)).toHaveLength(0);
    const ref = await slackRuntime.get(b.app.ctx)!.cards.syncCard(n);
    expect(cardsPosted(n)).toHaveLength(1);
    expect(ref?.ts).toBe(cardsPosted(n)[0]!.ts);
    expect((await b.api('GET', `/tickets/${n}`)).body.channelRefs.slack).toMatchObject({ channel: CHANNEL, ts: cardsPosted(n)[0]!.ts });
  });

  test('two instances sync a new ticket\'s card at once (deliveries of two events of it): one card; the other retries and finds it', async () => {
    const a = await start();
    const b = await start();
    const created = await a.api('POST', '/tickets', { title: 'Two at once', description: 'x', requester: { email: JANE.email } });
    const n = created.body.number as number;
    const answer = stub.holdNextAnswer('chat.postMessage');
    const first = slackRuntime.get(a.app.ctx)!.cards.syncCard(n);
    while (cardsPosted(n).length === 0) await new Promise((r) => setTimeout(r, 10));
    // b arrives while a waits for Slack's answer: it must not post a second card.
    await expect(slackRuntime.get(b.app.ctx)!.cards.syncCard(n)).rejects.toThrow(/being posted/);
    answer();
    const ref = await first;
    expect(await slackRuntime.get(b.app.ctx)!.cards.syncCard(n)).toMatchObject({ ts: ref!.ts });
    expect(cardsPosted(n)).toHaveLength(1);
  });

  test('a thread mirror of an entry: killed after the post, the restarted instance finds it by metadata (conversations.replies) and posts none', async () => {
    const a = await start();
    const created = await a.api('POST', '/tickets', { title: 'Thread once', description: 'x', requester: { email: JANE.email } });
    const n = created.body.number as number;
    const card = await slackRuntime.get(a.app.ctx)!.cards.syncCard(n);
    const reply = await a.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Mirrored once', author: { email: JANE.email } });
    expect(reply.status).toBe(201);
    const entryId = reply.body.entry.id as string;
    const mirrors = () => stub.messages.filter((m) => m.thread_ts === card!.ts && (m.metadata as { event_payload?: { entry?: string } })?.event_payload?.entry === entryId);
    stub.delayNextAnswer('chat.postMessage', 400);
    const dying = slackRuntime.get(a.app.ctx)!.cards.mirrorEntry(n, entryId).then(() => 'stored', (err: Error) => `failed: ${err.message}`);
    while (mirrors().length === 0) await new Promise((r) => setTimeout(r, 10));
    await a.app.ctx.db.connection.close(true);
    expect(await dying).toMatch(/^failed/);
    await a.app.stop().catch(() => undefined);

    const b = await start();
    await slackRuntime.get(b.app.ctx)!.cards.mirrorEntry(n, entryId);
    await slackRuntime.get(b.app.ctx)!.cards.mirrorEntry(n, entryId);
    expect(mirrors()).toHaveLength(1);
    const entry = (await b.api('GET', `/tickets/${n}`)).body.entries.find((e: { id: string }) => e.id === entryId);
    expect(entry.external).toMatchObject({ slackTs: mirrors()[0]!.ts });
  });
});
