import type { Logger } from 'pino';
import { RetryLaterError } from './notifier.js';

/** A published limit: at most `max` calls in any `windowMs` (Slack tiers, Teams' per-thread limits). */
export interface RateWindow { max: number; windowMs: number }

/** One bucket a call draws on: a key (workspace+method, channel, conversation, app) and its limits. */
export interface RateKey { key: string; windows: RateWindow[] }

/**
 * The call could not get a slot soon enough: the delivery worker reschedules it for `retryAfterMs`
 * without counting an attempt (waiting for the platform's allowance is not a failure).
 */
export class PacedError extends RetryLaterError {
  readonly paced = true;

  /** @param buckets the keys that had no room (the bucket the wait is for). */
  constructor(message: string, retryAfterMs: number, readonly buckets: string[] = []) {
    super(message, retryAfterMs);
  }
}

export function isPaced(err: unknown): err is PacedError {
  return (err as { paced?: unknown })?.paced === true;
}

interface Slot { at: number }

/**
 * Outbound pacing that knows the platforms' limits, shared by every delivery in the process.
 * Each key keeps the times of its recent calls and allows a call when every window of the key has
 * room, exactly as the platform counts (a sliding window): the full allowance is used, bursts
 * included, and no call is made that the limit would refuse. A call's slot is stamped with the
 * time its answer arrived, so however long the request took on the way, the platform saw it
 * earlier than we count it. A 429 frees the slot it took (the platform did not count it) and holds
 * the key until Retry-After has passed.
 */
export class RateLimiter {
  private readonly slots = new Map<string, Slot[]>();
  private readonly blockedUntil = new Map<string, number>();

  /**
   * @param maxWaitMs a wait longer than this is not slept by the caller: it gets PacedError (the
   *   delivery is rescheduled, and its ticket renders afresh when the slot comes).
   * @param marginMs added to every window, for timer granularity.
   */
  constructor(readonly maxWaitMs = 3_000, private readonly marginMs = 5) {}

  /** Milliseconds until a call to all of `keys` may go (0: now). */
  waitFor(keys: RateKey[], now = Date.now()): number {
    let wait = 0;
    for (const { key, windows } of keys) {
      wait = Math.max(wait, (this.blockedUntil.get(key) ?? 0) - now);
      const slots = this.slots.get(key);
      if (!slots || slots.length === 0) continue;
      for (const w of windows) {
        const span = w.windowMs + this.marginMs;
        const recent = slots.map((s) => s.at).filter((t) => t > now - span).sort((a, b) => a - b);
        if (recent.length >= w.max) wait = Math.max(wait, recent[recent.length - w.max]! + span - now);
      }
    }
    return Math.max(0, wait);
  }

  /**
   * Runs `call` as soon as every key has room (waiting up to maxWaitMs, else PacedError). List the
   * most specific key first: a 429 holds that one.
   * `retryAfterMsOf` reads a 429's Retry-After from the call's error (undefined: not a 429).
   */
  async run<T>(keys: RateKey[], call: () => Promise<T>, retryAfterMsOf: (err: unknown) => number | undefined): Promise<T> {
    const deadline = Date.now() + this.maxWaitMs;
    for (;;) {
      const now = Date.now();
      const wait = this.waitFor(keys, now);
      if (wait === 0) break;
      if (now + wait > deadline) throw new PacedError(`paced: ${keys.map((k) => k.key).join(', ')} has no room for ${wait} ms`, wait, keys.map((k) => k.key));
      // Several callers may wake for the same freed slot; the others look again.
      await new Promise((r) => setTimeout(r, wait));
    }
    const taken = keys.map((k) => this.take(k));
    try {
      const result = await call();
      this.stamp(taken);
      return result;
    } catch (err) {
      const retryAfterMs = retryAfterMsOf(err);
      if (retryAfterMs === undefined) {
        this.stamp(taken);
      } else {
        // Refused: the platform did not count the call; nothing goes to the call's own bucket (the
        // first key: the conversation, not the whole app) before Retry-After has passed.
        taken.forEach(([key, slot]) => this.release(key, slot));
        if (keys[0]) this.blocked(keys[0].key, retryAfterMs);
      }
      throw err;
    }
  }

  /** The platform answered 429 with this Retry-After: hold the key until it has passed. */
  blocked(key: string, retryAfterMs: number, now = Date.now()): void {
    this.blockedUntil.set(key, Math.max(this.blockedUntil.get(key) ?? 0, now + retryAfterMs));
  }

  private take({ key, windows }: RateKey): [string, Slot] {
    const now = Date.now();
    const longest = Math.max(0, ...windows.map((w) => w.windowMs)) + this.marginMs;
    const slots = (this.slots.get(key) ?? []).filter((s) => s.at > now - longest);
    const slot = { at: now };
    slots.push(slot);
    this.slots.set(key, slots);
    if (this.slots.size > 10_000) this.prune(now);
    return [key, slot];
  }

  private stamp(taken: [string, Slot][]): void {
    const now = Date.now();
    for (const [, slot] of taken) slot.at = Math.max(slot.at, now);
  }

  private release(key: string, slot: Slot): void {
    const slots = this.slots.get(key);
    const i = slots?.indexOf(slot) ?? -1;
    if (i >= 0) slots!.splice(i, 1);
  }

  private prune(now: number): void {
    // Keys unused for an hour (conversations, channels) are forgotten.
    for (const [key, slots] of this.slots) if (slots.every((s) => s.at < now - 3_600_000)) this.slots.delete(key);
    for (const [key, until] of this.blockedUntil) if (until < now) this.blockedUntil.delete(key);
  }
}

interface Hold { since: number; until: number; rescheduled: number }

/**
 * Logs waiting for a platform's allowance once per hold of a bucket, not once per rescheduled
 * delivery (a burst reschedules one per change): each reschedule at debug, and one info line when
 * the hold is over, with how many deliveries were rescheduled in it and for how long.
 */
export class PacingLog {
  private readonly holds = new Map<string, Hold>();

  constructor(private readonly logger: Logger, private readonly platform: string) {}

  /** A delivery was rescheduled by `err`; `context` names it (ticket, event type) in the debug line. */
  rescheduled(err: PacedError, context: Record<string, unknown> = {}): void {
    const now = Date.now();
    const bucket = err.buckets.join(', ') || 'unknown';
    const until = now + err.retryAfterMs;
    const hold = this.holds.get(bucket);
    if (hold) {
      hold.rescheduled++;
      hold.until = Math.max(hold.until, until);
    } else {
      this.holds.set(bucket, { since: now, until, rescheduled: 1 });
      this.endAt(bucket, until);
    }
    this.logger.debug({ ...context, bucket, waitMs: err.retryAfterMs, rescheduled: this.holds.get(bucket)!.rescheduled }, `${this.platform}: delivery rescheduled for the rate allowance`);
  }

  /** Buckets on hold now (for tests and diagnostics). */
  active(): string[] {
    return [...this.holds.keys()];
  }

  private endAt(bucket: string, until: number): void {
    setTimeout(() => this.end(bucket), Math.max(0, until - Date.now()) + 1).unref();
  }

  private end(bucket: string): void {
    const hold = this.holds.get(bucket);
    if (!hold) return;
    // Extended by a later reschedule: the hold lasts until its last wait is over.
    if (hold.until > Date.now()) {
      this.endAt(bucket, hold.until);
      return;
    }
    this.holds.delete(bucket);
    this.logger.info({ bucket, rescheduled: hold.rescheduled, heldMs: hold.until - hold.since }, `${this.platform}: ${hold.rescheduled} ${hold.rescheduled === 1 ? 'delivery' : 'deliveries'} waited for the rate allowance`);
  }
}
