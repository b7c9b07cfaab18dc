import type { Logger } from 'pino';
import { Types } from 'mongoose';
import { MAX_WORDS_PER_TICKET } from '../domain/search-words.js';
import { isDuplicateKey, type Models } from '../store/models.js';
import type { NotifierRegistry } from '../notify/notifier.js';
import type { DeliveryWorker, StoredDeliveries } from '../notify/deliveries.js';
import { markStored } from '../notify/trace.js';
import { attachWritten } from '../notify/written.js';
import type { EntryDoc, TicketDoc } from '../store/models.js';
import { entryFromDoc, eventFromDoc } from './mappers.js';
import type { DomainEvent } from './types.js';

/**
 * A write that rides along in a ticket's `pending` array and is materialised after the ticket
 * update. Every op is idempotent (fixed _id, $addToSet), so replaying after a crash is harmless.
 */
export type PendingOp =
  | { id: string; op: 'entry'; doc: Record<string, unknown> }
  | { id: string; op: 'activity'; doc: Record<string, unknown> }
  | { id: string; op: 'event'; doc: Record<string, unknown> }
  | { id: string; op: 'timeEntry'; doc: Record<string, unknown> }
  | { id: string; op: 'linkMerge'; target: number; source: number; words?: string[]; publicWords?: string[]; targetId?: Types.ObjectId; entryId?: Types.ObjectId };

/**
 * Ids of pending writes (activities, events). Time-ordered and increasing within a process, so
 * activities written by one change in the same millisecond read back in the order written.
 */
export const newOpId = () => new Types.ObjectId().toHexString();

export type EventListener = (event: DomainEvent) => void;

export class Dispatcher {
  private worker: DeliveryWorker | null = null;
  /** In-process listeners told of each event as it is stored (the console's live updates). */
  private readonly listeners = new Set<EventListener>();

  constructor(
    private readonly models: Models,
    private readonly registry: NotifierRegistry,
    private readonly logger: Logger,
  ) {}

  attachWorker(worker: DeliveryWorker): void {
    this.worker = worker;
  }

  /** Calls `listener` with every event this process stores (a replayed event may come twice). Returns the unsubscribe. */
  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Materialises a ticket's pending writes (as stored now), then removes them from the ticket. */
  async flush(ticketId: Types.ObjectId | string): Promise<void> {
    const t = await this.models.Ticket.findById(ticketId, { pending: 1 }).lean();
    if (!t || !t.pending || t.pending.length === 0) return;
    await this.applyPending(t._id, t.pending as PendingOp[]);
  }

  /**
   * Materialises `ops` (the pending writes a caller just wrote or read), then pulls exactly those
   * from the ticket, by op id: ops a concurrent writer appended meanwhile stay for their writer.
   * Two callers applying the same op is harmless (every op is idempotent).
   */
  async applyPending(ticketId: Types.ObjectId, ops: PendingOp[], after: TicketDoc | null = null): Promise<void> {
    if (ops.length === 0) return;
    const channels = new Set<string>();
    const events: DomainEvent[] = [];
    const stored: StoredDeliveries[] = [];
    for (const op of ops) {
      const cs = await this.apply(op, events);
      for (const c of cs) channels.add(c);
      const e = op.op === 'event' ? events[events.length - 1] : undefined;
      if (e && cs.length > 0) stored.push({ eventId: e.id, ticketNumber: e.ticketNumber, channels: cs });
    }
    // The ticket as this write left it (and the entries it wrote) go with the events to this
    // process's deliveries: their first run need not read back what was just written.
    if (after) {
      const entries = new Map(ops.flatMap((o) => (o.op === 'entry' ? [[String(o.doc._id), o.doc] as const] : [])));
      for (const e of events) {
        const entryId = e.type === 'entry.added' ? String(e.data.entryId) : null;
        const entry = entryId ? entries.get(entryId) : undefined;
        attachWritten(e, {
          channelRefs: (after.channelRefs as Record<string, unknown> | undefined) ?? {}, requesterId: String(after.requesterId),
          entry: entry ? entryFromDoc(entry as unknown as EntryDoc) : null,
        });
      }
    }
    // The deliveries are stored: wake their channels now (in this process, with the events in
    // hand), alongside the bookkeeping below rather than after it.
    if (channels.size > 0) this.worker?.kick([...channels], events, stored);
    // Through the driver: clearing the outbox is bookkeeping, not a change (no updatedAt bump).
    await this.models.Ticket.collection.updateOne({ _id: ticketId }, { $pull: { pending: { id: { $in: ops.map((o) => o.id) } } } } as never);
  }

  /** Finds tickets left with pending writes (a crash mid-change) and completes them. */
  async sweep(limit = 100): Promise<number> {
    // Op ids are UUID strings, so "any op id above ''" is "has pending ops", as a range on the
    // `pending.id` index (an `$exists` on `pending.0` would read every ticket).
    const stale = await this.models.Ticket.find({ 'pending.id': { $gt: '' } }, { _id: 1 }).limit(limit).lean();
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

  private async apply(op: PendingOp, events: DomainEvent[] = []): Promise<string[]> {
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
        // One atomic $addToSet on the target: no read, so nothing to guard. (Ops written by older
        // versions may carry an `entryId` for a list no longer kept; it is ignored.)
        await m.Ticket.updateOne({ number: op.target }, { $addToSet: { mergedFrom: op.source } });
        // One `$addToSet` per update, nothing beside it: DocumentDB 0.106 grows a hidden part of the
        // document on an `$addToSet` that adds nothing next to another operator (replays would).
        for (const [field, words] of [['searchWords', op.words], ['publicSearchWords', op.publicWords]] as const) {
          if (words?.length) await m.Ticket.collection.updateOne({ number: op.target }, { $addToSet: { [field]: { $each: words.slice(0, MAX_WORDS_PER_TICKET) } } } as never);
        }
        return [];
      case 'event': {
        // storedAt: the order other instances tail the collection in (src/console/live.ts).
        await this.insertIgnoringDuplicate(() => m.Event.collection.insertOne({ ...op.doc, storedAt: new Date() } as never));
        const event = eventFromDoc(op.doc as never);
        for (const listener of this.listeners) {
          try { listener(event); } catch (err) { this.logger.warn({ err }, 'event listener failed'); }
        }
        const channels = this.registry.channelsFor(event);
        events.push(event);
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
          markStored(event.id, channels);
        }
        return channels;
      }
    }
  }
}
