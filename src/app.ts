import type { Server } from 'node:http';
import express, { type Express } from 'express';
import type { Config } from './config/index.js';
import { createLogger, type Logger } from './logger.js';
import { apiRouter } from './http/api.js';
import { errorHandler } from './http/errors.js';
import { connectDatabase, databaseReachable, watchDatabaseLink, type Database } from './store/database.js';
import { NotifierRegistry } from './notify/notifier.js';
import { DeliveryWorker } from './notify/deliveries.js';
import { Dispatcher } from './tickets/dispatcher.js';
import { TicketService } from './tickets/service.js';
import { Scheduler } from './jobs/scheduler.js';
import { modules } from './modules.js';
import { DeskbridgeError } from './domain/errors.js';
import type { Composer } from './ai/ports.js';
import type { PersonRef } from './tickets/types.js';

/** Everything a part of the app may use. Adapters get the service, never the models directly. */
export interface AppContext {
  config: Config;
  logger: Logger;
  db: Database;
  service: TicketService;
  notifiers: NotifierRegistry;
  deliveries: DeliveryWorker;
  scheduler: Scheduler;
  /** Mount routes here. No global body parser: each router parses its own (Bolt needs raw bodies). */
  http: Express;
  /** Extra routes under /api/v1 (behind the API token and JSON parser). */
  api: express.Router;
  onStop(fn: () => Promise<void> | void): void;
  /**
   * At stop, after every intake stopped and the HTTP requests in flight were answered, before the
   * database closes: wait (up to `timeoutMs`) for work started after answering (e.g. Slack events
   * processed after the ack).
   */
  onDrain(fn: (timeoutMs: number) => Promise<unknown>): void;
  /** Links other parts put in messages; the portal replaces ticketUrlFor with a signed-in link. */
  links: Links;
  /** AI drafts. The AI module replaces this; read it at call time, not at setup. */
  ai: Composer;
}

export type { ComposeAction, ComposeInput, Composer } from './ai/ports.js';

export interface Links {
  /** A link that opens this ticket for this end user (used in every ticket email). */
  ticketUrlFor(personId: string, ticketNumber: number): Promise<string>;
}

/** A part of the app (email, Slack, Teams, portal, AI...). Registered in src/modules.ts. */
export interface DeskbridgeModule {
  name: string;
  setup(ctx: AppContext): Promise<void> | void;
  /** Called after every module is set up and the HTTP server listens. */
  start?(ctx: AppContext): Promise<void> | void;
}

export interface App {
  ctx: AppContext;
  listen(port?: number, host?: string): Promise<{ server: Server; port: number; url: string }>;
  stop(): Promise<void>;
}

export interface CreateAppOptions {
  mongoUri: string;
  dbName?: string;
  logger?: Logger;
  /** Modules to load (default: all of src/modules.ts). Tests pick what they need. */
  modules?: DeskbridgeModule[];
  /** Start agenda and the delivery worker (default: config.WORKERS). */
  workers?: boolean;
  /** Create the declared indexes at start (default true; see connectDatabase). */
  indexes?: boolean;
}

/** Resolves with `work`'s value, or with false after `ms`. */
async function within<T>(ms: number, work: Promise<T>): Promise<T | false> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

export async function createApp(config: Config, opts: CreateAppOptions): Promise<App> {
  const logger = opts.logger ?? createLogger(config.LOG_LEVEL);
  const db = await connectDatabase(opts.mongoUri, { dbName: opts.dbName, serverSelectionTimeoutMS: config.DB_SERVER_SELECTION_TIMEOUT_MS, indexes: opts.indexes, countCommands: config.DB_COMMAND_COUNTS });
  const unwatchDatabase = watchDatabaseLink(db, (level, fields, line) => logger[level](fields, line));
  const notifiers = new NotifierRegistry();
  const dispatcher = new Dispatcher(db.models, notifiers, logger);
  const service = new TicketService(db.models, dispatcher, logger);
  const deliveries = new DeliveryWorker(db.models, notifiers, logger);
  dispatcher.attachWorker(deliveries);
  const scheduler = new Scheduler(db.connection.db as never, logger, {
    processEvery: config.SCHEDULER_PROCESS_EVERY_MS, lockLifetimeMs: config.SCHEDULER_LOCK_LIFETIME_MS,
  });
  const http = express();
  http.disable('x-powered-by');
  http.set('trust proxy', 'loopback');
  const stops: (() => Promise<void> | void)[] = [];
  const drains: ((timeoutMs: number) => Promise<unknown>)[] = [];

  http.get('/healthz', async (_req, res) => {
    const up = await databaseReachable(db);
    if (!up) res.setHeader('Retry-After', '5');
    res.status(up ? 200 : 503).json({ status: up ? 'ok' : 'database unreachable' });
  });

  const api = express.Router();
  const ctx: AppContext = {
    config, logger, db, service, notifiers, deliveries, scheduler, http, api,
    onStop: (fn) => stops.push(fn),
    onDrain: (fn) => drains.push(fn),
    links: { ticketUrlFor: async (_personId, n) => `${config.publicUrl}/portal/tickets/${n}` },
    ai: {
      isConfigured: () => false,
      compose: async () => {
        throw new DeskbridgeError('UNAVAILABLE', 'AI drafts are not configured: set OPENAI_API_KEY (and OPENAI_BASE_URL / OPENAI_MODEL for other providers)');
      },
    },
  };

  // Outbox upkeep: finish any change a crash left half-dispatched, and retry due deliveries.
  scheduler.define('outbox:sweep', async () => {
    await dispatcher.sweep();
    deliveries.kick();
  });
  scheduler.every('30 seconds', 'outbox:sweep');
  scheduler.define('presence:expire', async () => {
    await service.expirePresence();
  });
  // Every minute: a card stops showing someone at most a minute after their presence ran out.
  scheduler.every('1 minute', 'presence:expire');
  // Tickets from before the search word lists get them; once none are left the job does nothing.
  let searchBackfilled = false;
  scheduler.define('search:backfill', async () => {
    if (searchBackfilled) return;
    searchBackfilled = (await service.backfillSearchWords(200)) === 0;
  });
  scheduler.every('1 minute', 'search:backfill');

  const mods = opts.modules ?? modules;
  for (const m of mods) await m.setup(ctx);
  http.use('/api/v1', apiRouter(service, { token: config.DESKBRIDGE_API_TOKEN, extend: (r) => r.use(api) }));
  http.use((_req, res) => {
    res.status(404).json({ error: { code: 'NOT_FOUND', message: 'no such route', fields: [] } });
  });
  http.use(errorHandler(logger));

  const runWorkers = opts.workers ?? config.WORKERS;
  let server: Server | null = null;
  let stopping: Promise<void> | null = null;

  /**
   * Stop in three steps, so no background operation meets a closed database: (1) take no new work
   * (HTTP server, SMTP and the other modules' intake, agenda, the delivery worker); (2) wait, up to
   * SHUTDOWN_GRACE_MS in all, for the work in flight (requests, job runs with their final save,
   * deliveries, work a module started after answering, e.g. Slack events after the ack); (3) close
   * the database. Work still running then is cut short; what it had claimed (jobs, deliveries,
   * Slack events) stays claimable by lease and is taken over.
   */
  const stopApp = async () => {
    const graceMs = config.SHUTDOWN_GRACE_MS;
    const deadline = Date.now() + graceMs;
    const left = () => Math.max(0, deadline - Date.now());
    const s = server;
    // (1) No new connections; idle keep-alive ones close now, busy ones when their answer is sent.
    const serverClosed = s ? new Promise<void>((resolve) => s.close(() => resolve())) : Promise.resolve();
    s?.closeIdleConnections?.();
    const schedulerStopped = scheduler.stop(graceMs).catch((err) => { logger.error({ err }, 'scheduler stop failed'); });
    const deliveriesStopped = deliveries.stop().catch((err) => { logger.error({ err }, 'delivery worker stop failed'); });
    // Module hooks: each stops its intake and waits for its own work in flight (newest first).
    for (const fn of stops.reverse()) {
      try {
        await within(left(), Promise.resolve().then(fn));
      } catch (err) {
        logger.error({ err }, 'stop hook failed');
      }
    }
    // (2) Requests, job runs and deliveries in flight. A kept-alive connection whose answer went out
    // after the first sweep is idle now: close those as they appear.
    const idleSweep = setInterval(() => s?.closeIdleConnections?.(), 100);
    const drained = await within(left(), Promise.all([serverClosed, schedulerStopped, deliveriesStopped]).then(() => true));
    clearInterval(idleSweep);
    // Work started after answering (no new requests can add to it now).
    const settled = drained && await within(left(), Promise.all(drains.map((fn) => fn(left()))).then(() => true));
    if (!settled) logger.warn({ graceMs }, 'stop: work still in flight after the grace period; closing anyway (claimed work is taken over after its lease)');
    s?.closeAllConnections?.();
    // (3)
    unwatchDatabase();
    await db.close();
  };

  return {
    ctx,
    async listen(port = config.PORT, host = config.HOST) {
      server = await new Promise<Server>((resolve, reject) => {
        const s = http.listen(port, host, () => resolve(s));
        s.once('error', reject);
      });
      // Keep idle connections longer than clients and proxies do (Node's 5 s default): otherwise a
      // client reusing a socket the server is just closing gets ECONNRESET (seen under load).
      server.keepAliveTimeout = 65_000;
      server.headersTimeout = 66_000;
      const addr = server.address();
      const actualPort = typeof addr === 'object' && addr ? addr.port : port;
      if (runWorkers) {
        await dispatcher.sweep();
        deliveries.start();
        await scheduler.start();
      }
      for (const m of mods) await m.start?.(ctx);
      return { server, port: actualPort, url: `http://127.0.0.1:${actualPort}` };
    },
    stop() {
      stopping ??= stopApp();
      return stopping;
    },
  };
}
