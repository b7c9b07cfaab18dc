import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tsImport } from 'tsx/esm/api';

/**
 * One real database for the whole run: MONGODB_URI when set (any MongoDB 6+), otherwise FerretDB
 * in a fresh temporary folder on a free port. Each test file works in databases of its own
 * (test/support/db.ts), so files run in parallel without seeing each other's data.
 * (Plain .mjs: jest loads global setup outside its module mapper, so the TypeScript is loaded
 * through tsx.)
 *
 * If the shared FerretDB exits during the run, its last log lines are printed (so the cause is
 * visible in CI) and it is restarted on the same port and data, so one crash does not fail every
 * later file with ECONNREFUSED.
 */
export default async function globalSetup() {
  if (process.env.MONGODB_URI) {
    process.env.DESKBRIDGE_TEST_MONGODB_URI = process.env.MONGODB_URI;
    return;
  }
  const { startEmbeddedDatabase } = await tsImport('../../src/store/embedded.ts', import.meta.url);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-test-db-'));
  const tail = [];
  const onLog = (line) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  };
  const state = { stopping: false, db: null, dataDir };
  const start = async (port, dir = dataDir) => {
    const db = await startEmbeddedDatabase({ dataDir: dir, port, onLog });
    state.db = db;
    db.process.once('exit', (code, signal) => {
      if (state.stopping) return;
      process.stderr.write(`\n[test database] FerretDB exited unexpectedly (code ${code}, signal ${signal}); last log lines:\n${tail.join('\n')}\n[test database] restarting it on port ${db.port}\n`);
      start(db.port, dir).catch((err) => {
        // A crash can leave its SQLite files unusable; later test files use fresh databases
        // anyway, so start over in a new folder on the same port.
        process.stderr.write(`[test database] restart failed (${err.message.split('\n')[0]}); starting a fresh one\n`);
        const fresh = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-test-db-'));
        start(db.port, fresh).catch((e) => process.stderr.write(`[test database] fresh start failed: ${e.message}\n`));
      });
    });
    return db;
  };
  const db = await start(undefined);
  process.env.DESKBRIDGE_TEST_MONGODB_URI = db.uri;
  process.env.DESKBRIDGE_TEST_DATA_DIR = dataDir;
  globalThis.__deskbridgeDb = state;
}
