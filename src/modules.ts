import type { AppContext, DeskbridgeModule } from './app.js';
import { portalModule } from './portal/module.js';
import { emailModule } from './email/module.js';
import { aiModule } from './ai/module.js';
import { automationsModule } from './automations/module.js';
import { metricsModule } from './http/metrics.js';
import { consoleModule } from './console/module.js';
import { retentionModule } from './jobs/retention.js';

/**
 * Slack's SDK (Bolt, the web API client and what they pull in: ~20 MB of RSS in the built service)
 * is loaded only when Slack can be on: it needs SLACK_BOT_TOKEN (Socket Mode) or
 * SLACK_SIGNING_SECRET (HTTP); with neither, src/slack/index.ts would switch itself off anyway.
 */
const slackLoaded = new WeakMap<AppContext, DeskbridgeModule>();
const slackModule: DeskbridgeModule = {
  name: 'slack',
  async setup(ctx) {
    if (!ctx.config.SLACK_BOT_TOKEN && !ctx.config.SLACK_SIGNING_SECRET) {
      ctx.logger.info('slack: not configured (SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET, or SLACK_SOCKET_MODE with SLACK_APP_TOKEN, or the OAuth trio); Slack is off');
      return;
    }
    const m = (await import('./slack/index.js')).slackModule;
    slackLoaded.set(ctx, m);
    await m.setup(ctx);
  },
  async start(ctx) {
    await slackLoaded.get(ctx)?.start?.(ctx);
  },
};

/**
 * Teams is on by default (without an app id it serves the Bot Framework Emulator); TEAMS_ENABLED=false
 * turns it off, and then Bot Framework's SDK (botbuilder and its connector: ~40 MB of RSS) is never loaded.
 */
const teamsLoaded = new WeakMap<AppContext, DeskbridgeModule>();
const teamsModule: DeskbridgeModule = {
  name: 'teams',
  async setup(ctx) {
    if (!ctx.config.TEAMS_ENABLED) {
      ctx.logger.info('teams: off (TEAMS_ENABLED=false)');
      return;
    }
    const m = (await import('./teams/index.js')).teamsModule;
    teamsLoaded.set(ctx, m);
    await m.setup(ctx);
  },
  async start(ctx) {
    await teamsLoaded.get(ctx)?.start?.(ctx);
  },
};

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
