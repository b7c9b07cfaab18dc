import { Types } from 'mongoose';
import { presenceView, type PresenceView } from '../domain/presence.js';
import type { TicketCore } from './core.js';
import { SYSTEM_ACTOR } from './types.js';

export const PRESENCE_TTL_MS = 3 * 60_000;
/** A presence row outlives its display by this much (the TTL index removes it then), so the sweep can announce the expiry. */
const ANNOUNCE_GRACE_MS = 30 * 60_000;

export type PresenceMemberView = { personId: string; name: string; avatarUrl?: string; since: Date };

/**
 * Use case: a technician is working on the ticket for a few minutes (renewed by each action).
 * True when this made them shown (they were not, or their presence had run out): only then does
 * a card show something new, so a caller refreshes the card only then.
 */
export async function markWorking(core: TicketCore, number: number, personId: string, surface: string, ttlMs = PRESENCE_TTL_MS): Promise<boolean> {
  const now = new Date();
  // One round trip, as updateOne was: the row as it was before (null when it is new) comes back.
  const before = await core.models.Presence.findOneAndUpdate(
    { _id: `${number}:${personId}` },
    {
      $set: { ticketNumber: number, personId: new Types.ObjectId(personId), surface, shownUntil: new Date(now.getTime() + ttlMs), expiresAt: new Date(now.getTime() + ttlMs + ANNOUNCE_GRACE_MS) },
      $setOnInsert: { since: now },
    },
    { upsert: true, returnDocument: 'before', projection: { shownUntil: 1 } },
  ).lean<{ shownUntil?: Date | null }>();
  return !before?.shownUntil || before.shownUntil.getTime() <= now.getTime();
}

/** Who is working on the ticket now: at most five avatars, the viewer first (domain/presence.ts). */
export async function presence(core: TicketCore, number: number, viewerId?: string): Promise<PresenceView<PresenceMemberView>> {
  const now = new Date();
  const rows = await core.models.Presence.find({ ticketNumber: number, shownUntil: { $gt: now } }).lean();
  const people = await core.people.getMany(rows.map((r) => String(r.personId)));
  const members = rows.map((r) => {
    const p = people.get(String(r.personId));
    return { personId: String(r.personId), name: p?.name || p?.primaryEmail || 'Technician', avatarUrl: p?.avatarUrl ?? undefined, since: r.since };
  });
  return presenceView(members, viewerId);
}

/**
 * Ends the presence that ran out and announces it: one `presence.expired` event per ticket per
 * sweep (however many people left it), so the cards drop the avatars now instead of at the
 * ticket's next change; the card's own hash check and coalescing merge it with other changes. Each
 * row is removed by one conditional delete, so of several sweeping processes only the one that
 * removed it announces it, and a presence renewed meanwhile is kept.
 */
export async function expirePresence(core: TicketCore, now = new Date()): Promise<number> {
  const due = await core.models.Presence.find({ shownUntil: { $lte: now } }, { _id: 1 }).limit(1000).lean();
  const left = new Map<number, string[]>();
  for (const row of due) {
    const gone = await core.models.Presence.findOneAndDelete({ _id: row._id, shownUntil: { $lte: now } }).lean();
    if (gone) left.set(gone.ticketNumber, [...(left.get(gone.ticketNumber) ?? []), String(gone.personId)]);
  }
  for (const [number, people] of left) {
    const t = await core.ticketDoc(number, { _id: 1 });
    if (!t) continue;
    // Straight to the dispatcher: nothing about the ticket changed (no version or updatedAt bump).
    await core.dispatcher.applyPending(t._id, [core.eventOp('presence.expired', t._id, number, SYSTEM_ACTOR, { people }, now)]);
  }
  // Rows from before shownUntil existed: gone quietly, as they were before.
  await core.models.Presence.deleteMany({ shownUntil: null, expiresAt: { $lte: now } });
  return [...left.values()].reduce((n, p) => n + p.length, 0);
}
