import YAML from 'yaml';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SLACK_BOT_SCOPES, slackModule, slackRuntime } from '../../src/slack/index.js';
import { startTestApp, type TestApp } from '../support/db.js';
import { SlackSigner, SlackWebApiStub } from './kit/index.js';
import { JANE, SECRET, TOM, describeWithContracts, eventually } from './support.js';

describeWithContracts('slack OAuth install flow (several workspaces)', () => {
  let stub: SlackWebApiStub;
  let t: TestApp;
  beforeAll(async () => {
    stub = new SlackWebApiStub();
    await stub.start();
    stub.addUser(TOM);
    t = await startTestApp({
      modules: [slackModule],
      env: {
        SLACK_SIGNING_SECRET: SECRET, SLACK_CLIENT_ID: '111.222', SLACK_CLIENT_SECRET: 'client-secret', SLACK_STATE_SECRET: 'state-secret-0123456789',
        SLACK_TEAM_ID: 'T0002', SLACK_TICKETS_CHANNEL: 'C0TICKETS', SLACK_API_URL: stub.url, SLACK_CARD_COALESCE_MS: '0',
      },
    });
    await t.api('POST', '/people', { email: TOM.email, name: TOM.name, roles: ['technician'] });
  });
  afterAll(async () => {
    await t?.close();
    await stub?.stop();
  });
  afterEach(() => { expect(stub.violations).toEqual([]); });

  const install = async (team: string) => {
    const start = await fetch(`${t.url}/slack/install`, { redirect: 'manual' });
    expect(start.status).toBe(302);
    const location = new URL(start.headers.get('location')!);
    const cookie = start.headers.get('set-cookie')!.split(';')[0]!;
    const state = location.searchParams.get('state')!;
    const done = await fetch(`${t.url}/slack/oauth_redirect?code=code-${team}&state=${encodeURIComponent(state)}`, { headers: { cookie }, redirect: 'manual' });
    return { location, done };
  };

  test('/slack/install asks for exactly the manifest\'s scopes; the redirect stores the installation in MongoDB', async () => {
    const { location, done } = await install('T0002');
    expect(location.searchParams.get('client_id')).toBe('111.222');
    const manifest = YAML.parse(readFileSync(path.resolve(process.cwd(), 'manifests/slack/manifest.yaml'), 'utf8'));
    expect(location.searchParams.get('scope')!.split(',').sort()).toEqual([...manifest.oauth_config.scopes.bot].sort());
    expect([...SLACK_BOT_SCOPES].sort()).toEqual([...manifest.oauth_config.scopes.bot].sort());
    expect(done.status).toBe(200);
    expect(stub.callsTo('oauth.v2.access')[0]!.args.code).toBe('code-T0002');
    const stored = await slackRuntime.get(t.app.ctx)!.models.Installation.findById('T:T0002').lean();
    expect(stored!.installation).toMatchObject({ team: { id: 'T0002' }, bot: { token: 'xoxb-T0002' } });
  });

  test('a redirect with a forged state is refused and stores nothing', async () => {
    const res = await fetch(`${t.url}/slack/oauth_redirect?code=code-T0666&state=forged`, { redirect: 'manual' });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(await slackRuntime.get(t.app.ctx)!.models.Installation.findById('T:T0666').lean()).toBeNull();
  });

  test('each workspace\'s requests run with its own installation; unknown workspaces get nothing; cards use SLACK_TEAM_ID\'s install', async () => {
    await install('T0003');
    stub.reset();
    const t3 = new SlackSigner(t.url, SECRET, 'T0003');
    await t3.event({ type: 'app_home_opened', user: TOM.id, channel: 'DTOM', tab: 'home', event_ts: '1.1' });
    await stub.waitFor((c) => c.some((x) => x.method === 'views.publish'), 'home for T0003');
    expect(stub.callsTo('views.publish')[0]!.token).toBe('xoxb-T0003');
    expect(stub.callsTo('users.info')[0]!.token).toBe('xoxb-T0003');

    stub.reset();
    const stranger = new SlackSigner(t.url, SECRET, 'T0999');
    await stranger.event({ type: 'app_home_opened', user: TOM.id, channel: 'DTOM', tab: 'home', event_ts: '1.2' });
    await new Promise((r) => setTimeout(r, 300));
    expect(stub.callsTo('views.publish')).toHaveLength(0);

    await t.api('POST', '/tickets', { title: 'Multi-workspace card', description: 'x', requester: { email: JANE.email } });
    await t.app.ctx.deliveries.drain();
    const card = stub.callsTo('chat.postMessage').find((c) => c.args.channel === 'C0TICKETS')!;
    expect(card.token).toBe('xoxb-T0002');
    await eventually(async () => (await t.api('GET', '/tickets/1')).body.channelRefs.slack, 'card ref stored');
  });
});
