import { randomBytes } from 'node:crypto';
import { loadConfig, type Config } from '../../src/config/index.js';
import { createApp, type App, type DeskbridgeModule } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { connectDatabase, type Database } from '../../src/store/database.js';

/** The run's real database server (FerretDB started by global-setup, or MONGODB_URI). */
export function testMongoUri(): string {
  const uri = process.env.DESKBRIDGE_TEST_MONGODB_URI;
  if (!uri) throw new Error('no test database: run tests through jest (global-setup starts one)');
  return uri;
}

/** A fresh database name per call, so each test file (or test) starts empty. */
export const freshDbName = (prefix = 't') => `deskbridge_${prefix}_${randomBytes(5).toString('hex')}`;

export async function testDatabase(prefix?: string): Promise<Database> {
  return connectDatabase(testMongoUri(), { dbName: freshDbName(prefix) });
}

export const TEST_TOKEN = 'test-token-0123456789abcdef';

export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({ NODE_ENV: 'test', DESKBRIDGE_API_TOKEN: TEST_TOKEN, LOG_LEVEL: 'silent', DATA_DIR: process.env.DESKBRIDGE_TEST_DATA_DIR ?? '/tmp', ...overrides });
}

export interface TestApp {
  app: App;
  url: string;
  dbName: string;
  /** fetch against the API with the bearer token; JSON in and out. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** The real app (HTTP server on a free loopback port) on a fresh database. */
export async function startTestApp(opts: { modules?: DeskbridgeModule[]; env?: Record<string, string>; workers?: boolean; dbName?: string } = {}): Promise<TestApp> {
  const dbName = opts.dbName ?? freshDbName('app');
  const config = testConfig(opts.env);
  const app = await createApp(config, {
    mongoUri: testMongoUri(), dbName, logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'), modules: opts.modules ?? [], workers: opts.workers ?? false,
  });
  const { url } = await app.listen(0, '127.0.0.1');
  return {
    app, url, dbName,
    async api(method, path, body) {
      const res = await fetch(`${url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${TEST_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try { parsed = text ? JSON.parse(text) : null; } catch { /* keep text */ }
      return { status: res.status, body: parsed as any };
    },
    async close() {
      await app.stop();
    },
  };
}
