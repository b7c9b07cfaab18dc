import type { App } from '@slack/bolt';
import type { Logger } from '../logger.js';
import { isDuplicateKey } from '../store/models.js';
import type { SlackModels } from './store.js';

/** Marks a body we re-process from the log (Slack never sends this key). */
const REPLAY = '__deskbridgeReplay';
const MAX_ATTEMPTS = 10;
const LEASE_MS = 60_000;
const backoffMs = (attempts: number) => Math.min(300_000, 1000 * 2 ** Math.max(0, attempts - 1));

/**
 * Every Events API delivery is recorded (by event_id) before it is processed. Slack's own retries
 * of an event we recorded are dropped (idempotent by event_id); a processing failure after the ack
 * leaves the record "failed" and it is processed again from the record, with backoff, by
 * retryDue() (run by an agenda job on any instance). A process killed mid-way leaves it
 * "processing" with an expired lease: retried the same way. At-least-once delivery plus
 * handlers that are idempotent per message (entries carry `slack:<channel>:<ts>` ids) gives
 * exactly-once effects.
 */
export class SlackEventLog {
  constructor(private readonly models: SlackModels, private readonly logger: Logger, private bolt: App | null = null) {}

  attach(bolt: App): void {
    this.bolt = bolt;
  }

  /** Bolt global middleware: record, process, mark done or failed. */
  readonly middleware = async ({ body, next }: { body: unknown; next: () => Promise<void> }): Promise<void> => {
    const b = body as { event_id?: string; [REPLAY]?: boolean };
    const eventId = b.event_id;
    if (!eventId) return next();
    if (!b[REPLAY]) {
      const now = new Date();
      try {
        await this.models.SlackEvent.create({
          _id: eventId, at: now, state: 'processing', attempts: 1, lockedUntil: new Date(now.getTime() + LEASE_MS),
          nextAttemptAt: now, lastError: null, body: JSON.stringify(body),
        });
      } catch (err) {
        if (isDuplicateKey(err)) return;
        throw err;
      }
    }
    try {
      await next();
    } catch (err) {
      const rec = await this.models.SlackEvent.findById(eventId, { attempts: 1 }).lean().catch(() => null);
      const attempts = rec?.attempts ?? 1;
      await this.models.SlackEvent.updateOne({ _id: eventId }, {
        $set: {
          state: attempts >= MAX_ATTEMPTS ? 'gave_up' : 'failed', lockedUntil: new Date(0),
          nextAttemptAt: new Date(Date.now() + backoffMs(attempts)), lastError: String((err as Error).message ?? err).slice(0, 500),
        },
      }).catch((e) => this.logger.error({ err: e, eventId }, 'slack event: could not record the failure'));
      throw err;
    }
    await this.models.SlackEvent.updateOne({ _id: eventId }, { $set: { state: 'done', lockedUntil: new Date(0) }, $unset: { body: 1 } });
  };

  /** Processes recorded events whose processing failed or died, when due; returns how many were taken. */
  async retryDue(now = new Date()): Promise<number> {
    if (!this.bolt) return 0;
    let taken = 0;
    for (;;) {
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
      const body = { ...(JSON.parse(rec.body) as Record<string, unknown>), [REPLAY]: true };
      try {
        await this.bolt.processEvent({ body, ack: async () => undefined });
      } catch (err) {
        this.logger.warn({ err: String(err), eventId: rec._id, attempts: rec.attempts }, 'slack event retry failed');
      }
    }
  }
}
