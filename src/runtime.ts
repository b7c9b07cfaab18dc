import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from './config/index.js';
import { reportEmbeddedEvents, startEmbeddedDatabase, type EmbeddedDatabase } from './store/embedded.js';
import type { Logger } from './logger.js';

/**
 * The database to use: MONGODB_URI when set (start nothing), otherwise the embedded database
 * (FerretDB 2 + PostgreSQL/DocumentDB) with its data under DATA_DIR/db. Its restarts are logged.
 */
export async function resolveDatabase(config: Config, logger: Logger): Promise<{ uri: string; dbName?: string; embedded: EmbeddedDatabase | null }> {
  if (config.MONGODB_URI) return { uri: config.MONGODB_URI, embedded: null };
  const dataDir = path.resolve(config.DATA_DIR, 'db');
  logger.info({ dataDir }, 'MONGODB_URI not set: starting the embedded database (FerretDB 2, PostgreSQL/DocumentDB)');
  const t0 = Date.now();
  const embedded = await startEmbeddedDatabase({ dataDir, port: config.EMBEDDED_DB_PORT || undefined });
  logger.info({ ms: Date.now() - t0, uri: embedded.uri }, 'embedded database ready');
  reportEmbeddedEvents(embedded, (line, level) => logger[level]({ dataDir }, line));
  return { uri: embedded.uri, dbName: 'deskbridge', embedded };
}

/**
 * Without DESKBRIDGE_API_TOKEN the API would be unusable; generate one on first start and keep it
 * in DATA_DIR so it survives restarts, and say where it is.
 */
export function ensureApiToken(config: Config, logger: Logger): string {
  if (config.DESKBRIDGE_API_TOKEN) return config.DESKBRIDGE_API_TOKEN;
  mkdirSync(config.DATA_DIR, { recursive: true });
  const file = path.resolve(config.DATA_DIR, 'api-token');
  if (!existsSync(file)) writeFileSync(file, randomBytes(24).toString('base64url') + '\n', { mode: 0o600 });
  const token = readFileSync(file, 'utf8').trim();
  logger.warn({ file }, 'DESKBRIDGE_API_TOKEN not set: using the generated token stored in this file');
  return token;
}
