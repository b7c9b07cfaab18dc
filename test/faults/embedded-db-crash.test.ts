import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { ownDatabaseTest } from './support/external-db.js';
import { sleep, startServiceProcess, waitFor, type ServiceProcess } from '../../bench/lib/service-process.js';

/*
 * kill -9 of the embedded PostgreSQL postmaster, then of FerretDB, while clients write through
 * the API of a service that runs the embedded database itself (no MONGODB_URI). The service's
 * supervisor must restart each by itself; every answer is a 201 or a 503 (never a hang or a
 * dropped connection); every write that got its 201 is there afterwards, exactly once.
 */

const { maybe, prefix } = ownDatabaseTest('embedded-db-crash');
const WRITERS = 3;

let dataDir: string;
let svc: ServiceProcess | null = null;
let stopLoad = false;

afterAll(async () => {
  stopLoad = true;
  await svc?.stop().catch(() => svc?.kill9());
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Pid and port of the FerretDB whose state dir is under this DATA_DIR (found in /proc). */
function ferretDb(dbDir: string): { pid: number; port: number } | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmd: string[];
    try { cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0'); } catch { continue; }
    if (!cmd.includes(`--state-dir=${path.join(dbDir, 'ferretdb')}`)) continue;
    const listen = cmd.find((a) => a.startsWith('--listen-addr='));
    return { pid: Number(entry), port: Number(listen?.split(':').pop()) };
  }
  return null;
}
const postmasterPid = (dbDir: string) => Number(readFileSync(path.join(dbDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);

maybe(`${prefix}kill -9 of PostgreSQL and of FerretDB under write load: restarted by the service, every acknowledged write there once`, async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-dbcrash-'));
  chmodSync(dataDir, 0o711); // as root the embedded PostgreSQL runs as postgres and must pass through
  const dbDir = path.join(dataDir, 'db');
  svc = await startServiceProcess({ env: { DATA_DIR: dataDir, DB_SERVER_SELECTION_TIMEOUT_MS: '1500', SCHEDULER_PROCESS_EVERY_MS: '500' } });
  const s = svc;

  type Outcome = { title: string; status: number; at: number; error?: string };
  const outcomes: Outcome[] = [];
  let seq = 0;
  const writer = async (w: number) => {
    while (!stopLoad) {
      const title = `dbcrash ${w}-${seq++}`;
      const at = Date.now();
      try {
        const r = await s.api('POST', '/tickets', { title, requester: { email: `w${w}@corp.example` } }, { timeoutMs: 30_000 });
        outcomes.push({ title, status: r.status, at, ...(r.status !== 201 ? { error: JSON.stringify(r.body).slice(0, 200) } : {}) });
        if (r.status !== 201) await sleep(100);
      } catch (err) {
        outcomes.push({ title, status: 0, at, error: String(err).slice(0, 200) });
        await sleep(100);
      }
    }
  };
  const load = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  const acked = () => outcomes.filter((o) => o.status === 201).length;

  const kills: string[] = [];
  const explain = () => `writes: ${outcomes.length}, last: ${JSON.stringify(outcomes.slice(-3))}\nservice log:\n${s.logTail()}`;
  const until = (what: string, check: Parameters<typeof waitFor>[0], ms: number) =>
    waitFor(check, ms).catch((err: Error) => { throw new Error(`${what}: ${err.message}\n${explain()}`); });
  for (const component of ['postgres', 'ferretdb'] as const) {
    const before = acked();
    await until(`10 writes before killing ${component}`, () => acked() >= before + 10, 60_000);
    await until(`${component} running before its kill`, () => component === 'postgres' || ferretDb(dbDir) !== null, 30_000);
    const pid = component === 'postgres' ? postmasterPid(dbDir) : ferretDb(dbDir)!.pid;
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    // Back by itself: a write acknowledged after the kill, without restarting the service.
    await until(`a write after killing ${component}`, () => outcomes.some((o) => o.status === 201 && o.at > killedAt), 90_000);
    await until(`/healthz 200 after killing ${component}`, async () => (await fetch(`${s.url}/healthz`).then((r) => r.status, () => 0)) === 200, 30_000);
    kills.push(`${component}: back after ${Date.now() - killedAt} ms`);
    expect(s.alive()).toBe(true);
  }
  stopLoad = true;
  await load;

  const statuses: Record<string, number> = {};
  for (const o of outcomes) statuses[o.status] = (statuses[o.status] ?? 0) + 1;
  // The errors behind any 500 first (the tail alone is crowded out by background retries).
  if (outcomes.some((o) => o.status === 500)) console.log(`unhandled errors:\n${s.unhandledErrors().join('\n')}\nservice log:\n${s.logTail()}`);
  console.log(`embedded-db-crash: ${outcomes.length} writes ${JSON.stringify(statuses)}; ${kills.join('; ')}`);
  // Only 201, or 503 with a reason while the database restarts: no 500, no dropped connection.
  expect(outcomes.filter((o) => o.status !== 201 && o.status !== 503).slice(0, 5)).toEqual([]);

  const { port } = ferretDb(dbDir)!;
  const mongo = await MongoClient.connect(`mongodb://127.0.0.1:${port}/`);
  try {
    const dbName = (await mongo.db().admin().listDatabases()).databases.map((d) => d.name).find((n) => n.startsWith('deskbridge'))!;
    const titles = (await mongo.db(dbName).collection('tickets').find({ title: /^dbcrash / }, { projection: { title: 1 } }).toArray()).map((d) => d.title as string);
    const count = new Map<string, number>();
    for (const tt of titles) count.set(tt, (count.get(tt) ?? 0) + 1);
    const lost = outcomes.filter((o) => o.status === 201 && !count.has(o.title)).map((o) => o.title);
    const twice = [...count].filter(([, n]) => n > 1).map(([tt]) => tt);
    expect({ lost: lost.slice(0, 5), twice: twice.slice(0, 5) }).toEqual({ lost: [], twice: [] });
  } finally {
    await mongo.close();
  }
}, 600_000);
