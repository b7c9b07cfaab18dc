import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { freePort, startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/store/embedded.js';
import { ownDatabaseTest } from './support/external-db.js';
import { sleep, startServiceProcess, waitFor, type ServiceProcess } from '../../bench/lib/service-process.js';

/*
 * The database stops for 10 s while clients write through the API. The service must answer
 * 503 + Retry-After (never hang, never crash), /healthz must say so, and everything must come
 * back by itself; no write that got its 201 may be lost.
 * This test runs its own FerretDB on a fixed port so it can be restarted on the same port and
 * data; with MONGODB_URI set (an external MongoDB) it cannot stop that server and says so.
 */

const { maybe, prefix } = ownDatabaseTest('database-outage');

const OUTAGE_MS = 10_000;
const SELECTION_TIMEOUT_MS = 1500;
/** A request may wait for server selection a few times over (locks, reads, writes), never minutes. */
const MAX_ANSWER_MS = 12_000;

let dataDir: string;
let db: EmbeddedDatabase | null = null;
let svc: ServiceProcess | null = null;
/** Module-level so a failed test still stops its load loops (they would spin and grow forever). */
let stopLoad = false;

afterAll(async () => {
  stopLoad = true;
  await svc?.kill9();
  await db?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

maybe(`${prefix}database down for 10 s under API load: 503 + Retry-After, /healthz 503, recovers alone, no acknowledged write lost`, async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-outage-'));
  chmodSync(dataDir, 0o711); // as root the embedded PostgreSQL runs as postgres and must pass through
  const port = await freePort();
  db = await startEmbeddedDatabase({ dataDir: path.join(dataDir, 'db'), port });
  const uri = `${db.uri}outage`;
  svc = await startServiceProcess({
    env: {
      MONGODB_URI: uri, DATA_DIR: path.join(dataDir, 'data'),
      DB_SERVER_SELECTION_TIMEOUT_MS: String(SELECTION_TIMEOUT_MS), SCHEDULER_PROCESS_EVERY_MS: '500',
    },
  });
  const s = svc;

  type Outcome = { title: string; status: number; ms: number; retryAfter: string | null; error?: string; at: number };
  const outcomes: Outcome[] = [];
  let seq = 0;
  const client = async (id: number) => {
    while (!stopLoad) {
      const title = `outage load ${id}-${seq++}`;
      const at = Date.now();
      try {
        const r = await s.api('POST', '/tickets', { title, requester: { email: `load${id}@corp.example` } }, { timeoutMs: MAX_ANSWER_MS + 5000 });
        outcomes.push({ title, status: r.status, ms: r.ms, retryAfter: r.headers.get('retry-after'), at, ...(r.status >= 300 ? { error: JSON.stringify(r.body).slice(0, 300) } : {}) });
        if (r.status === 503) await sleep(100); // a polite client backs off a little
      } catch (err) {
        outcomes.push({ title, status: 0, ms: Date.now() - at, retryAfter: null, error: String(err), at });
      }
    }
  };
  const load = Promise.all([1, 2, 3].map(client));

  await waitFor(() => outcomes.filter((o) => o.status === 201).length >= 10, 30_000).catch((err: Error) => {
    throw new Error(`${err.message} before the outage: ${outcomes.length} answers (${JSON.stringify(countBy(outcomes.map((o) => o.status)))}), last: ${JSON.stringify(outcomes.slice(-3))}\nservice log:\n${s.logTail()}`);
  });
  // kill -9: FerretDB's graceful stop keeps serving open connections for a while, which would
  // shorten the outage; a killed server is the harder case anyway (acknowledged writes must be on disk).
  const stopped = db;
  const downAt = Date.now();
  stopped.process.kill('SIGKILL');
  await stopped.stop();

  const health = await waitFor(async () => {
    const r = await fetch(`${s.url}/healthz`, { signal: AbortSignal.timeout(5000) });
    return r.status === 503 ? r : null;
  }, 5000);
  expect(health!.headers.get('retry-after')).toBeTruthy();
  expect((await health!.json()).status).toBe('database unreachable');

  await sleep(Math.max(0, downAt + OUTAGE_MS - Date.now()));
  expect(s.alive()).toBe(true);
  db = await startEmbeddedDatabase({ dataDir: path.join(dataDir, 'db'), port });
  const upAt = Date.now();

  // Recovers by itself: health and writes come back without restarting the service.
  await waitFor(async () => (await fetch(`${s.url}/healthz`).then((r) => r.status, () => 0)) === 200, 45_000);
  await waitFor(() => outcomes.some((o) => o.status === 201 && o.at > upAt), 40_000);
  stopLoad = true;
  await load;
  expect(s.alive()).toBe(true);

  const during = outcomes.filter((o) => o.at >= downAt && o.at < upAt);
  const summary = `outcomes: ${outcomes.length}, during outage: ${during.length}, statuses: ${JSON.stringify(countBy(outcomes.map((o) => o.status)))}`;
  const firstError = outcomes.find((o) => o.status !== 201 && o.at >= downAt);
  console.log(`database-outage: ${summary}; first error ${firstError ? firstError.at - downAt : '-'} ms after the stop; slowest answer ${Math.round(Math.max(...outcomes.map((o) => o.ms)))} ms`);
  // Every answer is a 201 or a 503 with Retry-After; nothing else, no hang, no dropped connection.
  const wrong = outcomes.filter((o) => !(o.status === 201 || (o.status === 503 && o.retryAfter)));
  expect(wrong.slice(0, 5)).toEqual([]);
  expect(during.filter((o) => o.status === 503).length).toBeGreaterThan(0);
  expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(MAX_ANSWER_MS);

  // No acknowledged write is lost, none is duplicated.
  const mongo = await MongoClient.connect(uri);
  try {
    const acked = outcomes.filter((o) => o.status === 201).map((o) => o.title);
    const rows = await mongo.db().collection('tickets').find({ title: { $in: acked } }, { projection: { title: 1 } }).toArray();
    const counts = countBy(rows.map((r) => r.title as string));
    expect(acked.filter((t) => counts[t] !== 1)).toEqual([]);
  } finally {
    await mongo.close();
  }
}, 180_000);

function countBy<T extends string | number>(xs: T[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[String(x)] = (out[String(x)] ?? 0) + 1;
  return out;
}
