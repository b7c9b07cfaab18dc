/*
 * A worker process for test/faults/job-crash.test.ts: the core Scheduler (agenda) on the given
 * database with short poll and lock times, one job whose first run is long (so it can be killed in
 * the middle) and whose effect is applied idempotently, keyed by the job's key.
 * Env: FAULT_DB_URI, ENQUEUE (a key to schedule now), prints "started KEY" / "finished KEY".
 */
import { connectDatabase } from '../../../src/store/database.js';
import { Scheduler } from '../../../src/jobs/scheduler.js';
import { createLogger } from '../../../src/logger.js';
import { isDuplicateKey } from '../../../src/store/models.js';

const db = await connectDatabase(process.env.FAULT_DB_URI!);
const mdb = db.connection.db!;
const runs = mdb.collection('fault_runs');
const effects = mdb.collection<{ _id: string }>('fault_effects');
const finished = mdb.collection('fault_finished');
const scheduler = new Scheduler(mdb as never, createLogger('warn'), { processEvery: 100, lockLifetimeMs: 1500 });

const applyEffect = async (key: string) => {
  try {
    await effects.insertOne({ _id: key, pid: process.pid, at: new Date() } as never);
  } catch (err) {
    if (!isDuplicateKey(err)) throw err; // applied by an earlier, killed run
  }
};

scheduler.define('fault:apply', async (data) => {
  const key = String(data.key);
  const previousRuns = await runs.countDocuments({ key });
  await runs.insertOne({ key, pid: process.pid, at: new Date() });
  process.stdout.write(`started ${key}\n`);
  const effectFirst = Number(data.index) % 2 === 0;
  if (effectFirst) await applyEffect(key);
  // The first run holds long enough to be killed in the middle; a re-run is quick.
  await new Promise((r) => setTimeout(r, previousRuns === 0 ? 2500 : 50));
  if (!effectFirst) await applyEffect(key);
  await finished.insertOne({ key, pid: process.pid, at: new Date() });
  process.stdout.write(`finished ${key}\n`);
});

await scheduler.start();
if (process.env.ENQUEUE) {
  await scheduler.now('fault:apply', { key: process.env.ENQUEUE, index: Number(process.env.ENQUEUE_INDEX ?? 0) });
}
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void scheduler.stop().then(() => db.close()).then(() => process.exit(0));
});
