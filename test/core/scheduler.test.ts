import { createLogger } from '../../src/logger.js';
import { Scheduler } from '../../src/jobs/scheduler.js';
import { testDatabase } from '../support/db.js';

test('agenda runs jobs on the real database (FerretDB or MONGODB_URI)', async () => {
  const db = await testDatabase('agenda');
  const scheduler = new Scheduler(db.connection.db as never, createLogger('silent'), { processEvery: 100 });
  const seen: unknown[] = [];
  scheduler.define('probe', async (data) => { seen.push(data.n); });
  await scheduler.start();
  await scheduler.now('probe', { n: 1 });
  await scheduler.now('probe', { n: 2 });
  const deadline = Date.now() + 10_000;
  while (seen.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await scheduler.stop();
  expect(seen.sort()).toEqual([1, 2]);
  await db.connection.dropDatabase();
  await db.close();
});
