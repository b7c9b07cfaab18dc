import { randomUUID } from 'node:crypto';
import type { Db } from 'mongodb';
import { isDuplicateKey } from './models.js';

/**
 * A lease document with an expiry in `leases`: at most one holder at a time across every instance,
 * renewed by a heartbeat while the work runs, and taken over once expired when its holder died.
 * Needs atomic single-document updates (MongoDB; FerretDB 2 on DocumentDB), nothing more.
 */
export async function withLease<T>(db: Db, name: string, ttlMs: number, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }> {
  const leases = db.collection<{ _id: string; owner: string; expiresAt: Date }>('leases');
  const owner = randomUUID();
  const now = new Date();
  try {
    // Matches a free (expired) lease, or inserts one; a live lease held by another makes the upsert collide.
    await leases.updateOne({ _id: name, expiresAt: { $lt: now } }, { $set: { owner, expiresAt: new Date(now.getTime() + ttlMs) } }, { upsert: true });
  } catch (err) {
    if (isDuplicateKey(err)) return { ran: false };
    throw err;
  }
  const held = await leases.findOne({ _id: name });
  if (held?.owner !== owner) return { ran: false };
  const renew = setInterval(() => {
    void leases.updateOne({ _id: name, owner }, { $set: { expiresAt: new Date(Date.now() + ttlMs) } }).catch(() => undefined);
  }, Math.max(50, Math.floor(ttlMs / 3)));
  renew.unref();
  try {
    return { ran: true, value: await fn() };
  } finally {
    clearInterval(renew);
    await leases.updateOne({ _id: name, owner }, { $set: { expiresAt: new Date(0) } }).catch(() => undefined);
  }
}
