import { randomUUID } from 'node:crypto';
import type { Collection } from 'mongodb';
import { DeskbridgeError } from '../domain/errors.js';

/**
 * Short mutual-exclusion locks around read-modify-write of one document.
 *
 * Why: FerretDB 1.24 (the embedded default) applies an update by reading the document and writing
 * it back whole, outside any transaction, so two concurrent updates of one document lose one of
 * them — even a version-guarded one ($inc and findAndModify included; measured, see
 * docs/mongodb-compat.md). What it does make atomic is an insert against a unique index and a
 * delete's count. So a lock is an insert of {_id: key}; whoever inserts it owns it, and deletes it
 * when done. Waiters in the same process queue on a promise instead of polling the database. A
 * lock whose holder died expires after `ttlMs` and may be taken over.
 *
 * On a real MongoDB single-document updates are atomic, so the database lock is skipped there and
 * only the in-process queue remains (it also spares the retries of contended optimistic writes).
 */
export class DocumentLocks {
  private readonly local = new Map<string, Promise<void>>();

  constructor(
    private readonly collection: Collection<{ _id: string; owner: string; expiresAt: Date }> | null,
    private readonly opts: { ttlMs?: number; waitMs?: number } = {},
  ) {}

  /** True when the database lock is in use (FerretDB), false when only the in-process queue is. */
  get distributed(): boolean {
    return this.collection !== null;
  }

  async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    // In-process queue first: one holder per key per process.
    const prev = this.local.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const chained = prev.then(() => mine);
    this.local.set(key, chained);
    await prev;
    try {
      if (!this.collection) return await fn();
      const owner = await this.acquire(key);
      try {
        return await fn();
      } finally {
        await this.collection.deleteOne({ _id: key, owner }).catch(() => undefined);
      }
    } finally {
      release();
      if (this.local.get(key) === chained) this.local.delete(key);
    }
  }

  private async acquire(key: string): Promise<string> {
    const c = this.collection!;
    const owner = randomUUID();
    const ttl = this.opts.ttlMs ?? 15_000;
    const deadline = Date.now() + (this.opts.waitMs ?? 20_000);
    let pause = 2;
    for (;;) {
      try {
        await c.insertOne({ _id: key, owner, expiresAt: new Date(Date.now() + ttl) });
        return owner;
      } catch (err) {
        if ((err as { code?: number }).code !== 11000) throw err;
      }
      const held = await c.findOne({ _id: key });
      if (held && held.expiresAt.getTime() < Date.now()) {
        // The holder died: take the lock over (its owner check keeps a live holder's lock safe).
        await c.deleteOne({ _id: key, owner: held.owner });
        continue;
      }
      if (Date.now() > deadline) {
        throw new DeskbridgeError('CONFLICT', `${key} is busy; try again`);
      }
      await new Promise((r) => setTimeout(r, pause + Math.random() * pause));
      pause = Math.min(pause * 2, 50);
    }
  }
}

/** FerretDB answers buildInfo with a ferretdbVersion field; MongoDB does not. */
export async function isFerretDb(db: { admin(): { command(cmd: object): Promise<Record<string, unknown>> } }): Promise<boolean> {
  try {
    const info = await db.admin().command({ buildInfo: 1 });
    return typeof info.ferretdbVersion === 'string';
  } catch {
    return false;
  }
}
