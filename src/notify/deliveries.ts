import type { Logger } from 'pino';
import type { Models } from '../store/models.js';
import type { DomainEvent } from '../tickets/types.js';
import { eventFromDoc } from '../tickets/mappers.js';
import type { Notifier, NotifierRegistry } from './notifier.js';
import { isPaced } from './rate-limit.js';
import { finish, mark, within } from './trace.js';
import { takeWritten } from './written.js';

export interface DeliveryWorkerOptions {
  maxAttempts?: number;
  /** How long a claimed delivery stays locked before another worker may take it over. */
  leaseMs?: number;
  /** Backoff before attempt n+1 (n = attempts so far). */
  backoffMs?: (attempts: number) => number;
  sweepEveryMs?: number;
  /** Due deliveries read per query. */
  batchSize?: number;
  /** Tickets worked at once per channel (each ticket's deliveries still go one after the other). */
  concurrency?: number;
}

export interface DrainOptions {
  /** Give up (throw) after this long. Default 20 s. */
  timeoutMs?: number;
  /**
   * Also wait for deliveries scheduled to run within this many milliseconds of each look: retries
   * after a failure or a 429's Retry-After, waits for another attempt's claim. Default 0: only what
   * is due now or waits for the platform's allowance.
   */
  includeScheduledWithinMs?: number;
}

const defaultBackoff = (attempts: number) => Math.min(300_000, 1000 * 2 ** Math.max(0, attempts - 1));

/** What the worker reads of a due delivery. */
interface Due { _id: string; eventId: string; ticketNumber: number }

/** Deliveries the dispatcher just stored for one event: their ids are `${eventId}:${channel}`. */
export interface StoredDeliveries { eventId: string; ticketNumber: number; channels: string[] }

/** A channel's work in memory: due deliveries by ticket, in order, and which tickets are being worked. */
interface Lane {
  byTicket: Map<number, Due[]>;
  /** Tickets with queued deliveries that no worker holds, oldest first. */
  ready: number[];
  busy: Set<number>;
  /** Ids queued or running (until their outcome is written), so a refill does not queue them twice. */
  known: Set<string>;
  /**
   * Ids whose outcome was written since the current (or last) refill began: that read may have
   * seen them still pending, so what it returns of them is stale.
   */
  settled: Set<string>;
  /** Tickets whose deliveries wait for the platform's allowance (or a Retry-After) until then. */
  heldUntil: Map<number, number>;
  refilling: Promise<boolean> | null;
  /** The last read found nothing new. */
  drained: boolean;
  /** Set by kick(): something new may be due, look again before stopping. */
  woken: boolean;
  /** Resolved (and replaced) whenever a ticket is finished or the lane is woken. */
  changed: { promise: Promise<void>; resolve: () => void };
}

function newSignal(): Lane['changed'] {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

function signal(lane: Lane): void {
  const s = lane.changed;
  lane.changed = newSignal();
  s.resolve();
}

/**
 * Runs the per-channel deliveries recorded for each event. Channels run side by side, so the
 * notifiers of one event run at once and a failing channel never blocks another. Within a channel
 * several tickets are worked at once while each ticket's deliveries go oldest first (its card is
 * posted before its thread replies). Due deliveries are read in batches, not one per query, and
 * the events they need in one query per batch (or from memory, for events this process stored).
 * Claims are leases in the database, so several instances can run workers safely.
 *
 * A delivery that has to wait for the platform's allowance (PacedError) or was answered with
 * Retry-After holds the rest of its ticket's deliveries on that channel until then, and waiting
 * for the allowance does not count as a failed attempt.
 */
export class DeliveryWorker {
  private readonly maxAttempts: number;
  private readonly leaseMs: number;
  private readonly backoff: (attempts: number) => number;
  private readonly sweepEveryMs: number;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private running = new Map<string, Promise<void>>();
  private lanes = new Map<string, Lane>();
  /** Events stored by this process, kept until their deliveries have run (saves a read each). */
  private readonly recentEvents = new Map<string, DomainEvent>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly models: Models,
    private readonly registry: NotifierRegistry,
    private readonly logger: Logger,
    opts: DeliveryWorkerOptions = {},
  ) {
    this.maxAttempts = opts.maxAttempts ?? 8;
    this.leaseMs = opts.leaseMs ?? 60_000;
    this.backoff = opts.backoffMs ?? defaultBackoff;
    this.sweepEveryMs = opts.sweepEveryMs ?? 2_000;
    this.batchSize = opts.batchSize ?? 100;
    this.concurrency = opts.concurrency ?? 4;
  }

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.kick();
      this.timer = setTimeout(tick, this.sweepEveryMs);
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.running.values()]);
  }

  /**
   * Wakes every channel's loop (or only the given ones). Cheap to call often. `events` are ones
   * this process just stored: their deliveries need not read them back.
   */
  kick(channels?: string[], events?: DomainEvent[], stored?: StoredDeliveries[]): void {
    if (this.stopped) return;
    for (const e of events ?? []) this.remember(e);
    for (const channel of channels ?? this.registry.all().map((n) => n.channel)) {
      for (const e of events ?? []) mark(e.id, channel, 'kick');
      // The deliveries just stored are queued as they are, without reading them back (the read
      // that follows finds everything else that is due).
      const fresh: Due[] = (stored ?? []).filter((d) => d.channels.includes(channel)).map((d) => ({ _id: `${d.eventId}:${channel}`, eventId: d.eventId, ticketNumber: d.ticketNumber }));
      const lane = this.lanes.get(channel);
      if (this.running.has(channel) && lane) {
        this.queueFresh(lane, fresh);
        lane.woken = true;
        signal(lane);
        continue;
      }
      const run = this.runChannel(channel, fresh)
        .catch((err) => this.logger.error({ err, channel }, 'delivery loop failed'))
        .finally(() => {
          this.running.delete(channel);
          if (this.lanes.get(channel)?.woken) this.kick([channel]);
        });
      this.running.set(channel, run);
    }
  }

  /**
   * Runs the queue until it has settled, for reading the outcome of what was written (tests and
   * the bench): resolves when nothing runs, nothing is due and nothing waits for the platforms'
   * allowance (a paced delivery is only waiting in line, however far ahead).
   * A retry scheduled for later (after a failure, a 429's Retry-After, another attempt's claim) is
   * not waited for unless it falls within `includeScheduledWithinMs`, counted from each look, so a
   * delivery that keeps failing with a growing backoff ends the wait instead of holding it until
   * it is given up. A number is `timeoutMs`. Shutdown does not drain: stop() only lets the work in
   * flight finish, and what is queued stays in the database for the next start.
   */
  async drain(opts: number | DrainOptions = {}): Promise<void> {
    const { timeoutMs = 20_000, includeScheduledWithinMs = 0 } = typeof opts === 'number' ? { timeoutMs: opts } : opts;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await Promise.allSettled([...this.running.values()]);
      const horizon = new Date(Date.now() + Math.max(0, includeScheduledWithinMs));
      const due = await this.models.Delivery.countDocuments({ status: 'pending', $or: [{ nextAttemptAt: { $lte: horizon } }, { paced: true }] });
      if (due === 0 && this.running.size === 0) return;
      if (Date.now() > deadline) throw new Error(`deliveries not drained: ${due} due${includeScheduledWithinMs > 0 ? ` or scheduled within ${includeScheduledWithinMs} ms` : ''}`);
      if (this.running.size === 0) this.kick();
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private remember(event: DomainEvent): void {
    this.recentEvents.set(event.id, event);
    // Bounded: an event whose deliveries never run here (another instance took them) ages out.
    if (this.recentEvents.size > 5_000) this.recentEvents.delete(this.recentEvents.keys().next().value!);
  }

  private async runChannel(channel: string, fresh: Due[] = []): Promise<void> {
    const notifier = this.registry.get(channel);
    if (!notifier) return;
    // A fresh lane per run (a stopped run may have left work queued in memory); holds carry over.
    const lane: Lane = {
      byTicket: new Map(), ready: [], busy: new Set(), known: new Set(), settled: new Set(), heldUntil: this.lanes.get(channel)?.heldUntil ?? new Map(), refilling: null, drained: false, woken: false, changed: newSignal(),
    };
    this.lanes.set(channel, lane);
    this.queueFresh(lane, fresh);
    // Every worker has stopped before the loop counts as ended (a new run must not overlap this one).
    const results = await Promise.allSettled(Array.from({ length: this.concurrency }, () => this.work(channel, notifier, lane)));
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
  }

  /** One of a channel's workers: takes a ticket, runs its queued deliveries in order, repeats. */
  private async work(channel: string, notifier: Notifier, lane: Lane): Promise<void> {
    try {
      for (;;) {
        if (this.stopped) return;
        const ticket = lane.ready.shift();
        if (ticket === undefined) {
          if (lane.refilling) {
            await lane.refilling;
          } else if (lane.drained && !lane.woken) {
            // Nothing new is due since the last read: wait for the other workers, or stop with them.
            if (lane.busy.size === 0) return;
            await lane.changed.promise;
          } else {
            await this.refill(channel, lane);
          }
          continue;
        }
        lane.busy.add(ticket);
        try {
          for (;;) {
            const queue = lane.byTicket.get(ticket);
            const next = queue?.shift();
            if (!next) break;
            let heldUntil: number | null = null;
            try {
              if (queue!.some((d) => d._id !== next._id) && this.refreshOnly(notifier, next)) await this.coalesce(next);
              else heldUntil = await this.runOne(channel, notifier, next);
            } finally {
              // Only now is its outcome written. Forgetting it earlier let a batch read in between
              // queue it again, behind its own successors: the last refresh of a burst then had
              // "one queued behind it" and was coalesced away, and the copy found itself done.
              lane.known.delete(next._id);
              lane.settled.add(next._id);
            }
            if (heldUntil !== null) {
              // The rest of this ticket's deliveries wait with it, so they stay in order.
              await this.hold(lane, ticket, heldUntil);
              break;
            }
          }
        } finally {
          lane.byTicket.delete(ticket);
          lane.busy.delete(ticket);
          signal(lane);
        }
      }
    } finally {
      signal(lane);
    }
  }

  private refreshOnly(notifier: Notifier, due: Due): boolean {
    const event = this.recentEvents.get(due.eventId);
    try {
      return Boolean(event && notifier.refreshOnly?.(event));
    } catch {
      return false;
    }
  }

  /** A card refresh with a later delivery of its ticket queued behind it: that one shows the same and more. */
  private async coalesce(due: Due): Promise<void> {
    const now = new Date();
    await this.models.Delivery.updateOne(
      { _id: due._id, status: 'pending', lockedUntil: { $lte: now } },
      { $set: { status: 'done', lastError: null, coalesced: true } },
      { strict: false },
    );
  }

  /**
   * Queues deliveries this process just stored, as a read would have (behind what their ticket has
   * queued). A ticket waiting for the allowance is left to the next read, which holds them with it.
   * A read already under way may return them too: they are known by then, so it skips them.
   */
  private queueFresh(lane: Lane, rows: Due[]): void {
    const now = Date.now();
    for (const row of rows) {
      if (lane.known.has(row._id) || lane.settled.has(row._id)) continue;
      if ((lane.heldUntil.get(row.ticketNumber) ?? 0) > now) continue;
      mark(row.eventId, row._id.slice(row.eventId.length + 1), 'queued');
      this.enqueue(lane, row);
    }
  }

  /** Behind what its ticket has queued; the ticket joins the ready list unless it is being worked. */
  private enqueue(lane: Lane, row: Due): void {
    lane.known.add(row._id);
    const queue = lane.byTicket.get(row.ticketNumber);
    if (queue) queue.push(row);
    else {
      lane.byTicket.set(row.ticketNumber, [row]);
      if (!lane.busy.has(row.ticketNumber)) lane.ready.push(row.ticketNumber);
    }
  }

  /** Reads the next batch of due deliveries into the lane; false when there was nothing new. */
  private refill(channel: string, lane: Lane): Promise<boolean> {
    lane.refilling ??= (async () => {
      try {
        lane.woken = false;
        // Outcomes written from now on may be missed by this read; those written before are seen.
        lane.settled = new Set();
        const now = new Date();
        const rows = await this.models.Delivery.find(
          { channel, status: 'pending', nextAttemptAt: { $lte: now }, lockedUntil: { $lte: now }, ...(lane.known.size ? { _id: { $nin: [...lane.known] } } : {}) },
          { _id: 1, eventId: 1, ticketNumber: 1 },
        ).sort({ nextAttemptAt: 1, at: 1 }).limit(this.batchSize).lean<Due[]>();
        // The events the batch needs, in one query (those this process stored are in memory).
        const missing = [...new Set(rows.map((r) => r.eventId).filter((id) => !this.recentEvents.has(id)))];
        if (missing.length > 0) for (const doc of await this.models.Event.find({ _id: { $in: missing } }).lean()) this.remember(eventFromDoc(doc));
        for (const row of rows) mark(row.eventId, channel, 'read');
        let added = 0;
        const held = new Map<number, { until: number; ids: string[] }>();
        for (const row of rows) {
          // Queued or running now, or finished while the read ran (a stale copy; should it be due
          // again, as a retry without delay, its retry's wake-up reads it afresh).
          if (lane.known.has(row._id) || lane.settled.has(row._id)) continue;
          const until = lane.heldUntil.get(row.ticketNumber) ?? 0;
          if (until > now.getTime()) {
            // A later event of a held ticket joins the wait instead of overtaking it.
            const h = held.get(row.ticketNumber) ?? { until, ids: [] };
            h.ids.push(row._id);
            held.set(row.ticketNumber, h);
            continue;
          }
          this.enqueue(lane, row);
          added++;
        }
        for (const h of held.values()) {
          await this.models.Delivery.updateMany({ _id: { $in: h.ids }, status: 'pending' }, { $set: { nextAttemptAt: new Date(h.until), paced: true } }, { strict: false });
        }
        // A busy ticket's new deliveries are picked up by the worker holding it (it drains its queue).
        lane.drained = added === 0 && held.size === 0;
        return !lane.drained;
      } finally {
        lane.refilling = null;
      }
    })();
    return lane.refilling;
  }

  /** Postpones a ticket's remaining queued deliveries to `until` (their order is kept). */
  private async hold(lane: Lane, ticket: number, until: number): Promise<void> {
    lane.heldUntil.set(ticket, until);
    const rest = lane.byTicket.get(ticket) ?? [];
    lane.byTicket.delete(ticket);
    for (const d of rest) lane.known.delete(d._id);
    if (rest.length > 0) {
      // Marked as waiting in line (paced), not as failed: drain() waits for them.
      await this.models.Delivery.updateMany({ _id: { $in: rest.map((d) => d._id) }, status: 'pending' }, { $set: { nextAttemptAt: new Date(until), paced: true } }, { strict: false });
    }
    if (lane.heldUntil.size > 10_000) for (const [n, t] of lane.heldUntil) if (t < Date.now()) lane.heldUntil.delete(n);
  }

  /** Claims and runs one delivery. Returns the time its ticket must wait until, or null. */
  private async runOne(channel: string, notifier: Notifier, due: Due): Promise<number | null> {
    const now = new Date();
    const claimed = await this.models.Delivery.findOneAndUpdate(
      { _id: due._id, status: 'pending', nextAttemptAt: { $lte: now }, lockedUntil: { $lte: now } },
      { $set: { lockedUntil: new Date(now.getTime() + this.leaseMs) }, $inc: { attempts: 1, claims: 1 } },
      { returnDocument: 'after', projection: { attempts: 1, claims: 1 }, strict: false },
    ).lean<{ attempts: number; claims?: number }>();
    if (!claimed) return null; // another worker took it, or it is done
    mark(due.eventId, channel, 'claimed');
    const event = this.recentEvents.get(due.eventId) ?? await this.readEvent(due.eventId);
    if (!event) {
      await this.models.Delivery.updateOne({ _id: due._id }, { $set: { status: 'skipped', lastError: 'event missing' } });
      return null;
    }
    // The write's own view of the ticket and entry, only to the first claim ever of this delivery:
    // any earlier run (here or elsewhere, even a wait that gave its attempt back) may have left an
    // intent or a posted id that only the database has.
    const written = claimed.claims === 1 ? takeWritten(event, channel) : undefined;
    try {
      await within(event.id, channel, () => notifier.deliver(event, written ? { written } : undefined));
      await this.models.Delivery.updateOne({ _id: due._id }, { $set: { status: 'done', lastError: null } });
      this.forgetIfDone(event.id, channel);
      finish(event.id, channel, event.type);
      return null;
    } catch (err) {
      return this.failed(due._id, claimed.attempts, event, err as Error, notifier);
    }
  }

  private async readEvent(id: string): Promise<DomainEvent | null> {
    const doc = await this.models.Event.findById(id).lean();
    return doc ? eventFromDoc(doc) : null;
  }

  /** Drops a remembered event once every channel's delivery of it has run in this process. */
  private forgetIfDone(eventId: string, channel: string): void {
    const e = this.recentEvents.get(eventId) as (DomainEvent & { doneIn?: Set<string> }) | undefined;
    if (!e) return;
    (e.doneIn ??= new Set()).add(channel);
    if (this.registry.channelsFor(e).every((c) => e.doneIn!.has(c))) this.recentEvents.delete(eventId);
  }

  private async failed(id: string, attempts: number, event: DomainEvent, error: Error, notifier: Notifier): Promise<number | null> {
    const retryAfter = (error as { retryAfterMs?: number }).retryAfterMs;
    if ((error as { notAnAttempt?: boolean }).notAnAttempt) {
      // Waiting for another attempt's claim on the post: not a failed attempt, and the ticket's later
      // deliveries wait too (they would find the same claim).
      const until = Date.now() + Math.max(1, retryAfter ?? 1000);
      await this.models.Delivery.updateOne({ _id: id }, { $set: { nextAttemptAt: new Date(until), lockedUntil: new Date(0), lastError: error.message, paced: false }, $inc: { attempts: -1 } }, { strict: false });
      this.wakeAt(notifier.channel, until);
      return until;
    }
    if (isPaced(error)) {
      // Waiting for the platform's allowance: not a failed attempt.
      const until = Date.now() + Math.max(1, retryAfter ?? 1000);
      await this.models.Delivery.updateOne({ _id: id }, { $set: { nextAttemptAt: new Date(until), lockedUntil: new Date(0), paced: true }, $inc: { attempts: -1 } }, { strict: false });
      this.wakeAt(notifier.channel, until);
      return until;
    }
    const permanent = (error as { permanent?: boolean }).permanent === true;
    if (permanent || attempts >= this.maxAttempts) {
      this.logger.warn({ err: error, delivery: id }, 'delivery given up');
      await this.models.Delivery.updateOne({ _id: id }, { $set: { status: 'failed', lastError: error.message } });
      try {
        await notifier.onGiveUp?.(event, error);
      } catch (err) {
        this.logger.error({ err, delivery: id }, 'onGiveUp failed');
      }
      return null;
    }
    const delay = retryAfter ?? this.backoff(attempts);
    this.logger.info({ delivery: id, attempts, delay, error: error.message }, 'delivery will be retried');
    const until = Date.now() + delay;
    await this.models.Delivery.updateOne(
      { _id: id },
      { $set: { nextAttemptAt: new Date(until), lockedUntil: new Date(0), lastError: error.message, paced: false } },
      { strict: false },
    );
    this.wakeAt(notifier.channel, until);
    // A Retry-After (429) holds the ticket's later deliveries too; a plain failure does not.
    return retryAfter !== undefined ? until : null;
  }

  private readonly wakeups = new Set<string>();

  /** Wake up for a retry even if nothing else happens meanwhile (one timer per channel and 50 ms). */
  private wakeAt(channel: string, until: number): void {
    const key = `${channel}:${Math.ceil(until / 50)}`;
    if (this.wakeups.has(key)) return;
    this.wakeups.add(key);
    const t = setTimeout(() => {
      this.wakeups.delete(key);
      this.kick([channel]);
    }, Math.max(0, until - Date.now()) + 5);
    t.unref();
  }
}
