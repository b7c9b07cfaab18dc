import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Types } from 'mongoose';
import { isDuplicateKey, type Models } from '../store/models.js';
import type { NotifierRegistry } from '../notify/notifier.js';
import type { DeliveryWorker } from '../notify/deliveries.js';
import { DocumentLocks } from '../store/locks.js';
import { eventFromDoc } from './mappers.js';

/**
 * A write that rides along in a ticket's `pending` array and is materialised after the ticket
 * update. Every op is idempotent (fixed _id, $addToSet), so replaying after a crash is harmless.
 */
export type PendingOp =
  | { id: string; op: 'entry'; doc: Record<string, unknown> }
  | { id: string; op: 'activity'; doc: Record<string, unknown> }
  | { id: string; op: 'event'; doc: Record<string, unknown> }
  | { id: string; op: 'timeEntry'; doc: Record<string, unknown> }
  | { id: string; op: 'linkMerge'; target: number; source: number; targetId?: Types.ObjectId; entryId?: Types.ObjectId };

export const newOpId = () => randomUUID();

export class Dispatcher {
  private worker: DeliveryWorker | null = null;

  private readonly locks: DocumentLocks;

  constructor(
    private readonly models: Models,
    private readonly registry: NotifierRegistry,
    private readonly logger: Logger,
    locks?: DocumentLocks,
  ) {
    this.locks = locks ?? new DocumentLocks(null);
  }

  attachWorker(worker: DeliveryWorker): void {
    this.worker = worker;
  }

  /** Materialises a ticket's pending writes, then removes them from the ticket. */
  async flush(ticketId: Types.ObjectId | string): Promise<void> {
    const t = await this.models.Ticket.findById(ticketId, { pending: 1, number: 1 }).lean();
    if (!t || !t.pending || t.pending.length === 0) return;
    const ops = t.pending as PendingOp[];
    const channels = new Set<string>();
    for (const op of ops) for (const c of await this.apply(op)) channels.add(c);
    const applied = new Set(ops.map((o) => o.id));
    // Remove what was applied, keeping ops a concurrent writer appended meanwhile.
    await this.locks.withLock(`ticket#${t.number}`, async () => {
      const again = await this.models.Ticket.findById(ticketId, { pending: 1 }).lean();
      if (!again) return;
      const rest = (again.pending as PendingOp[]).filter((o) => !applied.has(o.id));
      await this.models.Ticket.collection.updateOne({ _id: again._id }, { $set: { pending: rest } });
    });
    if (channels.size > 0) this.worker?.kick([...channels]);
  }

  /**
   * Materialises `ops` (the ticket's whole pending list) and clears it. Only for a caller that
   * holds the ticket's distributed lock, so nothing can have been appended meanwhile: this skips
   * flush()'s re-reads and second lock round (measured in docs/benchmarks.md).
   */
  async applyHeld(ticketId: Types.ObjectId, ops: PendingOp[]): Promise<void> {
    if (ops.length === 0) return;
    const channels = new Set<string>();
    for (const op of ops) for (const c of await this.apply(op)) channels.add(c);
    // Through the driver: clearing the outbox is bookkeeping, not a change (no updatedAt bump).
    await this.models.Ticket.collection.updateOne({ _id: ticketId }, { $set: { pending: [] } });
    if (channels.size > 0) this.worker?.kick([...channels]);
  }

  /** Finds tickets left with pending writes (a crash mid-change) and completes them. */
  async sweep(limit = 100): Promise<number> {
    const stale = await this.models.Ticket.find({ 'pending.0': { $exists: true } }, { _id: 1 }).limit(limit).lean();
    for (const t of stale) {
      try {
        await this.flush(t._id);
      } catch (err) {
        this.logger.error({ err, ticketId: String(t._id) }, 'flushing pending writes failed');
      }
    }
    return stale.length;
  }

  private async insertIgnoringDuplicate(fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
    }
  }

  private async apply(op: PendingOp): Promise<string[]> {
    const m = this.models;
    switch (op.op) {
      case 'entry':
        await this.insertIgnoringDuplicate(() => m.Entry.collection.insertOne(op.doc as never));
        return [];
      case 'activity':
        await this.insertIgnoringDuplicate(() => m.Activity.collection.insertOne(op.doc as never));
        return [];
      case 'timeEntry':
        await this.insertIgnoringDuplicate(() => m.TimeEntry.collection.insertOne(op.doc as never));
        return [];
      case 'linkMerge':
        // The target's merge notice joins its entry id lists too (ops written before those lists
        // existed carry no entryId); by _id when known, which FerretDB pushes down into SQL.
        await this.locks.withLock(`ticket#${op.target}`, () =>
          m.Ticket.updateOne(op.targetId ? { _id: op.targetId } : { number: op.target }, {
            $addToSet: {
              mergedFrom: op.source,
              ...(op.entryId ? { entryIds: op.entryId, publicEntryIds: op.entryId } : {}),
            },
          }));
        return [];
      case 'event': {
        await this.insertIgnoringDuplicate(() => m.Event.collection.insertOne(op.doc as never));
        const event = eventFromDoc(op.doc as never);
        const channels = this.registry.channelsFor(event);
        if (channels.length > 0) {
          const now = new Date();
          const docs = channels.map((channel) => ({
            _id: `${event.id}:${channel}`, eventId: event.id, channel, ticketNumber: event.ticketNumber,
            status: 'pending', attempts: 0, nextAttemptAt: now, lockedUntil: new Date(0), lastError: null,
            at: event.at, createdAt: now, updatedAt: now,
          }));
          try {
            await m.Delivery.collection.insertMany(docs as never[], { ordered: false });
          } catch (err) {
            if (!isDuplicateKey(err) && !(err as { writeErrors?: unknown[] }).writeErrors) throw err;
          }
        }
        return channels;
      }
    }
  }
}
