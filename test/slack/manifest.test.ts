import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import addFormatsModule from 'ajv-formats';
import YAML from 'yaml';
import { slackContractsDir } from './kit/index.js';
import { describeWithContracts } from './support.js';

const manifest = YAML.parse(readFileSync(path.resolve(process.cwd(), 'manifests/slack/manifest.yaml'), 'utf8'));
const src = ['index.ts', 'listeners.ts', 'notifier.ts', 'identity.ts'].map((f) => readFileSync(path.resolve(process.cwd(), 'src/slack', f), 'utf8')).join('\n');

describeWithContracts('slack app manifest', () => {
  test('validates against Slack\'s manifest schema (offline)', () => {
    const dir = path.join(slackContractsDir(), 'manifest-schema');
    type AjvLike = { addSchema(s: unknown, key: string): void; compile(s: unknown): ((d: unknown) => boolean) & { errors?: unknown[] | null } };
    const AjvClass = ((Ajv as unknown as { default?: unknown }).default ?? Ajv) as unknown as new (o: unknown) => AjvLike;
    const ajv = new AjvClass({ strict: false, allErrors: true });
    const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (a: unknown) => void;
    addFormats(ajv);
    for (const v of ['1.0.0', '2.0.0']) {
      const s = JSON.parse(readFileSync(path.join(dir, `manifest.schema.${v}.json`), 'utf8'));
      ajv.addSchema(s, `https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/manifest.schema.${v}.json`);
    }
    const validate = ajv.compile(JSON.parse(readFileSync(path.join(dir, 'manifest.schema.json'), 'utf8')));
    const ok = validate(manifest);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    // the schema check itself rejects a broken manifest
    expect(validate({ ...manifest, settings: { ...manifest.settings, socket_mode_enabled: 'yes' } })).toBe(false);
  });

  test('declares what the code uses and nothing more', () => {
    expect(manifest.features.slash_commands.map((c: any) => c.command)).toEqual(['/ticket']);
    expect(src).toContain(`bolt.command('/ticket'`);
    for (const s of manifest.features.shortcuts) expect(src).toContain(`'${s.callback_id}'`);
    const events: string[] = manifest.settings.event_subscriptions.bot_events;
    for (const e of ['app_home_opened', 'reaction_added']) expect(src).toContain(`bolt.event('${e}'`);
    expect(events.filter((e) => e.startsWith('message.'))).toEqual(['message.channels', 'message.groups', 'message.im']);
    expect(src).toContain(`bolt.event('message'`);
    for (const url of [manifest.settings.event_subscriptions.request_url, manifest.settings.interactivity.request_url, manifest.features.slash_commands[0].url]) {
      expect(new URL(url).pathname).toBe('/slack/events');
    }
    expect(manifest.oauth_config.redirect_urls.map((u: string) => new URL(u).pathname)).toEqual(['/slack/oauth_redirect']);
    // each scope is justified by a Web API method or event the code uses
    const uses: Record<string, RegExp> = {
      'chat:write': /chat\.(postMessage|update|postEphemeral)/, commands: /bolt\.(command|shortcut)/, 'users:read': /users\.info/,
      'users:read.email': /users\.lookupByEmail|profile\?\.email/, 'im:write': /conversations\.open/, 'im:history': /channel_type === 'im'/,
      'channels:history': /conversations\.(history|replies)/, 'groups:history': /conversations\.(history|replies)/, 'reactions:read': /reaction_added/,
    };
    for (const scope of manifest.oauth_config.scopes.bot) {
      expect([scope, uses[scope] ? uses[scope]!.test(src) : false]).toEqual([scope, true]);
    }
  });
});
