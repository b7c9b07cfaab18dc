import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tsImport } from 'tsx/esm/api';

/**
 * One real database for the whole run: MONGODB_URI when set (any MongoDB 6+), otherwise the
 * embedded engine (FerretDB 2 + PostgreSQL/DocumentDB) in a fresh temporary folder on a free port.
 * Each test file works in databases of its own (test/support/db.ts), so files run in parallel
 * without seeing each other's data. (Plain .mjs: jest loads global setup outside its module
 * mapper, so the TypeScript is loaded through tsx.)
 *
 * If PostgreSQL or FerretDB exits during the run, its last log lines are printed (so the cause is
 * visible in CI); the embedded supervisor restarts it on the same port and data, so one crash does
 * not fail every later file with ECONNREFUSED.
 */
export default async function globalSetup() {
  if (process.env.MONGODB_URI) {
    process.env.DESKBRIDGE_TEST_MONGODB_URI = process.env.MONGODB_URI;
    return;
  }
  const { startEmbeddedDatabase } = await tsImport('../../src/store/embedded.ts', import.meta.url);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-test-db-'));
  // As root, PostgreSQL runs as the user postgres, which must be able to pass through this folder.
  chmodSync(dataDir, 0o711);
  const tail = [];
  const onLog = (line) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  };
  const t0 = Date.now();
  const db = await startEmbeddedDatabase({ dataDir, onLog });
  if (process.env.CI) process.stderr.write(`\n[test database] embedded database ready in ${Date.now() - t0} ms\n`);
  db.events.on('down', (component, code, signal) => {
    process.stderr.write(`\n[test database] ${component} exited unexpectedly (code ${code}, signal ${signal}); last log lines:\n${tail.join('\n')}\n[test database] restarting it\n`);
  });
  db.events.on('restart-failed', (component, err) => {
    process.stderr.write(`[test database] ${component} restart failed (${err.message.split('\n')[0]}); retrying\n`);
  });
  db.events.on('restarted', (component, ms) => process.stderr.write(`[test database] ${component} restarted after ${ms} ms\n`));
  process.env.DESKBRIDGE_TEST_MONGODB_URI = db.uri;
  process.env.DESKBRIDGE_TEST_DATA_DIR = dataDir;
  globalThis.__deskbridgeDb = { db, dataDir };
}
