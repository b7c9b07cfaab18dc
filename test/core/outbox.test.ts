import { createLogger } from '../../src/logger.js';
import { NotifierRegistry, PermanentDeliveryError, type Notifier } from '../../src/notify/notifier.js';
import { DeliveryWorker } from '../../src/notify/deliveries.js';
import { Dispatcher } from '../../src/tickets/dispatcher.js';
import { TicketService } from '../../src/tickets/service.js';
import type { DomainEvent } from '../../src/tickets/types.js';
import type { Database } from '../../src/store/database.js';
import { testDatabase } from '../support/db.js';

const logger = createLogger('silent');
let db: Database;
beforeEach(async () => { db = await testDatabase('outbox'); });
afterEach(async () => { await db.connection.dropDatabase(); await db.close(); });

/** A dispatcher that "crashes" right after the ticket write: nothing pending gets materialised. */
class CrashingDispatcher extends Dispatcher {
  override async flush(): Promise<void> { /* process died here */ }
  override async applyPending(): Promise<void> { /* process died here */ }
}

test('a crash between the ticket write and its side writes loses nothing and duplicates nothing', async () => {
  const registry = new NotifierRegistry();
  const seen: string[] = [];
  registry.register({ channel: 'probe', wants: () => true, deliver: async (e) => { seen.push(e.type); } });
  const crashing = new TicketService(db.models, new CrashingDispatcher(db.models, registry, logger), logger);
  await crashing.people.register({ email: 'tom@it.example', roles: ['technician'] });
  const t = await crashing.createTicket({ title: 'x', description: 'first', requester: { email: 'jane@corp.example' }, source: 'api' });
  await crashing.addEntry(t.number, { kind: 'reply', text: 'second', author: { email: 'tom@it.example' }, source: 'api', status: 'Pending' });
  expect(await db.models.Entry.countDocuments()).toBe(0);
  expect((await db.models.Ticket.findOne({ number: t.number }).lean())!.pending.length).toBeGreaterThan(0);

  // After restart the sweep completes the half-done changes; running it twice (two instances, or
  // a second crash mid-sweep) must not duplicate anything.
  const dispatcher = new Dispatcher(db.models, registry, logger);
  const worker = new DeliveryWorker(db.models, registry, logger);
  dispatcher.attachWorker(worker);
  await Promise.all([dispatcher.sweep(), dispatcher.sweep()]);
  await dispatcher.sweep();
  await worker.drain();
  expect(await db.models.Entry.countDocuments()).toBe(2);
  expect(await db.models.Activity.countDocuments()).toBe(3); // created, reply_added, status changed
  expect(await db.models.Event.countDocuments()).toBe(3); // ticket.created, entry.added, ticket.updated
  expect(seen.sort()).toEqual(['entry.added', 'ticket.created', 'ticket.updated']);
  expect((await db.models.Ticket.findOne({ number: t.number }).lean())!.pending).toEqual([]);
  const svc = new TicketService(db.models, dispatcher, logger);
  const view = await svc.getTicket(t.number);
  expect(view.status).toBe('Pending');
  expect(view.entries.map((e) => e.text)).toEqual(['first', 'second']);
  await worker.stop();
});

test('concurrent changes to one ticket lose nothing', async () => {
  const registry = new NotifierRegistry();
  const svc = new TicketService(db.models, new Dispatcher(db.models, registry, logger), logger);
  await svc.people.register({ email: 'tom@it.example', roles: ['technician'] });
  const t = await svc.createTicket({ title: 'x', description: 'd', requester: { email: 'jane@corp.example' }, source: 'api' });
  await Promise.all([
    ...Array.from({ length: 10 }, (_, i) => svc.addEntry(t.number, { kind: 'note', text: `n${i}`, author: { email: 'tom@it.example' }, source: 'api' })),
    ...Array.from({ length: 10 }, () => svc.trackTime(t.number, { minutes: 1 }, { email: 'tom@it.example' })),
    svc.updateTicket(t.number, { priority: 'High' }),
    svc.setChannelRef(t.number, 'slack', { channel: 'C1', ts: '1.2' }),
  ]);
  const v = await svc.getTicket(t.number);
  expect(v.entries).toHaveLength(11);
  expect(v.timeSpentMinutes).toBe(10);
  expect(v.priority).toBe('High');
  expect(v.channelRefs).toEqual({ slack: { channel: 'C1', ts: '1.2' } });
  expect(await db.models.TimeEntry.countDocuments()).toBe(10);
});

test('two service instances (two processes) sharing a database number tickets uniquely and lose no concurrent change', async () => {
  // Separate instances model separate processes: each has its own in-process write queue, so
  // only the database's atomic, version-guarded update keeps their writes to one ticket apart.
  const a = new TicketService(db.models, new Dispatcher(db.models, new NotifierRegistry(), logger), logger);
  const b = new TicketService(db.models, new Dispatcher(db.models, new NotifierRegistry(), logger), logger);
  const made = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).createTicket({ title: `t${i}`, description: '', requester: { email: `r${i}@corp.example` }, source: 'api' })));
  const numbers = made.map((m) => m.number).sort((x, y) => x - y);
  expect(numbers).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));

  await a.people.register({ email: 'tom@it.example', roles: ['technician'] });
  const n = made[0]!.number;
  const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => (i % 2 ? a : b).addEntry(n, {
    kind: 'note', text: `note ${i}`, author: { email: 'tom@it.example' }, source: 'api',
  })));
  expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
  const ticket = await a.getTicket(n);
  expect(ticket.entries.map((e) => e.text).sort()).toEqual(Array.from({ length: 6 }, (_, i) => `note ${i}`));
  const doc = await db.models.Ticket.findOne({ number: n }).lean();
  expect(doc!.version).toBe(6);
  expect(doc!.pending).toEqual([]);
});

describe('deliveries: one job per channel', () => {
  function setup(notifiers: Notifier[]) {
    const registry = new NotifierRegistry();
    for (const n of notifiers) registry.register(n);
    const dispatcher = new Dispatcher(db.models, registry, logger);
    const worker = new DeliveryWorker(db.models, registry, logger, { backoffMs: () => 10, maxAttempts: 3 });
    dispatcher.attachWorker(worker);
    const svc = new TicketService(db.models, dispatcher, logger);
    return { svc, worker };
  }

  test('a failing channel never blocks another, is retried, and is given up after its attempts', async () => {
    const good: string[] = [];
    let badAttempts = 0;
    const gaveUp: DomainEvent[] = [];
    const { svc, worker } = setup([
      { channel: 'bad', wants: () => true, deliver: async () => { badAttempts++; throw new Error('platform down'); }, onGiveUp: async (e) => { gaveUp.push(e); } },
      { channel: 'good', wants: () => true, deliver: async (e) => { good.push(e.type); } },
    ]);
    await svc.createTicket({ title: 'x', description: 'd', requester: { email: 'jane@corp.example' }, source: 'api' });
    await worker.drain();
    await new Promise((r) => setTimeout(r, 100));
    await worker.drain();
    expect(good).toEqual(['ticket.created']);
    expect(badAttempts).toBe(3);
    expect(gaveUp.map((e) => e.type)).toEqual(['ticket.created']);
    const failed = await db.models.Delivery.findOne({ channel: 'bad' }).lean();
    expect(failed).toMatchObject({ status: 'failed', attempts: 3, lastError: 'platform down' });
    await worker.stop();
  });

  test('a permanent error is not retried; a passing error is', async () => {
    let calls = 0;
    let flaky = 0;
    const { svc, worker } = setup([
      { channel: 'perm', wants: () => true, deliver: async () => { calls++; throw new PermanentDeliveryError('550 no such user'); } },
      { channel: 'flaky', wants: () => true, deliver: async () => { if (flaky++ === 0) throw new Error('timeout'); } },
    ]);
    await svc.createTicket({ title: 'x', description: 'd', requester: { email: 'jane@corp.example' }, source: 'api' });
    await worker.drain();
    await new Promise((r) => setTimeout(r, 60));
    await worker.drain();
    expect(calls).toBe(1);
    expect(flaky).toBe(2);
    expect((await db.models.Delivery.findOne({ channel: 'flaky' }).lean())!.status).toBe('done');
    await worker.stop();
  });

  test('a channel only gets the events it wants', async () => {
    const got: string[] = [];
    const { svc, worker } = setup([{ channel: 'notes-only', wants: (e) => e.type === 'entry.added' && e.data.visibility === 'internal', deliver: async (e) => { got.push(String(e.data.kind)); } }]);
    await svc.people.register({ email: 'tom@it.example', roles: ['technician'] });
    const t = await svc.createTicket({ title: 'x', description: 'd', requester: { email: 'jane@corp.example' }, source: 'api' });
    await svc.addEntry(t.number, { kind: 'reply', text: 'public', author: { email: 'tom@it.example' }, source: 'api' });
    await svc.addEntry(t.number, { kind: 'note', text: 'private', author: { email: 'tom@it.example' }, source: 'api' });
    await worker.drain();
    expect(got).toEqual(['note']);
    expect(await db.models.Delivery.countDocuments()).toBe(1);
    await worker.stop();
  });
});

test('capped sources: comments from email and portal are cut at 65,536 with an ellipsis; API text is not', async () => {
  const svc = new TicketService(db.models, new Dispatcher(db.models, new NotifierRegistry(), logger), logger);
  const long = 'x'.repeat(70_000);
  const t = await svc.createTicket({ title: 'long', description: long, requester: { email: 'jane@corp.example' }, source: 'email' });
  expect(t.entries[0]!.text).toHaveLength(65_536);
  expect(t.entries[0]!.text.endsWith('…')).toBe(true);
  expect(t.entries[0]!.truncated).toBe(true);
  const { entry } = await svc.addEntry(t.number, { kind: 'reply', text: long, author: { email: 'jane@corp.example' }, source: 'portal' });
  expect(entry.text).toHaveLength(65_536);
  const viaApi = await svc.addEntry(t.number, { kind: 'reply', text: long, author: { email: 'jane@corp.example' }, source: 'api' });
  expect(viaApi.entry.text).toHaveLength(70_000);
});
