import { App, ExpressReceiver, LogLevel, SocketModeReceiver, type Logger as BoltLogger } from '@slack/bolt';
import { AsyncLocalStorage } from 'node:async_hooks';
import { WebClient } from '@slack/web-api';
import { MongoInstallationStore, SlackClients } from './installations.js';
import type { Logger } from 'pino';
import type { AppContext, DeskbridgeModule } from '../app.js';
import { DeskbridgeError } from '../domain/errors.js';
import { registerListeners } from './listeners.js';
import { HeldReplies } from './held.js';
import { SlackIdentity } from './identity.js';
import { SlackCards, slackNotifier } from './notifier.js';
import { expireSlackRecords, slackModels } from './store.js';
import { SlackEventLog } from './event-log.js';
import { slackEventsAck } from './fast-ack.js';

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

/** The bot scopes the code needs (the manifest declares exactly these; the install flow asks for them). */
export const SLACK_BOT_SCOPES = [
  'chat:write', 'commands', 'users:read', 'users:read.email', 'im:write', 'im:history', 'channels:history', 'groups:history', 'reactions:read',
] as const;

/** Everything the Slack listeners share. */
export interface SlackDeps {
  ctx: AppContext;
  bolt: App;
  client: WebClient;
  identity: SlackIdentity;
  cards: SlackCards;
  held: HeldReplies;
  models: ReturnType<typeof slackModels>;
  /** The recorded Events API deliveries, retried from the record after a failure. */
  events: SlackEventLog;
}

/**
 * Slack: Bolt on the app's own HTTP server (POST /slack/events for events, commands and
 * interactivity), a notifier that keeps each ticket's card live, and the listeners that turn
 * Slack input into ticket-service calls.
 */
export const slackModule: DeskbridgeModule = {
  name: 'slack',
  setup(ctx) {
    const c = ctx.config;
    const { SLACK_BOT_TOKEN: token, SLACK_SIGNING_SECRET: signingSecret, SLACK_SOCKET_MODE: socketMode, SLACK_APP_TOKEN: appToken } = c;
    const oauth = !socketMode && Boolean(c.SLACK_CLIENT_ID && c.SLACK_CLIENT_SECRET && c.SLACK_STATE_SECRET);
    const enabled = socketMode ? Boolean(token && appToken) : Boolean(signingSecret && (token || oauth));
    if (!enabled) {
      ctx.logger.info('slack: not configured (SLACK_BOT_TOKEN with SLACK_SIGNING_SECRET, or SLACK_SOCKET_MODE with SLACK_APP_TOKEN, or the OAuth trio); Slack is off');
      return;
    }
    const clientOptions = { slackApiUrl: c.SLACK_API_URL, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } };
    const logger = boltLogger(ctx.logger);
    const models = slackModels(ctx.db.connection);
    const installationStore = oauth ? new MongoInstallationStore(models) : null;
    const events = new SlackEventLog(models, ctx.logger);
    // Events API deliveries are verified, recorded and acknowledged here, before Bolt's router
    // (which authorizes before it acknowledges); everything else goes on to Bolt.
    if (!socketMode) ctx.http.post('/slack/events', ...slackEventsAck(signingSecret!, events));
    // HTTP: Bolt's router mounts on the shared express app before any JSON parser (it needs raw
    // bodies). Socket Mode: events arrive over a WebSocket; nothing is mounted.
    const receiver = socketMode
      ? new SocketModeReceiver({ appToken: appToken!, logger, installerOptions: { clientOptions: { slackApiUrl: c.SLACK_API_URL } } })
      : new ExpressReceiver({
          signingSecret: signingSecret!, app: ctx.http, endpoints: '/slack/events', processBeforeResponse: false, logger,
          ...(oauth ? {
            clientId: c.SLACK_CLIENT_ID, clientSecret: c.SLACK_CLIENT_SECRET, stateSecret: c.SLACK_STATE_SECRET,
            installationStore: installationStore!, scopes: [...SLACK_BOT_SCOPES],
            installerOptions: { directInstall: true, installPath: '/slack/install', redirectUriPath: '/slack/oauth_redirect', clientOptions: { slackApiUrl: c.SLACK_API_URL } },
          } : {}),
        });
    // With OAuth every request is authorized by its workspace's installation, so no fixed token.
    // No conversation store: nothing reads context.conversation, and Bolt's in-memory default
    // builds a rejected promise with a stack trace for every request.
    // ignoreSelf runs after the event log's middleware (listeners.ts): an event of our own bot is
    // then marked done, not left looking undelivered and retried.
    const bolt = new App({ ...(oauth ? {} : { token }), receiver, clientOptions, logger, ignoreSelf: false, convoStore: false });
    events.attach(bolt);
    if (receiver instanceof SocketModeReceiver) {
      socketReceivers.set(ctx, receiver);
      ctx.onStop(async () => { await receiver.stop().catch(() => undefined); });
    }
    const clients = new SlackClients(clientOptions, token, c.SLACK_TEAM_ID, installationStore);
    // Listeners answer in the workspace the request came from: Bolt's per-request client.
    const requestClient = new AsyncLocalStorage<WebClient>();
    if (oauth) bolt.use(async ({ client: reqClient, next }) => { await requestClient.run(reqClient, next); });
    const fallback = new WebClient(token, clientOptions);
    const client = new Proxy(fallback, { get: (_t, prop) => { const cl = requestClient.getStore() ?? fallback; return Reflect.get(cl, prop, cl); } });
    const identity = new SlackIdentity(ctx.service, client);
    const cards = new SlackCards(ctx.service, clients, identity, c.SLACK_TICKETS_CHANNEL, ctx.logger, c.SLACK_CARD_COALESCE_MS);
    const held = new HeldReplies(models, ctx.service, ctx.logger, async (n) => { await cards.syncCard(n).catch(() => undefined); });
    ctx.notifiers.register(slackNotifier(cards, ctx.logger));
    const deps: SlackDeps = { ctx, bolt, client, identity, cards, held, models, events };
    registerListeners(deps);
    bolt.error(async (err) => {
      ctx.logger.error({ err: err.message, code: (err as DeskbridgeError).code }, 'slack listener failed');
    });
    ctx.scheduler.define('slack:event-retry', async () => { await events.retryDue(); });
    ctx.scheduler.every('30 seconds', 'slack:event-retry');
    ctx.scheduler.define('slack:held-sweep', async () => { await held.sweep(); });
    ctx.scheduler.every('1 minute', 'slack:held-sweep');
    // No TTL indexes on FerretDB: old event ids, finished held replies and offers expire by query.
    ctx.scheduler.define('slack:cleanup', async () => { await expireSlackRecords(models); });
    ctx.scheduler.every('1 hour', 'slack:cleanup');
    ctx.onStop(() => held.stop());
    // Events acknowledged but still being recorded or processed finish before the database closes.
    ctx.onDrain(async (timeoutMs) => {
      if (!(await events.drain(timeoutMs))) ctx.logger.warn('slack: events still in flight at stop; their records are retried after the lease');
    });
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
