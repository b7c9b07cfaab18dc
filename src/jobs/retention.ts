import { GridFSBucket, type Db, type Document } from 'mongodb';
import type { DeskbridgeModule } from '../app.js';
import type { Config } from '../config/index.js';

/*
 * Retention: what only the machinery needs is pruned by a daily job so collections stay flat over
 * long uptimes. What a technician needs is never touched: tickets, the conversation (entries),
 * the activity log, people, time entries, and every attachment an entry refers to.
 */

export interface RetentionPolicy {
  /** Days; 0 keeps forever. */
  eventsDays: number;
  deliveriesDays: number;
  inboundDays: number;
  rawMailDays: number;
  /** Hours an attachment no entry refers to is kept (an upload whose entry is still being written). */
  orphanAttachmentHours: number;
}

export const retentionPolicyOf = (c: Config): RetentionPolicy => ({
  eventsDays: c.RETENTION_EVENTS_DAYS,
  deliveriesDays: c.RETENTION_DELIVERIES_DAYS,
  inboundDays: c.RETENTION_INBOUND_DAYS,
  rawMailDays: c.RETENTION_RAW_MAIL_DAYS,
  orphanAttachmentHours: c.RETENTION_ORPHAN_ATTACHMENT_HOURS,
});

export interface PruneCounts {
  events: number;
  deliveries: number;
  presence: number;
  inbound: number;
  rawMail: number;
  orphanAttachments: number;
}

const DAY = 24 * 3600_000;
const BATCH = 500;
const before = (now: Date, ms: number) => new Date(now.getTime() - ms);

/** One pass of every rule; batches keep each statement small (FerretDB: no long-running deletes). */
export async function pruneExpired(db: Db, policy: RetentionPolicy, now = new Date()): Promise<PruneCounts> {
  const counts: PruneCounts = { events: 0, deliveries: 0, presence: 0, inbound: 0, rawMail: 0, orphanAttachments: 0 };

  // Deliveries that are finished (done, failed, skipped); a pending one is work still to do.
  if (policy.deliveriesDays > 0) {
    const res = await db.collection('deliveries').deleteMany({ status: { $in: ['done', 'failed', 'skipped'] }, updatedAt: { $lt: before(now, policy.deliveriesDays * DAY) } });
    counts.deliveries = res.deletedCount;
  }

  // Events, except those a pending delivery still has to send.
  if (policy.eventsDays > 0) {
    const cutoff = before(now, policy.eventsDays * DAY);
    let lastId = '';
    for (;;) {
      const old = await db.collection('events').find({ at: { $lt: cutoff }, _id: { $gt: lastId } as never }, { projection: { _id: 1 } }).sort({ _id: 1 }).limit(BATCH).toArray();
      if (old.length === 0) break;
      lastId = String(old.at(-1)!._id);
      const ids = old.map((e) => String(e._id));
      const busy = new Set((await db.collection('deliveries').distinct('eventId', { eventId: { $in: ids }, status: 'pending' })).map(String));
      const prune = ids.filter((id) => !busy.has(id));
      if (prune.length) counts.events += (await db.collection('events').deleteMany({ _id: { $in: prune } as never })).deletedCount;
    }
  }

  // Presence past its expiry (the TTL index does this too, where the database runs TTL).
  counts.presence = (await db.collection('presence').deleteMany({ expiresAt: { $lt: now } })).deletedCount;

  // Processed inbound mail records (duplicate detection needs them only while senders may retry).
  if (policy.inboundDays > 0) {
    counts.inbound = (await db.collection('mail_inbound').deleteMany({ state: 'done', at: { $lt: before(now, policy.inboundDays * DAY) } })).deletedCount;
  }

  const bucket = new GridFSBucket(db, { bucketName: 'attachments' });
  const files = db.collection('attachments.files');

  // Raw mail as received (the entry keeps the text, the HTML and the attachments).
  if (policy.rawMailDays > 0) {
    for (;;) {
      const old = await files.find({ 'metadata.via': { $exists: true }, uploadDate: { $lt: before(now, policy.rawMailDays * DAY) } }, { projection: { _id: 1 } }).limit(BATCH).toArray();
      if (old.length === 0) break;
      for (const f of old) await bucket.delete(f._id).catch(ignoreMissing);
      counts.rawMail += old.length;
    }
  }

  // Attachments no entry refers to (an upload whose entry never got written), after a grace period.
  if (policy.orphanAttachmentHours > 0) {
    let lastId: unknown = null;
    for (;;) {
      const filter: Document = { 'metadata.via': { $exists: false }, uploadDate: { $lt: before(now, policy.orphanAttachmentHours * 3600_000) } };
      if (lastId) filter._id = { $gt: lastId };
      const batch = await files.find(filter, { projection: { _id: 1 } }).sort({ _id: 1 }).limit(BATCH).toArray();
      if (batch.length === 0) break;
      lastId = batch.at(-1)!._id;
      const ids = batch.map((f) => String(f._id));
      const used = new Set((await db.collection('entries').distinct('attachments.id', { 'attachments.id': { $in: ids } })).map(String));
      for (const f of batch) {
        if (used.has(String(f._id))) continue;
        await bucket.delete(f._id).catch(ignoreMissing);
        counts.orphanAttachments++;
      }
    }
  }
  return counts;
}

/** Another instance deleted it first: fine. */
function ignoreMissing(err: unknown): void {
  if (!/not found|FileNotFound/i.test(String((err as Error).message))) throw err;
}

export const retentionModule: DeskbridgeModule = {
  name: 'retention',
  async setup(ctx) {
    const policy = retentionPolicyOf(ctx.config);
    ctx.scheduler.define('retention:prune', async () => {
      const counts = await pruneExpired(ctx.db.connection.db as never, policy);
      ctx.logger.info({ counts }, 'retention: pruned');
    }, { concurrency: 1 });
    ctx.scheduler.every(ctx.config.RETENTION_INTERVAL, 'retention:prune');
  },
};
