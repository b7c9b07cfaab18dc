import { slackModule } from '../../src/slack/index.js';
import { startTestApp, type TestApp } from '../support/db.js';
import { SlackSigner, SlackWebApiStub } from './kit/index.js';
import { CHANNEL, JANE, SECRET, TOM, describeWithContracts, eventually } from './support.js';

/*
 * A card button (block_actions) is acknowledged like an Events API delivery: verify, answer 200,
 * then run the listener. Bolt's own receiver authorized the request and ran its middleware before
 * the listener's ack(): right after a start that waits for auth.test (a slow Slack held the acks
 * past Slack's 3 s), and at 200 requests/s it put Bolt's pipeline in front of every action's ack.
 */
describeWithContracts('slack card buttons: the ack waits for nothing but verification', () => {
  const AUTH_TEST_DELAY_MS = 20_000;
  let t: TestApp;
  let stub: SlackWebApiStub;
  let slack: SlackSigner;
  let bootAt: number;

  beforeAll(async () => {
    stub = new SlackWebApiStub();
    await stub.start();
    stub.addUser(TOM);
    stub.addUser(JANE);
    stub.delayNext('auth.test', AUTH_TEST_DELAY_MS);
    bootAt = Date.now();
    t = await startTestApp({
      modules: [slackModule],
      env: { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: SECRET, SLACK_TICKETS_CHANNEL: CHANNEL, SLACK_API_URL: stub.url, SLACK_CARD_COALESCE_MS: '0' },
    });
    await t.api('POST', '/people', { email: TOM.email, name: TOM.name, roles: ['technician'] });
    await t.api('POST', '/tickets', { title: 'VPN', description: 'VPN drops', requester: { email: JANE.email } });
    slack = new SlackSigner(t.url, SECRET);
  });
  afterAll(async () => {
    await t?.close();
    await stub?.stop();
  });

  test('"Assign to me" gets its 200 while Bolt still waits for auth.test, and takes effect afterwards', async () => {
    expect(Date.now() - bootAt).toBeLessThan(AUTH_TEST_DELAY_MS - 5000);
    const res = await slack.blockAction(TOM.id, { action_id: 'ticket_assign_me', type: 'button', value: '1' }, { channel: CHANNEL, ts: '1700000000.000100' });
    expect(res.status).toBe(200);
    expect(res.ms).toBeLessThan(1500);
    expect((await t.api('GET', '/tickets/1')).body.assignee).toBeNull();
    await eventually(async () => (await t.api('GET', '/tickets/1')).body.assignee?.email === TOM.email, 'assigned to Tom after the ack', AUTH_TEST_DELAY_MS + 10_000);
    expect(stub.violations).toEqual([]);
  });

  test('a forged button press gets 401 and does nothing', async () => {
    const body = new URLSearchParams({ payload: JSON.stringify({ type: 'block_actions', user: { id: TOM.id }, actions: [{ action_id: 'ticket_status', value: '1|Solved' }] }) }).toString();
    const res = await slack.post(body, 'application/x-www-form-urlencoded', { signature: 'v0=deadbeef' });
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 300));
    expect((await t.api('GET', '/tickets/1')).body.status).not.toBe('Solved');
  });
});
