import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { freshDbName, testMongoUri } from '../support/db.js';
import { repoRoot, sleep, waitFor } from '../../bench/lib/service-process.js';

/*
 * kill -9 a worker in the middle of an agenda job, 20 times. Each round starts a worker that
 * schedules job i and picks up job i-1, which the previous worker was killed in the middle of
 * (its lock expires after the configured lock lifetime). At the end every job has finished exactly
 * once, its effect is there exactly once, and each killed job really was run again.
 */

const ROUNDS = 20;

interface Worker { child: ChildProcess; out: string[]; exited: Promise<unknown> }
function startWorker(uri: string, enqueue?: { key: string; index: number }): Worker {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'test/faults/support/job-worker.ts')], {
    cwd: repoRoot,
    env: { ...process.env, FAULT_DB_URI: uri, ...(enqueue ? { ENQUEUE: enqueue.key, ENQUEUE_INDEX: String(enqueue.index) } : {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out: string[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(...d.toString().split('\n').filter(Boolean)));
  child.stderr!.on('data', (d: Buffer) => out.push(...d.toString().split('\n').filter(Boolean)));
  return { child, out, exited: new Promise((r) => child.once('exit', r)) };
}

let mongo: MongoClient;
let current: Worker | null = null;
afterAll(async () => {
  current?.child.kill('SIGKILL');
  await mongo?.close();
});

test(`kill -9 a worker in the middle of an agenda job, ${ROUNDS} times: each job finishes once, its effect applied once`, async () => {
  const base = testMongoUri();
  const uri = `${base}${base.endsWith('/') ? '' : '/'}${freshDbName('jobs')}`;
  mongo = await MongoClient.connect(uri);
  const db = mongo.db();
  const finishedKeys = async () => new Set((await db.collection('fault_finished').find().toArray()).map((d) => d.key as string));
  let killedMidJob = 0;

  for (let i = 0; i < ROUNDS; i++) {
    const key = `job-${i}`;
    current = startWorker(uri, { key, index: i });
    const w = current;
    try {
      await waitFor(() => w.out.includes(`started ${key}`), 60_000, 20);
      if (i > 0) await waitFor(async () => (await finishedKeys()).has(`job-${i - 1}`), 30_000, 50);
    } catch (err) {
      throw new Error(`round ${i}: ${String(err)}\n${w.out.join('\n')}`);
    }
    await sleep(Math.random() * 300);
    if (!(await finishedKeys()).has(key)) killedMidJob++;
    w.child.kill('SIGKILL');
    await w.exited;
  }
  // One more worker finishes the last killed job; then it must not run anything again.
  current = startWorker(uri);
  const last = current;
  await waitFor(async () => (await finishedKeys()).has(`job-${ROUNDS - 1}`), 30_000, 50);
  await sleep(2500); // longer than the lock lifetime: a wrongly repeated job would show up
  last.child.kill('SIGTERM');
  await last.exited;

  const countBy = (xs: string[]) => xs.reduce<Record<string, number>>((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {});
  const finished = countBy((await db.collection('fault_finished').find().toArray()).map((d) => d.key as string));
  const runs = countBy((await db.collection('fault_runs').find().toArray()).map((d) => d.key as string));
  const effects = (await db.collection('fault_effects').find().toArray()).map((d) => String(d._id));
  const keys = Array.from({ length: ROUNDS }, (_, i) => `job-${i}`);

  expect(killedMidJob).toBe(ROUNDS);
  expect(keys.filter((k) => finished[k] !== 1)).toEqual([]);
  expect(effects.sort()).toEqual([...keys].sort());
  // Every job was killed in its first run, so each ran again after restart.
  expect(keys.filter((k) => (runs[k] ?? 0) < 2)).toEqual([]);
  console.log(`job-crash: ${ROUNDS} jobs killed mid-run; runs per job ${JSON.stringify(Object.values(runs).sort())}`);
  await db.dropDatabase();
}, 400_000);
