import type { Logger } from 'pino';
import type { Model } from 'mongoose';
import type { Dispatcher } from '../tickets/dispatcher.js';
import { eventFromDoc } from '../tickets/mappers.js';
import type { DomainEvent } from '../tickets/types.js';
import type { EventDoc } from '../store/models.js';

/*
 * The events the console's open pages hear about, from every app instance on the database. Events
 * this process stores arrive at once through the dispatcher; events another instance stored are
 * read from the `events` collection by `storedAt` (set by the dispatcher when it inserts one) every
 * `pollMs`, one query for the whole instance however many browsers are connected, and only while
 * at least one is. No change streams: FerretDB has none.
 *
 * `storedAt` comes from each instance's clock and inserts commit in any order, so each read goes
 * back `OVERLAP_MS` and skips ids already passed on; an instance whose clock is behind by less
 * than that loses nothing.
 */

const OVERLAP_MS = 5_000;
/** A burst larger than this within the overlap is cut; pages would still refresh on the rest. */
const BATCH = 1_000;

export type LiveListener = (event: DomainEvent) => void;

/** The tail's read: events stored at or after `since`, oldest first (on the `storedAt` index). */
export function eventsStoredSince(Event: Model<EventDoc>, since: Date): Promise<EventDoc[]> {
  return Event.find({ storedAt: { $gte: since } }).sort({ storedAt: 1 }).limit(BATCH).lean<EventDoc[]>();
}

export class LiveFeed {
  private readonly listeners = new Set<LiveListener>();
  /** Ids passed on lately → the later of their storedAt and when passed on, so neither path repeats the other. */
  private readonly passed = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;
  private stopLocal: (() => void) | null = null;
  /** Events stored before the tail started are history, not news. */
  private startedAt = 0;
  private polling: Promise<void> | null = null;

  constructor(
    private readonly Event: Model<EventDoc>,
    private readonly dispatcher: Dispatcher,
    private readonly pollMs: number,
    private readonly logger: Logger,
  ) {}

  /** How many pages are listening on this instance (the tail runs only while some are). */
  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Starts listening with the first listener; the tail stops with the last. Returns the unsubscribe. */
  subscribe(listener: LiveListener): () => void {
    this.listeners.add(listener);
    if (this.listeners.size === 1) this.start();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** Resolves after one read of the collection (tests; a poll already running counts). */
  async pollNow(): Promise<void> {
    await (this.polling ?? this.poll());
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopLocal?.();
    this.stopLocal = null;
  }

  private start(): void {
    this.startedAt = Date.now();
    this.stopLocal = this.dispatcher.subscribe((e) => this.pass(e));
    this.timer = setInterval(() => { if (!this.polling) void this.poll(); }, this.pollMs);
    this.timer.unref();
  }

  private poll(): Promise<void> {
    this.polling = (async () => {
      try {
        const now = Date.now();
        const docs = await eventsStoredSince(this.Event, new Date(now - OVERLAP_MS));
        for (const d of docs) {
          const storedAt = d.storedAt ? new Date(d.storedAt).getTime() : 0;
          if (storedAt >= this.startedAt) this.pass(eventFromDoc(d), storedAt);
        }
        // Forget ids the read can no longer return.
        for (const [id, at] of this.passed) if (at < now - 2 * OVERLAP_MS) this.passed.delete(id);
      } catch (err) {
        this.logger.warn({ err }, 'console: reading new events failed; retrying');
      } finally {
        this.polling = null;
      }
    })();
    return this.polling;
  }

  private pass(e: DomainEvent, storedAt = 0): void {
    if (this.passed.has(e.id) || this.listeners.size === 0) return;
    this.passed.set(e.id, Math.max(storedAt, Date.now()));
    for (const l of this.listeners) {
      try { l(e); } catch (err) { this.logger.warn({ err }, 'console: live listener failed'); }
    }
  }
}
