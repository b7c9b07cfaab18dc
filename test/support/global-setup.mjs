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
 */
export default async function globalSetup() {
  if (process.env.MONGODB_URI) {
    process.env.DESKBRIDGE_TEST_MONGODB_URI = process.env.MONGODB_URI;
    return;
  }
  const { startEmbeddedDatabase } = await tsImport('../../src/store/embedded.ts', import.meta.url);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-test-db-'));
  const db = await startEmbeddedDatabase({ dataDir });
  process.env.DESKBRIDGE_TEST_MONGODB_URI = db.uri;
  process.env.DESKBRIDGE_TEST_DATA_DIR = dataDir;
  globalThis.__deskbridgeDb = db;
}
