import { slackModule } from '../../src/slack/index.js';
import { startTestApp, type TestApp } from '../support/db.js';
import { SlackSigner, SlackWebApiStub } from './kit/index.js';
import { ANN, JANE, SECRET, TOM, describeWithContracts, eventually, shown } from './support.js';

/**
 * Several Slack workspaces installed through OAuth at once (and an Enterprise Grid org-wide
 * install): each installation has its own tickets channel and routing (settings.extra.slackWorkspaces),
 * and its cards, threads, DMs and App Home use that installation's token.
 */
describeWithContracts('slack: two workspaces installed at once', () => {
  let stub: SlackWebApiStub;
  let t: TestApp;
  beforeAll(async () => {
    stub = new SlackWebApiStub();
    await stub.start();
    for (const u of [TOM, ANN]) stub.addUser(u);
    t = await startTestApp({
      modules: [slackModule],
      env: {
        SLACK_SIGNING_SECRET: SECRET, SLACK_CLIENT_ID: '111.222', SLACK_CLIENT_SECRET: 'client-secret', SLACK_STATE_SECRET: 'state-secret-0123456789',
        SLACK_TEAM_ID: 'T0002', SLACK_TICKETS_CHANNEL: 'C2TICKETS', SLACK_API_URL: stub.url, SLACK_CARD_COALESCE_MS: '0', SLACK_UNDO_SECONDS: '0',
      },
    });
    await t.api('POST', '/people', { email: TOM.email, name: TOM.name, roles: ['technician'] });
    await t.api('POST', '/people', { email: ANN.email, name: ANN.name, roles: ['technician'] });
    for (const team of ['T0002', 'T0003', 'E0009']) {
      const start = await fetch(`${t.url}/slack/install`, { redirect: 'manual' });
      const cookie = start.headers.get('set-cookie')!.split(';')[0]!;
      const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
      const done = await fetch(`${t.url}/slack/oauth_redirect?code=code-${team}&state=${encodeURIComponent(state)}`, { headers: { cookie }, redirect: 'manual' });
      expect(done.status).toBe(200);
    }
    const res = await t.api('PUT', '/settings', {
      extra: {
        slackWorkspaces: [
          { team: 'T0003', channel: 'C3TICKETS', routes: [{ customer: 'Acme' }, { customer: 'Acme Labs', channel: 'C3LABS' }] },
          { team: 'E0009', channel: 'C9GRID', routes: [{ type: 'Change' }] },
        ],
      },
    });
    expect(res.status).toBe(200);
  });
  afterAll(async () => {
    await t?.close();
    await stub?.stop();
  });
  afterEach(() => { expect(stub.violations).toEqual([]); });

  const cardOf = async (n: number) => eventually(async () => (await t.api('GET', `/tickets/${n}`)).body.channelRefs.slack, `card of #${n}`);

  test('tickets created at the same time go to their own workspace\'s channel, each with that installation\'s token', async () => {
    stub.reset();
    const [home, acme] = await Promise.all([
      t.api('POST', '/tickets', { title: 'Home ticket', description: 'x', requester: { email: JANE.email } }),
      t.api('POST', '/tickets', { title: 'Acme ticket', description: 'x', requester: { email: JANE.email }, customer: 'Acme' }),
      t.api('POST', '/tickets', { title: 'Labs ticket', description: 'x', requester: { email: JANE.email }, customer: 'Acme Labs' }),
      t.api('POST', '/tickets', { title: 'Change ticket', description: 'x', requester: { email: JANE.email }, type: 'Change' }),
    ]);
    await t.app.ctx.deliveries.drain();
    const posted = (title: string) => stub.callsTo('chat.postMessage').find((c) => shown(c.args.text).includes(title) && !c.args.thread_ts)!;
    expect([posted('Home ticket').args.channel, posted('Home ticket').token]).toEqual(['C2TICKETS', 'xoxb-T0002']);
    expect([posted('Acme ticket').args.channel, posted('Acme ticket').token]).toEqual(['C3TICKETS', 'xoxb-T0003']);
    expect([posted('Labs ticket').args.channel, posted('Labs ticket').token]).toEqual(['C3LABS', 'xoxb-T0003']);
    expect([posted('Change ticket').args.channel, posted('Change ticket').token]).toEqual(['C9GRID', 'xoxb-E0009']);
    expect(await cardOf(acme.body.number)).toMatchObject({ channel: 'C3TICKETS', teamId: 'T0003' });
    expect((await cardOf(home.body.number)).teamId).toBeUndefined();
  });

  test('changes to a card in the second workspace update it and its thread with that workspace\'s token', async () => {
    const n = (await t.api('GET', '/tickets?customer=Acme')).body.items[0].number;
    const card = await cardOf(n);
    stub.reset();
    await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'On it', author: { email: TOM.email } });
    await t.api('PATCH', `/tickets/${n}`, { priority: 'High' });
    await t.app.ctx.deliveries.drain();
    const thread = stub.callsTo('chat.postMessage').filter((c) => c.args.thread_ts === card.ts);
    expect(thread.length).toBeGreaterThan(0);
    expect(thread.every((c) => c.token === 'xoxb-T0003' && c.args.channel === 'C3TICKETS')).toBe(true);
    const updates = stub.callsTo('chat.update').filter((c) => c.args.ts === card.ts);
    expect(updates.length).toBeGreaterThan(0);
    expect(updates.every((c) => c.token === 'xoxb-T0003')).toBe(true);
    expect(stub.calls.filter((c) => c.token === 'xoxb-T0002')).toHaveLength(0);
  });

  test('a technician in the second workspace works the card from its thread; the answer uses that workspace\'s token; App Home too', async () => {
    const n = (await t.api('GET', '/tickets?customer=Acme')).body.items[0].number;
    const card = await cardOf(n);
    await t.api('PUT', '/settings', { defaultReplyType: 'note' });
    stub.reset();
    const ws3 = new SlackSigner(t.url, SECRET, 'T0003');
    await ws3.event({ type: 'message', channel: 'C3TICKETS', channel_type: 'channel', user: ANN.id, text: 'checked the Acme relay', ts: '1830000000.000001', thread_ts: card.ts });
    await eventually(async () => (await t.api('GET', `/tickets/${n}`)).body.entries.some((e: any) => e.text === 'checked the Acme relay' && e.kind === 'note'), 'note from workspace 2');
    expect(stub.callsTo('users.info').every((c) => c.token === 'xoxb-T0003')).toBe(true);
    await ws3.event({ type: 'app_home_opened', user: ANN.id, channel: 'DANN', tab: 'home', event_ts: '1830000000.000002' });
    await stub.waitFor((c) => c.some((x) => x.method === 'views.publish'), 'home in workspace 2');
    expect(stub.callsTo('views.publish')[0]!.token).toBe('xoxb-T0003');
    await t.app.ctx.deliveries.drain();
    expect(stub.calls.filter((c) => c.token === 'xoxb-T0002')).toHaveLength(0);
    await t.api('PUT', '/settings', { defaultReplyType: 'reply' });
  });
});
