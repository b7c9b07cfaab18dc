import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { createApp, type App } from '../../src/app.js';
import { AttachmentStore } from '../../src/attachments/store.js';
import { createLogger } from '../../src/logger.js';
import { canConnect, ensureLegacyFerretDbBinary, freePort, startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/store/embedded.js';
import { TEST_TOKEN, testConfig } from '../support/db.js';

/*
 * Upgrade from the old embedded engine: a DATA_DIR written by FerretDB 1 (SQLite) through the real
 * app — tickets, entries, a GridFS attachment — is refused by `serve` with the command to run, and
 * `deskbridge db migrate` copies everything into FerretDB 2/PostgreSQL, keeps the old files, and the
 * app then serves the same tickets from the new engine.
 */

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const cli = (args: string[], env: Record<string, string>) =>
  spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli.ts'), ...args], {
    cwd: root, env: { ...process.env, MONGODB_URI: '', LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
const run = (args: string[], env: Record<string, string>) => new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
  const child = cli(args, env);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  child.once('exit', (code) => resolve({ code, out, err }));
});

let dataRoot: string;
let legacy: ChildProcess | null = null;
let app: App | null = null;
let engine: EmbeddedDatabase | null = null;

beforeAll(() => {
  dataRoot = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-migrate-'));
  chmodSync(dataRoot, 0o711); // as root the embedded PostgreSQL runs as postgres and must pass through
});
afterAll(async () => {
  await app?.stop().catch(() => undefined);
  legacy?.kill('SIGKILL');
  await engine?.stop();
  rmSync(dataRoot, { recursive: true, force: true });
});

async function startApp(uri: string, indexes = true) {
  const started = await createApp(testConfig({ DATA_DIR: dataRoot }), { mongoUri: uri, dbName: 'deskbridge', logger: createLogger('silent'), modules: [], workers: false, indexes });
  const { url } = await started.listen(0, '127.0.0.1');
  const api = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${url}/api/v1${p}`, {
      method, headers: { authorization: `Bearer ${TEST_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  };
  return { app: started, api };
}

test('an old FerretDB 1 DATA_DIR: serve refuses and names the command, db migrate copies tickets, entries and attachments and keeps the old files', async () => {
  // 1. Write data with the old engine, exactly as the previous release ran it.
  const dbDir = path.join(dataRoot, 'db');
  mkdirSync(path.join(dbDir, 'sqlite'), { recursive: true });
  const port = await freePort();
  legacy = spawn(await ensureLegacyFerretDbBinary(), [
    '--handler=sqlite', `--sqlite-url=file:${path.join(dbDir, 'sqlite')}/`, `--listen-addr=127.0.0.1:${port}`,
    `--state-dir=${dbDir}`, '--telemetry=disable', '--debug-addr=-', '--log-level=ERROR',
  ], { stdio: 'ignore' });
  while (!(await canConnect(port))) await new Promise((r) => setTimeout(r, 50));
  const legacyUri = `mongodb://127.0.0.1:${port}/`;
  // The old release declared no text indexes, which FerretDB 1 cannot build.
  const old = await startApp(legacyUri, false);
  app = old.app;
  await app.ctx.service.people.register({ email: 'tech@corp.example', name: 'Tess', roles: ['technician'] });
  const numbers: number[] = [];
  for (let i = 1; i <= 3; i++) {
    const t = await old.api('POST', '/tickets', { title: `Printer ${i} jams`, description: `floor ${i}`, requester: { email: `user${i}@corp.example` } });
    expect(t.status).toBe(201);
    numbers.push(t.body.number);
    for (const kind of ['reply', 'note'] as const) {
      const e = await old.api('POST', `/tickets/${t.body.number}/entries`, { kind, text: `${kind} on ${i}`, author: { email: 'tech@corp.example' } });
      expect(e.status).toBe(201);
    }
  }
  const before = await old.api('GET', `/tickets/${numbers[1]}/activity`);
  const bytes = randomBytes(600 * 1024); // three GridFS chunks
  const client = new MongoClient(legacyUri);
  const ref = await new AttachmentStore(client.db('deskbridge')).put(bytes, { filename: 'scan.pdf', contentType: 'application/pdf' });
  await client.close();
  await app.stop();
  app = null;
  await new Promise<void>((resolve) => { legacy!.once('exit', () => resolve()); legacy!.kill('SIGTERM'); });
  legacy = null;
  const sqliteFiles = readdirSync(path.join(dbDir, 'sqlite')).filter((f) => f.endsWith('.sqlite'));
  expect(sqliteFiles).toContain('deskbridge.sqlite');

  // 2. The new release refuses to start on it and says what to run.
  const env = { DATA_DIR: dataRoot, PORT: String(await freePort()), HOST: '127.0.0.1', INBOUND_SMTP_PORT: '0', DESKBRIDGE_API_TOKEN: TEST_TOKEN };
  const refused = await run(['serve'], env);
  expect(refused.code).toBe(1);
  expect(refused.err).toMatch(/old embedded engine.*deskbridge db migrate/s);

  // 3. Migrate, with its progress on stderr.
  const migrated = await run(['db', 'migrate'], env);
  expect({ code: migrated.code, err: migrated.err }).toEqual({ code: 0, err: expect.stringMatching(/deskbridge\.tickets: 3 documents copied, count and checksum match/) });
  expect(migrated.err).toMatch(/deskbridge\.attachments\.chunks: 3 documents copied, count and checksum match/);
  expect(migrated.err).toMatch(/deskbridge\.attachments\.files: 1 documents copied/);
  const kept = readdirSync(dbDir).filter((f) => f.startsWith('sqlite.migrated-'));
  expect(kept).toHaveLength(1);
  expect(readdirSync(path.join(dbDir, kept[0]!))).toEqual(expect.arrayContaining(sqliteFiles));
  expect(existsSync(path.join(dbDir, 'sqlite'))).toBe(false);

  // 4. The app on the new engine serves the same tickets, activity and attachment bytes.
  engine = await startEmbeddedDatabase({ dataDir: dbDir });
  const now = await startApp(engine.uri);
  app = now.app;
  const list = await now.api('GET', '/tickets?limit=10');
  expect(list.body.items.map((t: { number: number }) => t.number).sort()).toEqual([...numbers].sort());
  const after = await now.api('GET', `/tickets/${numbers[1]}/activity`);
  expect(after.body).toEqual(before.body);
  const c2 = new MongoClient(engine.uri);
  const stored = await new AttachmentStore(c2.db('deskbridge')).get(ref.id);
  const chunks: Buffer[] = [];
  for await (const chunk of stored!.stream()) chunks.push(chunk as Buffer);
  await c2.close();
  expect(createHash('sha256').update(Buffer.concat(chunks)).digest('hex')).toBe(createHash('sha256').update(bytes).digest('hex'));
  // A new ticket continues the numbering instead of reusing a migrated number.
  const next = await now.api('POST', '/tickets', { title: 'After the upgrade', requester: { email: 'user1@corp.example' } });
  expect(next.body.number).toBeGreaterThan(Math.max(...numbers));
}, 240_000);
