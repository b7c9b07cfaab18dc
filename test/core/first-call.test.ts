import { createLogger } from '../../src/logger.js';
import { NotifierRegistry, type DeliveryContext, type Notifier } from '../../src/notify/notifier.js';
import { DeliveryWorker } from '../../src/notify/deliveries.js';
import { PacedError } from '../../src/notify/rate-limit.js';
import { Dispatcher } from '../../src/tickets/dispatcher.js';
import { TicketService } from '../../src/tickets/service.js';
import type { DomainEvent } from '../../src/tickets/types.js';
import type { Database } from '../../src/store/database.js';
import { testDatabase } from '../support/db.js';

/*
 * Issue 16, "the first platform call of a reply starts within 50 ms of the write": the deliveries a
 * write stores are queued in this process as they are (no batch read before their claim), and the
 * first run of each gets the write's own view of the ticket and entry, so a notifier need not read
 * them back before its first call. Only a delivery's first claim ever gets that view: a later run
 * (after a failure, after a wait for the allowance that gave its attempt back, or after another
 * instance's claim) must read what that earlier run may have stored (a posting intent, a posted id).
 */

const logger = createLogger('silent');
let db: Database;
let queries: { collection: string; method: string }[] = [];
beforeEach(async () => {
  db = await testDatabase('firstcall');
  queries = [];
  db.connection.set('debug', (collection: string, method: string) => { queries.push({ collection, method }); });
});
afterEach(async () => { db.connection.set('debug', false); await db.connection.dropDatabase(); await db.close(); });

function setup(notifier: Notifier) {
  const registry = new NotifierRegistry();
  registry.register(notifier);
  const dispatcher = new Dispatcher(db.models, registry, logger);
  const worker = new DeliveryWorker(db.models, registry, logger, { backoffMs: () => 10, maxAttempts: 5, sweepEveryMs: 60_000 });
  dispatcher.attachWorker(worker);
  const svc = new TicketService(db.models, dispatcher, logger);
  return { svc, worker, dispatcher };
}

const until = async (ok: () => boolean, what: string) => {
  const deadline = Date.now() + 5_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

test('a reply\'s delivery is claimed without a batch read and its first run gets the written ticket and entry', async () => {
  const runs: { event: DomainEvent; ctx: DeliveryContext | undefined; queriesBefore: { collection: string; method: string }[] }[] = [];
  const { svc, worker } = setup({
    channel: 'probe', wants: (e) => e.type === 'entry.added',
    deliver: async (event, ctx) => { runs.push({ event, ctx, queriesBefore: [...queries] }); },
  });
  worker.start();
  await worker.drain();
  const t = await svc.createTicket({ title: 'Printer', description: 'd', requester: { email: 'jane@corp.example' }, source: 'api' });
  await svc.setChannelRef(t.number, 'slack', { channel: 'C1', ts: '1.2' });
  await worker.drain();
  queries = [];
  const { entry } = await svc.addEntry(t.number, { kind: 'reply', text: 'Try turning it off and on', author: { system: 'bench' }, source: 'api' });
  await until(() => runs.length === 1, 'the delivery');
  const { ctx, queriesBefore } = runs[0]!;
  // The written view: the ticket's channel refs and requester as the write left them, the entry as written.
  expect(ctx?.written).toBeDefined();
  expect(ctx!.written!.entry).toMatchObject({ id: entry.id, text: 'Try turning it off and on', kind: 'reply' });
  expect(ctx!.written!.channelRefs).toEqual({ slack: { channel: 'C1', ts: '1.2' } });
  expect(ctx!.written!.requesterId).toBe(t.requester!.id);
  // Between the write and the delivery: its claim, with no read of what is due before it (the
  // batch read that looks for anything else due may run alongside).
  const sinceWrite = queriesBefore.slice(queriesBefore.findIndex((q) => q.collection === 'deliveries' && q.method === 'insertMany') + 1);
  const claim = sinceWrite.findIndex((q) => q.collection === 'deliveries' && q.method === 'findOneAndUpdate');
  expect(claim).toBeGreaterThanOrEqual(0);
  expect(sinceWrite.slice(0, claim).filter((q) => q.collection === 'deliveries')).toEqual([]);
  await worker.drain();
  expect(await db.models.Delivery.countDocuments({ status: 'done' })).toBeGreaterThanOrEqual(1);
  await worker.stop();
});

test('only the first claim ever gets the written view: not a retry after a failure, nor after a wait for the allowance', async () => {
  const seen: { type: string; written: boolean }[] = [];
  let fail = 0;
  const { svc, worker } = setup({
    channel: 'probe', wants: (e) => e.type === 'entry.added',
    deliver: async (event, ctx) => {
      seen.push({ type: event.type, written: Boolean(ctx?.written) });
      const attempt = seen.length;
      // First run: waits for the allowance (its attempt is given back); second: fails; third: done.
      if (attempt === 1) throw new PacedError('probe', 5);
      if (attempt === 2) { fail++; throw new Error('platform down'); }
    },
  });
  worker.start();
  const t = await svc.createTicket({ title: 'x', description: 'd', requester: { email: 'jane@corp.example' }, source: 'api' });
  await svc.addEntry(t.number, { kind: 'reply', text: 'hello', author: { system: 'bench' }, source: 'api' });
  await worker.drain({ includeScheduledWithinMs: 1_000 });
  expect(fail).toBe(1);
  expect(seen.map((s) => s.written)).toEqual([true, false, false]);
  const d = await db.models.Delivery.findOne({ channel: 'probe' }).lean<{ status: string; attempts: number; claims: number }>();
  // The wait for the allowance gave its attempt back; the claim count keeps every run.
  expect(d).toMatchObject({ status: 'done', attempts: 2, claims: 3 });
  await worker.stop();
});

test('a delivery first claimed by another instance gets no written view here, even on this instance\'s first run of it', async () => {
  const seen: boolean[] = [];
  const { svc, worker, dispatcher } = setup({ channel: 'probe', wants: (e) => e.type === 'entry.added', deliver: async (_e, ctx) => { seen.push(Boolean(ctx?.written)); } });
  const t = await svc.createTicket({ title: 'x', description: 'd', requester: { email: 'jane@corp.example' }, source: 'api' });
  await worker.stop();
  // The event object this process stored (the written view travels with it), kept while no worker runs.
  let stored: DomainEvent | null = null;
  dispatcher.subscribe((e) => { if (e.type === 'entry.added') stored = e; });
  await svc.addEntry(t.number, { kind: 'reply', text: 'hello', author: { system: 'bench' }, source: 'api' });
  expect(stored).not.toBeNull();
  // Meanwhile another instance claimed it and gave the attempt back (a wait for the allowance).
  const res = await db.models.Delivery.updateOne({ channel: 'probe', status: 'pending' }, { $set: { claims: 1, attempts: 0 } }, { strict: false });
  expect(res.modifiedCount).toBe(1);
  worker.start();
  // This process still holds the event (with its view) when its own first claim comes.
  worker.kick(['probe'], [stored!]);
  await worker.drain();
  expect(seen).toEqual([false]);
  await worker.stop();
});
