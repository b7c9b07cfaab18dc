import path from 'node:path';
import { MongoClient } from 'mongodb';
import type { CliCommand } from '../cli-commands.js';
import { loadConfig } from '../config/index.js';
import { DeskbridgeError } from '../domain/errors.js';
import { createLogger } from '../logger.js';
import { resolveDatabase } from '../runtime.js';
import { backupDatabase, restoreDatabase } from './backup.js';

/** Runs `fn` on the configured database (MONGODB_URI, or the embedded one in DATA_DIR). */
async function withDb<T>(fn: (db: import('mongodb').Db) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn', { toStderr: true });
  const resolved = await resolveDatabase(config, logger);
  const client = new MongoClient(resolved.uri, { serverSelectionTimeoutMS: config.DB_SERVER_SELECTION_TIMEOUT_MS });
  try {
    await client.connect();
    return await fn(client.db(resolved.dbName));
  } finally {
    await client.close();
    await resolved.embedded?.stop();
  }
}

const progress = (line: string) => process.stderr.write(`${line}\n`);

function fileArg(args: string[], usage: string): string {
  if (args.length !== 1 || !args[0] || args[0].startsWith('-')) throw new DeskbridgeError('VALIDATION_FAILED', `usage: ${usage}`);
  return path.resolve(args[0]);
}

/** `deskbridge backup FILE`: a consistent archive while the service runs (see src/store/backup.ts). */
export const backupCommand: CliCommand = {
  name: 'backup',
  usage: 'deskbridge backup FILE               archive every collection and file (service may run)',
  async run(args) {
    const file = fileArg(args, 'deskbridge backup FILE');
    const manifest = await withDb((db) => backupDatabase(db, file, progress));
    const docs = manifest.collections.reduce((n, c) => n + c.documents, 0);
    process.stdout.write(`backup written to ${file}: ${manifest.collections.length} collections, ${docs} documents\n`);
  },
};

/** `deskbridge restore FILE`: into an empty database only; the archive is verified before anything is written. */
export const restoreCommand: CliCommand = {
  name: 'restore',
  usage: 'deskbridge restore FILE              restore an archive into an empty database',
  async run(args) {
    const file = fileArg(args, 'deskbridge restore FILE');
    const manifest = await withDb((db) => restoreDatabase(db, file, progress));
    const docs = manifest.collections.reduce((n, c) => n + c.documents, 0);
    process.stdout.write(`restored ${file}: ${manifest.collections.length} collections, ${docs} documents\n`);
  },
};
