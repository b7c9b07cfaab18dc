import mongoose, { type Connection } from 'mongoose';
import { createModels, type Models } from './models.js';
import { DocumentLocks, isFerretDb } from './locks.js';

export interface Database {
  connection: Connection;
  models: Models;
  /** Per-document locks for read-modify-write (needed on FerretDB; see locks.ts). */
  locks: DocumentLocks;
  /** Whether the server is FerretDB (weaker atomicity than MongoDB). */
  ferret: boolean;
  close(): Promise<void>;
}

/**
 * Opens one connection and makes sure every index exists. `dbName` overrides the database named in
 * the URI (tests use one database per file).
 */
export async function connectDatabase(uri: string, opts: { dbName?: string; serverSelectionTimeoutMS?: number; maxPoolSize?: number } = {}): Promise<Database> {
  const connection = mongoose.createConnection(uri, {
    dbName: opts.dbName,
    // While the database is down a call fails after this long (the API answers 503) instead of
    // waiting in mongoose's buffer; the driver reconnects by itself when the server is back.
    serverSelectionTimeoutMS: opts.serverSelectionTimeoutMS ?? 10_000,
    bufferCommands: false,
    // FerretDB's non-atomic updates are handled by per-document locks (locks.ts), so the pool can
    // stay parallel: a slow query must not hold up Slack acks or mail ingestion.
    maxPoolSize: opts.maxPoolSize ?? 20,
    autoIndex: false,
    autoCreate: false,
  });
  await connection.asPromise();
  const models = createModels(connection);
  for (const model of Object.values(models)) await model.createIndexes();
  const ferret = await isFerretDb(connection.db as never);
  const locks = new DocumentLocks(ferret ? (connection.db!.collection('locks') as never) : null);
  return {
    connection,
    models,
    locks,
    ferret,
    async close() {
      await connection.close();
    },
  };
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
