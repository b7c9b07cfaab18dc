import mongoose, { type Connection } from 'mongoose';
import { createModels, type Models } from './models.js';

export interface Database {
  connection: Connection;
  models: Models;
  close(): Promise<void>;
}

/**
 * Opens one connection and makes sure every index exists. `dbName` overrides the database named in
 * the URI (tests use one database per file).
 */
export async function connectDatabase(uri: string, opts: { dbName?: string; maxPoolSize?: number } = {}): Promise<Database> {
  const connection = mongoose.createConnection(uri, {
    dbName: opts.dbName,
    // FerretDB 1.x (SQLite) does not apply a filtered update atomically across connections: two
    // version-guarded updates of one ticket on two connections can both "match" and one is lost.
    // One connection per process serialises them (the service's version guard then holds).
    maxPoolSize: opts.maxPoolSize ?? 1,
    serverSelectionTimeoutMS: 10_000,
    autoIndex: false,
    autoCreate: false,
  });
  await connection.asPromise();
  const models = createModels(connection);
  for (const model of Object.values(models)) await model.createIndexes();
  return {
    connection,
    models,
    async close() {
      await connection.close();
    },
  };
}

export async function databaseReachable(db: Database): Promise<boolean> {
  try {
    await db.connection.db!.admin().command({ ping: 1 });
    return true;
  } catch {
    return false;
  }
}
