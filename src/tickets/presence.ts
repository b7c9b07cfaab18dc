import { Types } from 'mongoose';
import { presenceView, type PresenceView } from '../domain/presence.js';
import type { TicketCore } from './core.js';

export const PRESENCE_TTL_MS = 3 * 60_000;

export type PresenceMemberView = { personId: string; name: string; avatarUrl?: string; since: Date };

/** Use case: a technician is working on the ticket for a few minutes (renewed by each action). */
export async function markWorking(core: TicketCore, number: number, personId: string, surface: string, ttlMs = PRESENCE_TTL_MS): Promise<void> {
  const now = new Date();
  await core.models.Presence.updateOne(
    { _id: `${number}:${personId}` },
    { $set: { ticketNumber: number, personId: new Types.ObjectId(personId), surface, expiresAt: new Date(now.getTime() + ttlMs) }, $setOnInsert: { since: now } },
    { upsert: true },
  );
}

/** Who is working on the ticket now: at most five avatars, the viewer first (domain/presence.ts). */
export async function presence(core: TicketCore, number: number, viewerId?: string): Promise<PresenceView<PresenceMemberView>> {
  const now = new Date();
  const rows = await core.models.Presence.find({ ticketNumber: number, expiresAt: { $gt: now } }).lean();
  const people = await core.people.getMany(rows.map((r) => String(r.personId)));
  const members = rows.map((r) => {
    const p = people.get(String(r.personId));
    return { personId: String(r.personId), name: p?.name || p?.primaryEmail || 'Technician', avatarUrl: p?.avatarUrl ?? undefined, since: r.since };
  });
  return presenceView(members, viewerId);
}

/** Removes presence rows past their time now (the TTL index on `expiresAt` does it within a minute anyway). */
export async function expirePresence(core: TicketCore): Promise<number> {
  const res = await core.models.Presence.deleteMany({ expiresAt: { $lte: new Date() } });
  return res.deletedCount ?? 0;
}
