import { App, ExpressReceiver, LogLevel, SocketModeReceiver, type Logger as BoltLogger } from '@slack/bolt';
import { WebClient } from '@slack/web-api';
import type { Logger } from 'pino';
import type { AppContext, DeskbridgeModule } from '../app.js';
import { DeskbridgeError } from '../domain/errors.js';
import { registerListeners } from './listeners.js';
import { HeldReplies } from './held.js';
import { SlackIdentity } from './identity.js';
import { SlackCards, slackNotifier } from './notifier.js';
import { expireSlackRecords, slackModels } from './store.js';

function boltLogger(logger: Logger): BoltLogger {
  const l = logger.child({ part: 'slack' });
  return {
    debug: (...m) => l.debug(m.map(String).join(' ')),
    info: (...m) => l.info(m.map(String).join(' ')),
    warn: (...m) => l.warn(m.map(String).join(' ')),
    error: (...m) => l.error(m.map(String).join(' ')),
    setLevel: () => undefined,
    getLevel: () => LogLevel.INFO,
    setName: () => undefined,
  };
}

/** Everything the Slack listeners share. */
export interface SlackDeps {
  ctx: AppContext;
  bolt: App;
  client: WebClient;
  identity: SlackIdentity;
  cards: SlackCards;
  held: HeldReplies;
  models: ReturnType<typeof slackModels>;
}

/**
 * Slack: Bolt on the app's own HTTP server (POST /slack/events for events, commands and
 * interactivity), a notifier that keeps each ticket's card live, and the listeners that turn
 * Slack input into ticket-service calls.
 */
export const slackModule: DeskbridgeModule = {
  name: 'slack',
  setup(ctx) {
    const { SLACK_BOT_TOKEN: token, SLACK_SIGNING_SECRET: signingSecret, SLACK_SOCKET_MODE: socketMode, SLACK_APP_TOKEN: appToken } = ctx.config;
    if (!token || (socketMode ? !appToken : !signingSecret)) {
      ctx.logger.info(`slack: SLACK_BOT_TOKEN / ${socketMode ? 'SLACK_APP_TOKEN' : 'SLACK_SIGNING_SECRET'} not set; Slack is off`);
      return;
    }
    const clientOptions = { slackApiUrl: ctx.config.SLACK_API_URL, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } };
    const logger = boltLogger(ctx.logger);
    // HTTP: Bolt's router mounts on the shared express app before any JSON parser (it needs raw
    // bodies). Socket Mode: events arrive over a WebSocket; nothing is mounted.
    const receiver = socketMode
      ? new SocketModeReceiver({ appToken: appToken!, logger, installerOptions: { clientOptions: { slackApiUrl: ctx.config.SLACK_API_URL } } })
      : new ExpressReceiver({ signingSecret: signingSecret!, app: ctx.http, endpoints: '/slack/events', processBeforeResponse: false, logger });
    const bolt = new App({ token, receiver, clientOptions, logger, ignoreSelf: true });
    if (receiver instanceof SocketModeReceiver) {
      socketReceivers.set(ctx, receiver);
      ctx.onStop(async () => { await receiver.stop().catch(() => undefined); });
    }
    const client = new WebClient(token, { ...clientOptions, logger });
    const identity = new SlackIdentity(ctx.service, client);
    const cards = new SlackCards(ctx.service, client, identity, ctx.config.SLACK_TICKETS_CHANNEL, ctx.logger, ctx.config.SLACK_CARD_COALESCE_MS);
    const models = slackModels(ctx.db.connection);
    const held = new HeldReplies(models, ctx.service, ctx.logger, async (n) => { await cards.syncCard(n).catch(() => undefined); });
    ctx.notifiers.register(slackNotifier(cards, ctx.logger));
    const deps: SlackDeps = { ctx, bolt, client, identity, cards, held, models };
    registerListeners(deps);
    bolt.error(async (err) => {
      ctx.logger.error({ err: err.message, code: (err as DeskbridgeError).code }, 'slack listener failed');
    });
    ctx.scheduler.define('slack:held-sweep', async () => { await held.sweep(); });
    ctx.scheduler.every('1 minute', 'slack:held-sweep');
    // No TTL indexes on FerretDB: old event ids, finished held replies and offers expire by query.
    ctx.scheduler.define('slack:cleanup', async () => { await expireSlackRecords(models); });
    ctx.scheduler.every('1 hour', 'slack:cleanup');
    ctx.onStop(() => held.stop());
    slackRuntime.set(ctx, deps);
  },
  async start(ctx) {
    const deps = slackRuntime.get(ctx);
    if (deps) await deps.held.sweep();
    await socketReceivers.get(ctx)?.start();
  },
};

const socketReceivers = new WeakMap<AppContext, SocketModeReceiver>();

/** Per-app Slack state (tests start several apps in one process). */
export const slackRuntime = new WeakMap<AppContext, SlackDeps>();
