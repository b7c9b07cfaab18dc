import type { AppContext, DeskbridgeModule } from './app.js';
import { portalModule } from './portal/module.js';
import { emailModule } from './email/module.js';
import { aiModule } from './ai/module.js';
import { automationsModule } from './automations/module.js';
import { metricsModule } from './http/metrics.js';
import { consoleModule } from './console/module.js';
import { retentionModule } from './jobs/retention.js';

/**
 * A module whose code (and its platform SDK) is imported only when `offReason` says it is on: a
 * channel that is not configured or switched off costs no memory for its SDK.
 */
function loadedWhenOn(name: string, offReason: (ctx: AppContext) => string | null, load: () => Promise<DeskbridgeModule>): DeskbridgeModule {
  const loaded = new WeakMap<AppContext, DeskbridgeModule>();
  return {
    name,
    async setup(ctx) {
      const off = offReason(ctx);
      if (off) return ctx.logger.info(off);
      const m = await load();
      loaded.set(ctx, m);
      await m.setup(ctx);
    },
    async start(ctx) {
      await loaded.get(ctx)?.start?.(ctx);
    },
  };
}

/**
 * Slack's SDK (Bolt, the web API client and what they pull in: ~20 MB of RSS in the built service)
 * needs SLACK_BOT_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP); with neither,
 * src/slack/index.ts would switch itself off anyway.
 */
const slackModule = loadedWhenOn('slack', (ctx) => (!ctx.config.SLACK_BOT_TOKEN && !ctx.config.SLACK_SIGNING_SECRET
  ? 'slack: not configured (SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET, or SLACK_SOCKET_MODE with SLACK_APP_TOKEN, or the OAuth trio); Slack is off'
  : null), async () => (await import('./slack/index.js')).slackModule);

/**
 * Teams is on by default (without an app id it serves the Bot Framework Emulator); TEAMS_ENABLED=false
 * turns it off, and then Bot Framework's SDK (botbuilder and its connector: ~40 MB of RSS) is never loaded.
 */
const teamsModule = loadedWhenOn('teams', (ctx) => (ctx.config.TEAMS_ENABLED ? null : 'teams: off (TEAMS_ENABLED=false)'),
  async () => (await import('./teams/index.js')).teamsModule);

/**
 * The parts of the app, each set up against the same AppContext. Add a module here; keep one
 * line per module so parallel work merges cleanly.
 */
export const modules: DeskbridgeModule[] = [
  portalModule,
  teamsModule,
  emailModule,
  aiModule,
  automationsModule,
  slackModule,
  metricsModule,
  consoleModule,
  retentionModule,
];
