import { linear } from 'agenda';
import { automationsModule } from '../../src/automations/module.js';
import { automationModels } from '../../src/automations/store.js';
import { createLogger } from '../../src/logger.js';
import { Scheduler } from '../../src/jobs/scheduler.js';
import { freshDbName, startTestApp, testDatabase, type TestApp } from '../support/db.js';

const TECH = 'tom@it.example';
const env = { AUTOMATIONS_INTERVAL: '1 second' };

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolved tickets and a time rule that notes and closes them 0.36 s after they were resolved. */
async function seed(dbName: string, tickets: number): Promise<void> {
  const s = await startTestApp({ modules: [automationsModule], dbName });
  try {
    await s.api('POST', '/people', { email: TECH, name: 'Tom', roles: ['technician'] });
    const rule = await s.api('POST', '/automations', {
      name: 'Close quickly', trigger: { type: 'time.status', status: 'Resolved', hours: 0.0001 },
      actions: [{ type: 'addNote', text: 'closing-note' }, { type: 'setStatus', status: 'Closed' }],
    });
    expect(rule.status).toBe(201);
    const service = s.app.ctx.service;
    for (let i = 0; i < tickets; i++) {
      const t = await service.createTicket({ title: `T${i}`, description: 'x', requester: { email: 'jane@corp.example' }, source: 'api' });
      await service.updateTicket(t.number, { status: 'Resolved' }, { email: TECH });
    }
  } finally {
    await s.close();
  }
  await new Promise((r) => setTimeout(r, 400));
}

async function assertEachClosedOnce(app: TestApp, tickets: number): Promise<void> {
  const { Entry, Activity, Ticket } = app.app.ctx.db.models;
  expect(await Ticket.countDocuments({ status: 'Closed' })).toBe(tickets);
  for (let n = 1; n <= tickets; n++) {
    expect(await Entry.countDocuments({ ticketNumber: n, text: 'closing-note' })).toBe(1);
    expect(await Activity.countDocuments({ ticketNumber: n, action: 'automation_ran' })).toBe(1);
    expect(await Activity.countDocuments({ ticketNumber: n, action: 'field_changed', to: 'Closed' })).toBe(1);
  }
}

const closedCount = (app: TestApp) => app.app.ctx.db.models.Ticket.countDocuments({ status: 'Closed' });

test('a time-rule job stopped mid-run is finished by the next instance; each effect applied once', async () => {
  const dbName = freshDbName('restart');
  const tickets = 12;
  await seed(dbName, tickets);

  const a = await startTestApp({ modules: [automationsModule], dbName, env, workers: true });
  const runs = automationModels(a.app.ctx.db.connection).AutomationRun;
  await until(async () => (await runs.countDocuments({ status: 'done' })) >= 2, 15_000, 'the first instance to start the job');
  await a.close(); // graceful stop: the job ends between tickets
  const b = await startTestApp({ modules: [automationsModule], dbName, env, workers: true });
  try {
    const afterA = await closedCount(b);
    console.log(`restart: first instance closed ${afterA}/${tickets} before it stopped`);
    expect(afterA).toBeGreaterThanOrEqual(2);
    expect(afterA).toBeLessThan(tickets);
    await until(async () => (await closedCount(b)) === tickets, 60_000, 'the second instance to finish');
    await assertEachClosedOnce(b, tickets);
  } finally {
    await b.close();
  }
}, 90_000);

test('two instances running the job side by side apply each effect once', async () => {
  const dbName = freshDbName('twin');
  const tickets = 8;
  await seed(dbName, tickets);
  const [a, b] = await Promise.all([
    startTestApp({ modules: [automationsModule], dbName, env, workers: true }),
    startTestApp({ modules: [automationsModule], dbName, env, workers: true }),
  ]);
  try {
    await until(async () => (await closedCount(a)) === tickets, 60_000, 'all tickets closed');
    await new Promise((r) => setTimeout(r, 1200)); // let both run the job again
    await assertEachClosedOnce(a, tickets);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}, 90_000);

test('a failing job is retried with backoff and reported, not dropped', async () => {
  const db = await testDatabase('jobretry');
  const failures: string[] = [];
  const logger = createLogger('silent');
  const scheduler = new Scheduler(db.connection.db as never, logger, { processEvery: 100 });
  scheduler.agenda.on('fail', (err: Error) => failures.push(err.message));
  let attempts = 0;
  scheduler.define('flaky', async () => {
    attempts++;
    if (attempts < 3) throw new Error(`attempt ${attempts} failed`);
  }, { backoff: linear({ delay: 50, increment: 50, maxRetries: 5 }) });
  try {
    await scheduler.start();
    await scheduler.now('flaky');
    await until(async () => attempts >= 3, 3_000, 'the third attempt').catch((e) => { console.log('attempts', attempts, failures); throw e; });
    expect(failures).toEqual(['attempt 1 failed', 'attempt 2 failed']);
  } finally {
    await scheduler.stop();
    await db.connection.db!.dropDatabase();
    await db.close();
  }
});
