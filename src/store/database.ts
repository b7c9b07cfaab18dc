import mongoose, { type Connection } from 'mongoose';
import { createModels, type Models } from './models.js';

export interface Database {
  connection: Connection;
  /** The URI it was opened with (the mail parse workers open their own connection to it). */
  uri: string;
  models: Models;
  /** Whether the server is FerretDB (its explain output and error texts differ from MongoDB's). */
  ferret: boolean;
  /** Commands sent so far, by name (only with `countCommands`; null otherwise); `reset` starts again from zero. */
  commandCounts(reset?: boolean): Record<string, number> | null;
  close(): Promise<void>;
}

/**
 * Opens one connection and makes sure every index exists. `dbName` overrides the database named in
 * the URI (tests use one database per file).
 */
export async function connectDatabase(uri: string, opts: { dbName?: string; serverSelectionTimeoutMS?: number; maxPoolSize?: number; indexes?: boolean; countCommands?: boolean } = {}): Promise<Database> {
  const connection = mongoose.createConnection(uri, {
    dbName: opts.dbName,
    // While the database is down a call fails after this long (the API answers 503) instead of
    // waiting in mongoose's buffer; the driver reconnects by itself when the server is back.
    serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? 10_000,
    bufferCommands: false,
    // Parallel: a slow query must not hold up Slack acks or mail ingestion.
    maxPoolSize: opts.maxPoolSize ?? 20,
    autoIndex: false,
    autoCreate: false,
    // The driver's command monitoring, to count round trips per unit of work (benchmarks, tests).
    ...(opts.countCommands ? { monitorCommands: true } : {}),
  });
  let counts: Record<string, number> | null = null;
  if (opts.countCommands) {
    counts = {};
    connection.getClient().on('commandStarted', (e: { commandName: string }) => { counts![e.commandName] = (counts![e.commandName] ?? 0) + 1; });
  }
  await connection.asPromise();
  const models = createModels(connection);
  // `indexes: false` only for writing data the way an older release did (the migration test: FerretDB 1
  // has no text indexes).
  if (opts.indexes !== false) for (const model of Object.values(models)) await ensureIndexes(model);
  const ferret = await isFerretDb(connection.db as never);
  return {
    connection,
    uri,
    models,
    ferret,
    commandCounts(reset = false) {
      if (!counts) return null;
      const now = { ...counts };
      if (reset) for (const k of Object.keys(counts)) delete counts[k];
      return now;
    },
    async close() {
      try {
        await connection.close();
      } catch (err) {
        // Reads still running when the shutdown grace ends are interrupted by the close itself;
        // the driver can pass that interruption on and stop half-way (monitors and sockets left
        // open). Finish the close; the interrupted work was already given up.
        if (!/ClosedError$|NotConnectedError$|ExpiredSessionError$/.test((err as Error)?.name ?? '')) throw err;
        await connection.getClient().close();
      }
    },
  };
}

/**
 * Creates a model's indexes. When one exists under the same key with other options (an index that
 * became a TTL index), the model's indexes are synced instead: indexes it no longer declares are
 * dropped and the declared ones created.
 */
export async function ensureIndexes(model: { createIndexes(): Promise<unknown>; syncIndexes(): Promise<unknown> }): Promise<void> {
  try {
    await model.createIndexes();
  } catch (err) {
    const code = (err as { code?: number }).code;
    if (code !== 85 && code !== 86) throw err; // IndexOptionsConflict, IndexKeySpecsConflict
    await model.syncIndexes();
  }
}

/** A ping bounded by `timeoutMs`, so a health check answers quickly while the database is down. */
export async function databaseReachable(db: Database, timeoutMs = 1500): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
  try {
    return await Promise.race([
      db.connection.db!.admin().command({ ping: 1 }).then(() => true, () => false),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** FerretDB answers buildInfo with `ferretdb: {version}` (2.x) or `ferretdbVersion` (1.x); MongoDB with neither. */
export async function isFerretDb(db: { admin(): { command(cmd: object): Promise<Record<string, unknown>> } }): Promise<boolean> {
  try {
    const info = await db.admin().command({ buildInfo: 1 });
    return typeof info.ferretdbVersion === 'string' || typeof (info.ferretdb as { version?: unknown } | undefined)?.version === 'string';
  } catch {
    return false;
  }
}

type LinkLog = (level: 'info' | 'warn', fields: Record<string, unknown>, line: string) => void;

/**
 * Logs when the database becomes unreachable and when it is reachable again, and while it stays
 * unreachable, every `repeatMs`, what the driver's monitor last did (heartbeat started / failed /
 * succeeded): an operator sees the outage and its end, and a monitor that stopped checking shows
 * itself instead of looking like a database that never came back.
 */
export function watchDatabaseLink(db: Database, log: LinkLog, repeatMs = 10_000): () => void {
  const client = db.connection.getClient();
  const last = { started: 0, failed: 0, succeeded: 0, failure: '' };
  let downSince = 0;
  let timer: NodeJS.Timeout | undefined;
  const ago = (t: number) => (t ? `${Date.now() - t} ms ago` : 'never');
  const heartbeats = () => ({ heartbeatStarted: ago(last.started), heartbeatFailed: ago(last.failed), heartbeatSucceeded: ago(last.succeeded), lastFailure: last.failure || undefined });
  const onStarted = () => { last.started = Date.now(); };
  const onFailed = (e: { failure?: Error }) => { last.failed = Date.now(); last.failure = e.failure?.message ?? ''; };
  const onSucceeded = () => { last.succeeded = Date.now(); };
  const onChanged = (e: { newDescription: { type: string; error?: { message?: string } | null } }) => {
    const unknown = e.newDescription.type === 'Unknown';
    if (unknown && !downSince) {
      downSince = Date.now();
      log('warn', { error: e.newDescription.error?.message }, 'database unreachable; calls answer "temporarily unavailable" until it is back');
      timer = setInterval(() => log('warn', { downMs: Date.now() - downSince, ...heartbeats() }, 'database still unreachable'), repeatMs);
      timer.unref();
    } else if (!unknown && downSince) {
      log('info', { downMs: Date.now() - downSince }, 'database reachable again');
      downSince = 0;
      clearInterval(timer);
    }
  };
  client.on('serverHeartbeatStarted', onStarted);
  client.on('serverHeartbeatFailed', onFailed);
  client.on('serverHeartbeatSucceeded', onSucceeded);
  client.on('serverDescriptionChanged', onChanged as never);
  return () => {
    clearInterval(timer);
    client.off('serverHeartbeatStarted', onStarted);
    client.off('serverHeartbeatFailed', onFailed);
    client.off('serverHeartbeatSucceeded', onSucceeded);
    client.off('serverDescriptionChanged', onChanged as never);
  };
}
