import { Writable } from 'node:stream';
import pino from 'pino';
import { createApp, type App } from '../../src/app.js';
import { connectDatabase } from '../../src/store/database.js';
import { freshDbName, testConfig, testMongoUri } from '../support/db.js';

/*
 * Stopping the app must not close the database under work still in flight: it stops taking new
 * work, waits (up to SHUTDOWN_GRACE_MS) for what runs — a job run including agenda's final save
 * of the job — and only then closes the database. Work longer than the grace is cut short but
 * stays claimable (its lock expires and another run takes it over).
 */
const CLOSED = /client (was|is) closed|MongoClientClosed|MongoNotConnected|must be connected|Topology is closed/i;

async function startApp(env: Record<string, string>): Promise<{ app: App; dbName: string; logs: string[] }> {
  const logs: string[] = [];
  const sink = new Writable({ write(chunk, _enc, done) { logs.push(String(chunk)); done(); } });
  const dbName = freshDbName('stop');
  const app = await createApp(testConfig({ SCHEDULER_PROCESS_EVERY_MS: '200', ...env }), {
    mongoUri: testMongoUri(), dbName, logger: pino({ level: 'debug' }, sink), modules: [], workers: true,
  });
  return { app, dbName, logs };
}

async function jobDoc(dbName: string, name: string) {
  const db = await connectDatabase(testMongoUri(), { dbName, indexes: false });
  try {
    const native = db.connection.db!;
    return {
      job: await native.collection('jobs').findOne({ name }),
      probe: await native.collection('shutdown_probe').findOne({ _id: name as never }),
    };
  } finally {
    await db.close();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('app.stop drains in-flight work before closing the database', () => {
  const rejections: unknown[] = [];
  const onRejection = (err: unknown) => { rejections.push(err); };
  beforeAll(() => { process.on('unhandledRejection', onRejection); });
  afterAll(() => { process.off('unhandledRejection', onRejection); });

  test('a job running at stop completes, agenda stores its outcome, and nothing meets a closed client', async () => {
    const { app, dbName, logs } = await startApp({ SHUTDOWN_GRACE_MS: '15000' });
    let started = false;
    app.ctx.scheduler.define('test:slow-write', async () => {
      started = true;
      await sleep(800);
      await app.ctx.db.connection.db!.collection('shutdown_probe').insertOne({ _id: 'test:slow-write' as never, at: new Date() });
    });
    await app.listen(0, '127.0.0.1');
    await app.ctx.scheduler.now('test:slow-write');
    for (const until = Date.now() + 20_000; !started; await sleep(20)) if (Date.now() > until) throw new Error('job did not start');
    await app.stop();
    // Let anything the stop left running show itself.
    await sleep(300);
    const { job, probe } = await jobDoc(dbName, 'test:slow-write');
    expect(probe).not.toBeNull();
    // agenda's final save of the run happened before the database closed.
    expect(job?.lastFinishedAt).toBeInstanceOf(Date);
    expect(job?.lockedAt ?? null).toBeNull();
    expect(logs.filter((l) => CLOSED.test(l) || /job failed|scheduler error/.test(l))).toEqual([]);
    expect(rejections.filter((e) => CLOSED.test(String(e)))).toEqual([]);
  });

  test('a job longer than the grace period is cut short by a bounded stop and stays claimable', async () => {
    const { app, dbName } = await startApp({ SHUTDOWN_GRACE_MS: '500', SCHEDULER_LOCK_LIFETIME_MS: '60000' });
    let started = false;
    let finished = false;
    app.ctx.scheduler.define('test:too-slow', async () => {
      started = true;
      await sleep(3000);
      finished = true;
    });
    await app.listen(0, '127.0.0.1');
    await app.ctx.scheduler.now('test:too-slow');
    for (const until = Date.now() + 20_000; !started; await sleep(20)) if (Date.now() > until) throw new Error('job did not start');
    const t0 = Date.now();
    await app.stop();
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(finished).toBe(false);
    // Still locked by the stopped run: another instance takes it over once the lock expires.
    const { job } = await jobDoc(dbName, 'test:too-slow');
    expect(job?.lockedAt).toBeInstanceOf(Date);
    expect(job?.lastFinishedAt ?? null).toBeNull();
    for (const until = Date.now() + 10_000; !finished; await sleep(50)) if (Date.now() > until) break;
  });
});
