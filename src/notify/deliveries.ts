import type { Logger } from 'pino';
import type { Models } from '../store/models.js';
import type { DomainEvent } from '../tickets/types.js';
import { eventFromDoc } from '../tickets/mappers.js';
import type { NotifierRegistry } from './notifier.js';

export interface DeliveryWorkerOptions {
  maxAttempts?: number;
  /** How long a claimed delivery stays locked before another worker may take it over. */
  leaseMs?: number;
  /** Backoff before attempt n+1 (n = attempts so far). */
  backoffMs?: (attempts: number) => number;
  sweepEveryMs?: number;
}

const defaultBackoff = (attempts: number) => Math.min(300_000, 1000 * 2 ** Math.max(0, attempts - 1));

/**
 * Runs the per-channel deliveries recorded for each event. Channels run side by side; within a
 * channel deliveries go oldest first, so a ticket's card is posted before its thread replies.
 * Claims are leases in the database, so several instances can run workers safely.
 */
export class DeliveryWorker {
  private readonly maxAttempts: number;
  private readonly leaseMs: number;
  private readonly backoff: (attempts: number) => number;
  private readonly sweepEveryMs: number;
  private running = new Map<string, Promise<void>>();
  private again = new Set<string>();
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

  /** Wakes every channel's loop (or only the given ones). Cheap to call often. */
  kick(channels?: string[]): void {
    if (this.stopped) return;
    for (const channel of channels ?? this.registry.all().map((n) => n.channel)) {
      if (this.running.has(channel)) {
        this.again.add(channel);
        continue;
      }
      const run = this.runChannel(channel)
        .catch((err) => this.logger.error({ err, channel }, 'delivery loop failed'))
        .finally(() => {
          this.running.delete(channel);
          if (this.again.delete(channel)) this.kick([channel]);
        });
      this.running.set(channel, run);
    }
  }

  /** Resolves when nothing is due and nothing is running (for tests and graceful shutdown). */
  async drain(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      await Promise.allSettled([...this.running.values()]);
      const due = await this.models.Delivery.countDocuments({ status: 'pending', nextAttemptAt: { $lte: new Date() } });
      if (due === 0 && this.running.size === 0) return;
      if (Date.now() > deadline) throw new Error(`deliveries not drained: ${due} due`);
      if (this.running.size === 0) this.kick();
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async runChannel(channel: string): Promise<void> {
    const notifier = this.registry.get(channel);
    if (!notifier) return;
    for (;;) {
      if (this.stopped) return;
      const now = new Date();
      const claimed = await this.models.Delivery.findOneAndUpdate(
        { channel, status: 'pending', nextAttemptAt: { $lte: now }, lockedUntil: { $lte: now } },
        { $set: { lockedUntil: new Date(now.getTime() + this.leaseMs) }, $inc: { attempts: 1 } },
        { sort: { nextAttemptAt: 1, at: 1 }, returnDocument: 'after' },
      ).lean();
      if (!claimed) return;
      const eventDoc = await this.models.Event.findById(claimed.eventId).lean();
      if (!eventDoc) {
        await this.models.Delivery.updateOne({ _id: claimed._id }, { $set: { status: 'skipped', lastError: 'event missing' } });
        continue;
      }
      const event = eventFromDoc(eventDoc);
      try {
        await notifier.deliver(event);
        await this.models.Delivery.updateOne({ _id: claimed._id }, { $set: { status: 'done', lastError: null } });
      } catch (err) {
        await this.failed(claimed._id as string, claimed.attempts, event, err as Error);
      }
    }
  }

  private async failed(id: string, attempts: number, event: DomainEvent, error: Error): Promise<void> {
    const notifier = this.registry.get(id.slice(id.lastIndexOf(':') + 1));
    const permanent = (error as { permanent?: boolean }).permanent === true;
    const retryAfter = (error as { retryAfterMs?: number }).retryAfterMs;
    if (permanent || attempts >= this.maxAttempts) {
      this.logger.warn({ err: error, delivery: id }, 'delivery given up');
      await this.models.Delivery.updateOne({ _id: id }, { $set: { status: 'failed', lastError: error.message } });
      try {
        await notifier?.onGiveUp?.(event, error);
      } catch (err) {
        this.logger.error({ err, delivery: id }, 'onGiveUp failed');
      }
      return;
    }
    const delay = retryAfter ?? this.backoff(attempts);
    this.logger.info({ delivery: id, attempts, delay, error: error.message }, 'delivery will be retried');
    await this.models.Delivery.updateOne(
      { _id: id },
      { $set: { nextAttemptAt: new Date(Date.now() + delay), lockedUntil: new Date(0), lastError: error.message } },
    );
    // Wake up for the retry even if nothing else happens meanwhile.
    const t = setTimeout(() => this.kick([notifier?.channel ?? '']), delay + 5);
    t.unref();
  }
}
