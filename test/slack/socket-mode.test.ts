import { slackModule } from '../../src/slack/index.js';
import { startTestApp, type TestApp } from '../support/db.js';
import { SlackWebApiStub, SocketModeStub } from './kit/index.js';
import { JANE, TOM, describeWithContracts, eventually } from './support.js';

describeWithContracts('slack Socket Mode', () => {
  let stub: SlackWebApiStub;
  let socket: SocketModeStub;
  let t: TestApp;
  beforeAll(async () => {
    stub = new SlackWebApiStub();
    await stub.start();
    stub.addUser(TOM);
    socket = new SocketModeStub();
    stub.socketUrl = await socket.start();
    t = await startTestApp({
      modules: [slackModule],
      env: { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SOCKET_MODE: 'true', SLACK_APP_TOKEN: 'xapp-test', SLACK_TICKETS_CHANNEL: 'C0TICKETS', SLACK_API_URL: stub.url },
    });
    await t.api('POST', '/people', { email: TOM.email, name: TOM.name, roles: ['technician'] });
  });
  afterAll(async () => {
    await t?.close();
    await socket?.stop();
    await stub?.stop();
  });
  afterEach(() => { expect(stub.violations).toEqual([]); });

  test('connects with the app token, takes events over the socket, acks each envelope, and serves no HTTP endpoint', async () => {
    await eventually(() => socket.connected > 0, 'socket connected');
    expect(stub.callsTo('apps.connections.open')[0]!.token).toBe('xapp-test');
    await t.api('POST', '/tickets', { title: 'Socket ticket', description: 'x', requester: { email: JANE.email } });
    const id = socket.send('events_api', {
      token: 'legacy', team_id: 'T0001', api_app_id: 'A0001', type: 'event_callback', event_id: 'EvSOCK1', event_time: 1,
      authorizations: [{ team_id: 'T0001', user_id: 'UBOT', is_bot: true }],
      event: { type: 'app_home_opened', user: TOM.id, channel: 'DTOM', tab: 'home', event_ts: '1.1' },
    });
    await eventually(() => socket.acks.some((a) => a.envelope_id === id), 'envelope acked');
    await stub.waitFor((c) => c.some((x) => x.method === 'views.publish' && JSON.stringify(x.json.view).includes('Socket ticket')), 'home published');
    const res = await fetch(`${t.url}/slack/events`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(404);
  });
});
