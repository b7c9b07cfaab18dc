import { slackModule, slackRuntime } from '../../src/slack/index.js';
import { startTestApp, type TestApp } from '../support/db.js';
import { SlackWebApiStub } from './kit/index.js';
import { ANN, CHANNEL, JANE, SECRET, TOM, describeWithContracts } from './support.js';

/*
 * Direct messages (the chat greeting to an end user, technicians' public replies relayed to that
 * chat, and DMs to @mentioned technicians) survive a process that dies between chat.postMessage and
 * storing the message's ts, as the ticket card does: the intent is recorded first, the DM carries
 * message metadata naming it, and the retry finds it with conversations.history before posting.
 */
describeWithContracts('slack DMs: exactly once across a crash between the post and the write', () => {
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
  const cards = (t: TestApp) => slackRuntime.get(t.app.ctx)!.cards;
  const dmsTo = (userId: string) => stub.messages.filter((m) => m.channel === `D${userId}`);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  /**
   * Runs `work` on `t` and takes the database away at the moment Slack has the DM but has not
   * answered yet (the stand-in posts at once and holds its answer), as a kill -9 would: nothing after
   * the post is written. Then the instance is stopped.
   */
  async function dieAfterPost(t: TestApp, work: () => Promise<unknown>, userId: string): Promise<void> {
    const before = dmsTo(userId).length;
    const answer = stub.holdNextAnswer('chat.postMessage');
    const dying = work().then(() => 'stored', (err: Error) => `failed: ${err.message}`);
    while (dmsTo(userId).length === before) await sleep(10);
    await t.app.ctx.db.connection.close(true);
    answer();
    expect(await dying).toMatch(/^failed/);
    await t.app.stop().catch(() => undefined);
  }

  let n = 0;
  let tomId = '';
  beforeAll(async () => {
    stub = new SlackWebApiStub();
    await stub.start();
    for (const u of [TOM, JANE]) stub.addUser(u);
    dbName = `deskbridge_dmonce_${Date.now().toString(36)}`;
    const t = await start();
    tomId = (await t.api('POST', '/people', { email: TOM.email, name: TOM.name, roles: ['technician'] })).body.id;
    await t.api('POST', '/people', { email: ANN.email, name: ANN.name, roles: ['technician'] });
    await t.api('POST', '/people', { email: JANE.email, name: JANE.name, roles: ['contact'] });
    await t.app.ctx.service.people.linkIdentity(tomId, 'slack', { userId: TOM.id, teamId: null });
    n = (await t.api('POST', '/tickets', { title: 'VPN drops', description: 'every hour', requester: { email: JANE.email } })).body.number;
    await cards(t).syncCard(n);
  });
  afterAll(async () => {
    for (const a of apps) await a.close().catch(() => undefined);
    await stub.stop();
  });
  afterEach(() => { expect(stub.violations).toEqual([]); });

  test('the chat greeting: killed after the post, the restarted instance finds it and greets once', async () => {
    const a = apps.at(-1)!;
    await dieAfterPost(a, () => cards(a).openChat(n), JANE.id);
    expect(dmsTo(JANE.id)).toHaveLength(1);

    const b = await start();
    expect((await b.api('GET', `/tickets/${n}`)).body.channelRefs.slackDmGreeting).toMatchObject({ channel: `D${JANE.id}` });
    await cards(b).openChat(n);
    await cards(b).openChat(n);
    expect(dmsTo(JANE.id)).toHaveLength(1);
    expect(dmsTo(JANE.id)[0]!.metadata).toEqual({ event_type: 'deskbridge_dm', event_payload: { key: `chat:${n}` } });
    expect(stub.callsTo('conversations.history').at(-1)!.args).toMatchObject({ channel: `D${JANE.id}`, include_all_metadata: 'true' });
    expect((await b.api('GET', `/tickets/${n}`)).body.channelRefs.slackDm).toMatchObject({ channel: `D${JANE.id}`, userId: JANE.id });
  });

  test('a public reply relayed to the chat: killed after the post, relayed once; an internal note never, even with an intent left on it', async () => {
    const a = apps.at(-1)!;
    const reply = await a.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Please update the VPN client', author: { email: TOM.email } });
    expect(reply.status).toBe(201);
    const entryId = reply.body.entry.id as string;
    const relays = () => dmsTo(JANE.id).filter((m) => m.text.includes('update the VPN client'));
    await dieAfterPost(a, () => cards(a).relayToDm(n, entryId), JANE.id);
    expect(relays()).toHaveLength(1);

    const b = await start();
    await cards(b).relayToDm(n, entryId);
    await cards(b).relayToDm(n, entryId);
    expect(relays()).toHaveLength(1);
    const entry = (await b.api('GET', `/tickets/${n}`)).body.entries.find((e: { id: string }) => e.id === entryId);
    expect(entry.external).toMatchObject({ slackDmTs: relays()[0]!.ts });

    const note = await b.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: 'SECRET: she reuses passwords', author: { email: TOM.email } });
    const noteId = note.body.entry.id as string;
    // What a crashed attempt would leave behind, had one ever started for this entry.
    await b.app.ctx.service.setEntryExternal(noteId, 'slackDmPosting', { channel: `D${JANE.id}`, at: Date.now() });
    await cards(b).relayToDm(n, noteId);
    expect(JSON.stringify(dmsTo(JANE.id))).not.toContain('reuses passwords');
  });

  test('a DM to an @mentioned technician: killed after the post, the restarted instance finds it and sends none', async () => {
    const a = apps.at(-1)!;
    const note = await a.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: 'Tom, can you check the concentrator?', author: { email: ANN.email } });
    expect(note.status).toBe(201);
    const entryId = note.body.entry.id as string;
    await dieAfterPost(a, () => cards(a).notifyMentions(n, entryId, [tomId]), TOM.id);
    expect(dmsTo(TOM.id)).toHaveLength(1);

    const b = await start();
    await cards(b).notifyMentions(n, entryId, [tomId]);
    await cards(b).notifyMentions(n, entryId, [tomId]);
    expect(dmsTo(TOM.id)).toHaveLength(1);
    expect(dmsTo(TOM.id)[0]!.metadata).toEqual({ event_type: 'deskbridge_dm', event_payload: { key: `mention:${entryId}:${tomId}` } });
  });

  test('an intent whose post never reached Slack: the retry sends exactly one DM', async () => {
    const b = apps.at(-1)!;
    const reply = await b.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Try the new profile', author: { email: TOM.email } });
    const entryId = reply.body.entry.id as string;
    await b.app.ctx.service.setEntryExternal(entryId, 'slackDmPosting', { channel: `D${JANE.id}`, at: Date.now() });
    await cards(b).relayToDm(n, entryId);
    await cards(b).relayToDm(n, entryId);
    expect(dmsTo(JANE.id).filter((m) => m.text.includes('Try the new profile'))).toHaveLength(1);
  });
});
