import type { App } from '@slack/bolt';
import type { Logger } from '../logger.js';
import { isDuplicateKey } from '../store/models.js';
import type { SlackModels } from './store.js';

/** Marks a body that is already in the log (Slack never sends this key). */
const RECORDED = '__deskbridgeReplay';
const MAX_ATTEMPTS = 10;
const LEASE_MS = 60_000;
/** How long a failed write of recorded events waits before it is tried again (doubling up to the cap). */
const RECORD_RETRY_MS = 250;
const RECORD_RETRY_MAX_MS = 5_000;
/** Recorded events processed at once by one instance (more wait their turn, in order). */
const MAX_PROCESSING = 16;
const backoffMs = (attempts: number) => Math.min(300_000, 1000 * 2 ** Math.max(0, attempts - 1));

type EventBody = { event_id?: string; [RECORDED]?: boolean; [k: string]: unknown };
interface PendingRecord { doc: Record<string, unknown>; attempted: boolean; settle: (fresh: boolean) => void; fail: (err: unknown) => void }

/**
 * Every Events API delivery is recorded (by event_id) before it is processed. Slack's own retries
 * of an event we recorded are dropped (idempotent by event_id); a processing failure after the ack
 * leaves the record "failed" and it is processed again from the record, with backoff, by
 * retryDue() (run by an agenda job on any instance). A process killed mid-way leaves it
 * "processing" with an expired lease: retried the same way. At-least-once delivery plus
 * handlers that are idempotent per message (entries carry `slack:<channel>:<ts>` ids) gives
 * exactly-once effects.
 *
 * Over HTTP the ack does not wait for the database (slack/fast-ack.ts): the verified event is
 * handed to accept() and Slack gets its 200; the records of all events that arrived meanwhile are
 * written in one insert right after, and each is processed only once its record is stored. A
 * failed write is tried again (the events stay in memory meanwhile), so a database blip drops
 * nothing; only a crash in the few milliseconds between the 200 and the write loses an event.
 */
export class SlackEventLog {
  private pending: PendingRecord[] = [];
  private recordTimer: NodeJS.Immediate | NodeJS.Timeout | null = null;
  private recordRetryMs = RECORD_RETRY_MS;
  private doneIds: string[] = [];
  private doneTimer: NodeJS.Immediate | null = null;
  /** Work started after an ack (writes and processing), awaited by drain() at stop. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private stopping = false;

  constructor(private readonly models: SlackModels, private readonly logger: Logger, private bolt: App | null = null) {}

  attach(bolt: App): void {
    this.bolt = bolt;
  }

  /**
   * HTTP fast path, called after the signature was verified and before the 200: records the event
   * (written right after the ack) and processes it from the record.
   */
  accept(body: EventBody, retry: { retryNum?: number; retryReason?: string } = {}): void {
    this.track((async () => {
      let fresh: boolean;
      try {
        fresh = await this.record(body);
      } catch (err) {
        this.logger.error({ err: String(err), eventId: body.event_id }, 'slack event: could not be recorded; it is lost');
        return;
      }
      if (!fresh || !this.bolt) return;
      await this.inTurn(async () => {
        const eventId = body.event_id!;
        const dispatched = await this.dispatch(eventId, () => this.bolt!.processEvent({ body: { ...body, [RECORDED]: true }, ack: async () => undefined, ...retry }));
        // Bolt returns without calling our middleware when it could not authorize the request (an
        // installation lookup that failed, say): keep the record due for a retry instead of dropping it.
        if (!dispatched) await this.markFailed(eventId, new Error('not dispatched to the listeners (authorization failed?)'));
      });
    })());
  }

  /**
   * HTTP fast path for block_actions (a button or a menu), called before the 200: runs Bolt on the
   * action after the ack, in turn with the recorded events. Not recorded: as under Bolt's own
   * receiver (which also acknowledged before running the listener), an action is processed once
   * or, if the process dies meanwhile, not at all; Slack does not send an interaction twice.
   */
  acceptAction(body: Record<string, unknown>): void {
    if (!this.bolt) return;
    this.track(this.inTurn(async () => {
      try {
        await this.bolt!.processEvent({ body, ack: async () => undefined });
      } catch (err) {
        this.logger.warn({ err: String(err) }, 'slack action: processing failed');
      }
    }));
  }

  private readonly turns: (() => void)[] = [];
  private running = 0;
  private turnScheduled = false;

  /**
   * Runs `job` when its turn comes: at most MAX_PROCESSING at once, and each one started in its own
   * turn of the event loop, so the requests that arrive meanwhile are read and acknowledged between
   * them (a batch of recorded events resolving at once would otherwise run back to back).
   */
  private inTurn(job: () => Promise<void>): Promise<void> {
    return new Promise<void>((resolve) => {
      this.turns.push(() => {
        this.running++;
        void job().catch((err) => this.logger.error({ err: String(err) }, 'slack event: processing failed')).finally(() => {
          this.running--;
          resolve();
          this.nextTurn();
        });
      });
      this.nextTurn();
    });
  }

  private nextTurn(): void {
    if (this.turnScheduled || this.running >= MAX_PROCESSING || this.turns.length === 0) return;
    this.turnScheduled = true;
    setImmediate(() => {
      this.turnScheduled = false;
      if (this.running < MAX_PROCESSING) this.turns.shift()?.();
      this.nextTurn();
    });
  }

  /** Bolt global middleware: record (unless already recorded), process, mark done or failed. */
  readonly middleware = async ({ body, next }: { body: unknown; next: () => Promise<void> }): Promise<void> => {
    const b = body as EventBody;
    const eventId = b.event_id;
    if (!eventId) return next();
    if (b[RECORDED]) this.dispatching.add(eventId);
    else if (!(await this.record(b))) return;
    try {
      await next();
    } catch (err) {
      await this.markFailed(eventId, err);
      throw err;
    }
    this.markDone(eventId);
  };

  /** Event ids whose processing reached the middleware (see accept()). */
  private readonly dispatching = new Set<string>();

  /** Runs Bolt on a recorded event; false when Bolt never reached our middleware with it. */
  private async dispatch(eventId: string, run: () => Promise<void>): Promise<boolean> {
    try {
      await run();
    } catch (err) {
      // Listener errors are already recorded by the middleware and reported by Bolt's error handler.
      this.logger.debug({ err: String(err), eventId }, 'slack event: processing failed');
    }
    return this.dispatching.delete(eventId);
  }

  /** Resolves true once the record is stored, false when it already was (a retry by Slack). */
  private record(body: EventBody): Promise<boolean> {
    const now = new Date();
    const doc = {
      _id: body.event_id!, at: now, state: 'processing', attempts: 1, lockedUntil: new Date(now.getTime() + LEASE_MS),
      nextAttemptAt: now, lastError: null, body: JSON.stringify({ ...body, [RECORDED]: undefined }),
    };
    return new Promise<boolean>((settle, fail) => {
      this.pending.push({ doc, attempted: false, settle, fail });
      // After the current I/O round: the 200 of this request (and of the others read with it) goes out first.
      this.recordTimer ??= setImmediate(() => this.track(this.writeRecords()));
    });
  }

  /** One insert for every event that arrived since the last write; a failed write is tried again. */
  private async writeRecords(): Promise<void> {
    this.recordTimer = null;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    let failed: { index: number }[] = [];
    const duplicate = new Set<number>();
    let error: unknown = null;
    try {
      await this.models.SlackEvent.collection.insertMany(batch.map((p) => p.doc) as never[], { ordered: false });
    } catch (err) {
      error = err;
      const writeErrors = writeErrorsOf(err);
      if (!writeErrors) failed = batch.map((_p, index) => ({ index }));
      else for (const w of writeErrors) (isDuplicateKey(w) ? duplicate.add(w.index) : failed.push(w));
    }
    const retry = new Set(failed.map((w) => w.index));
    batch.forEach((p, i) => {
      // A duplicate is Slack's retry of an event already recorded, unless our own earlier write
      // of it failed mid-way and stored it after all: that one is still ours to process.
      if (!retry.has(i)) p.settle(!duplicate.has(i) || p.attempted);
    });
    if (retry.size === 0) {
      this.recordRetryMs = RECORD_RETRY_MS;
      return;
    }
    const again = batch.filter((_p, i) => retry.has(i));
    if (this.stopping) {
      for (const p of again) p.fail(error);
      return;
    }
    this.logger.warn({ err: String(error), events: again.length, retryInMs: this.recordRetryMs }, 'slack events: recording failed; trying again');
    this.pending.unshift(...again.map((p) => ({ ...p, attempted: true })));
    this.recordTimer ??= setTimeout(() => this.track(this.writeRecords()), this.recordRetryMs);
    this.recordRetryMs = Math.min(RECORD_RETRY_MAX_MS, this.recordRetryMs * 2);
  }

  /** Marks processed events done, in one update per I/O round. */
  private markDone(eventId: string): void {
    this.doneIds.push(eventId);
    this.doneTimer ??= setImmediate(() => {
      this.doneTimer = null;
      const ids = this.doneIds;
      this.doneIds = [];
      this.track(this.models.SlackEvent.updateMany({ _id: { $in: ids } }, { $set: { state: 'done', lockedUntil: new Date(0) }, $unset: { body: 1 } })
        .catch((err) => this.logger.warn({ err: String(err), events: ids.length }, 'slack events: could not mark done (they are retried after the lease; handlers are idempotent)')));
    });
  }

  private async markFailed(eventId: string, err: unknown): Promise<void> {
    const rec = await this.models.SlackEvent.findById(eventId, { attempts: 1 }).lean().catch(() => null);
    const attempts = rec?.attempts ?? 1;
    await this.models.SlackEvent.updateOne({ _id: eventId }, {
      $set: {
        state: attempts >= MAX_ATTEMPTS ? 'gave_up' : 'failed', lockedUntil: new Date(0),
        nextAttemptAt: new Date(Date.now() + backoffMs(attempts)), lastError: String((err as Error)?.message ?? err).slice(0, 500),
      },
    }).catch((e) => this.logger.error({ err: e, eventId }, 'slack event: could not record the failure'));
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  /**
   * Stop: no more write retries; waits (up to `timeoutMs`) for the records being written and the
   * events being processed. Whatever is cut short stays in the log and is retried after its lease.
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.stopping = true;
    return this.settled(timeoutMs);
  }

  /** Resolves true once nothing is being recorded or processed (false after `timeoutMs`). */
  async settled(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.inFlight.size > 0 || this.pending.length > 0 || this.doneIds.length > 0) {
      if (this.stopping && this.recordTimer && this.pending.length > 0) {
        // Stopping: write what is waiting for a retry now, once.
        clearTimeout(this.recordTimer as NodeJS.Timeout);
        clearImmediate(this.recordTimer as NodeJS.Immediate);
        this.recordTimer = null;
        this.track(this.writeRecords());
      }
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      // A timer in every round: with nothing in flight (a write only scheduled), an already settled
      // race would spin in microtasks and starve the very timer that does the write.
      await Promise.race([
        ...(this.inFlight.size > 0 ? [Promise.allSettled([...this.inFlight])] : []),
        new Promise((r) => { timer = setTimeout(r, Math.min(left, 50)); }),
      ]);
      clearTimeout(timer);
    }
    return true;
  }

  /** Processes recorded events whose processing failed or died, when due; returns how many were taken. */
  async retryDue(now = new Date()): Promise<number> {
    if (!this.bolt) return 0;
    let taken = 0;
    for (;;) {
      if (this.stopping) return taken;
      // Claim one at a time, conditionally: several instances never process the same record at once.
      const rec = await this.models.SlackEvent.findOneAndUpdate(
        { state: { $in: ['failed', 'processing'] }, lockedUntil: { $lt: now }, nextAttemptAt: { $lte: now } },
        { $set: { state: 'processing', lockedUntil: new Date(Date.now() + LEASE_MS) }, $inc: { attempts: 1 } },
        { new: true },
      ).lean();
      if (!rec) return taken;
      taken++;
      if (!rec.body) {
        await this.models.SlackEvent.updateOne({ _id: rec._id }, { $set: { state: 'gave_up', lastError: 'no body recorded' } });
        continue;
      }
      if ((rec.attempts ?? 0) > MAX_ATTEMPTS) {
        await this.models.SlackEvent.updateOne({ _id: rec._id }, { $set: { state: 'gave_up', lockedUntil: new Date(0), lastError: `not processed after ${MAX_ATTEMPTS} attempts` } });
        continue;
      }
      const body = { ...(JSON.parse(rec.body) as Record<string, unknown>), [RECORDED]: true };
      try {
        const dispatched = await this.track(this.dispatch(rec._id, () => this.bolt!.processEvent({ body, ack: async () => undefined })));
        if (!dispatched) await this.markFailed(rec._id, new Error('not dispatched to the listeners (authorization failed?)'));
      } catch (err) {
        this.logger.warn({ err: String(err), eventId: rec._id, attempts: rec.attempts }, 'slack event retry failed');
      }
    }
  }
}

function writeErrorsOf(err: unknown): { index: number; code?: number; message?: string; errmsg?: string }[] | null {
  const e = err as { writeErrors?: unknown; name?: string } | null;
  if (!e || !e.writeErrors) return null;
  const list = (Array.isArray(e.writeErrors) ? e.writeErrors : [e.writeErrors]) as { index: number; code?: number; errmsg?: string; err?: { errmsg?: string } }[];
  return list.map((w) => ({ index: w.index, code: w.code, message: w.errmsg ?? w.err?.errmsg }));
}
