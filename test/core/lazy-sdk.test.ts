import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/*
 * A channel that is not configured or not used costs no memory for its SDK (issue 16, RSS row):
 * without Slack settings the service never loads Slack's SDK, and the Adaptive Card templating
 * library is loaded at the first card, not with the service. Checked in a fresh process (this one
 * has loaded everything): both are CommonJS, so once loaded their files are in the require cache,
 * whoever imported them.
 */

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
let dir: string;
beforeAll(() => { dir = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-lazy-')); });
afterAll(() => { rmSync(dir, { recursive: true, force: true }); });

/** Sets up the app's Slack module with `env` in a fresh process; answers whether Bolt got loaded, before and after. */
function slackSdkLoaded(env: Record<string, string>) {
  return sdkLoaded('slack', '/node_modules/@slack/bolt/', env);
}

/** The same for a module and the package folder of its SDK. */
function sdkLoaded(moduleName: string, sdkPath: string, env: Record<string, string>): { atImport: boolean; afterSetup: boolean; log: string[] } {
  const file = path.join(dir, `probe-${Math.random().toString(36).slice(2)}.mts`);
  writeFileSync(file, `
    import { createRequire } from 'node:module';
    const cache = createRequire(import.meta.url).cache;
    const bolt = () => Object.keys(cache).some((f) => f.includes(${JSON.stringify(sdkPath)}));
    const { modules } = await import(${JSON.stringify(path.join(root, 'src/modules.ts'))});
    const { loadConfig } = await import(${JSON.stringify(path.join(root, 'src/config/index.ts'))});
    const atImport = bolt();
    const log = [];
    const slack = modules.find((m) => m.name === ${JSON.stringify(moduleName)});
    // Not configured, setup only reads the configuration and logs; configured, it needs the whole
    // app context and fails on this stub after loading the SDK, which is all this asks.
    await Promise.resolve(slack.setup({ config: loadConfig(), logger: { info: (m) => log.push(m), warn: (m) => log.push(m) } })).catch(() => undefined);
    process.stdout.write(JSON.stringify({ atImport, afterSetup: bolt(), log }));
  `);
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SLACK_') && !k.startsWith('TEAMS_')));
  const out = execFileSync(process.execPath, ['--import', 'tsx', file], { cwd: root, env: { ...clean, ...env }, encoding: 'utf8' });
  return JSON.parse(out);
}

test('the Adaptive Card templating library is not loaded with the app, only when the first card is expanded', () => {
  const file = path.join(dir, 'probe-cards.mts');
  writeFileSync(file, `
    import { createRequire } from 'node:module';
    const cache = createRequire(import.meta.url).cache;
    const templating = () => Object.keys(cache).some((f) => f.includes('/node_modules/adaptivecards-templating/'));
    await import(${JSON.stringify(path.join(root, 'src/modules.ts'))});
    const { linesCard } = await import(${JSON.stringify(path.join(root, 'src/teams/cards.ts'))});
    const atImport = templating();
    const card = linesCard('Activity', ['one', 'two']);
    process.stdout.write(JSON.stringify({ atImport, afterCard: templating(), type: card.type, text: JSON.stringify(card).includes('two') }));
  `);
  const out = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8' }));
  expect(out).toEqual({ atImport: false, afterCard: true, type: 'AdaptiveCard', text: true });
}, 60_000);

test('without Slack settings the Slack SDK is never loaded; with them it is', () => {
  const off = slackSdkLoaded({});
  expect(off).toEqual({ atImport: false, afterSetup: false, log: [expect.stringMatching(/^slack: not configured/)] });
  const on = slackSdkLoaded({ SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: 'secret' });
  expect(on.atImport).toBe(false);
  expect(on.afterSetup).toBe(true);
}, 60_000);

test('with TEAMS_ENABLED=false Bot Framework\'s SDK is never loaded; by default it is, at setup', () => {
  const off = sdkLoaded('teams', '/node_modules/botbuilder/', { TEAMS_ENABLED: 'false' });
  expect(off).toEqual({ atImport: false, afterSetup: false, log: ['teams: off (TEAMS_ENABLED=false)'] });
  const on = sdkLoaded('teams', '/node_modules/botbuilder/', {});
  expect(on.atImport).toBe(false);
  expect(on.afterSetup).toBe(true);
}, 60_000);

