/** Presence: who is working on a ticket now. Shows at most five avatars, your own first and set
 * apart, the rest behind "more". */
export const PRESENCE_MAX_AVATARS = 5;

export interface PresenceMember {
  personId: string;
  name: string;
  avatarUrl?: string;
  since: Date;
}

export interface PresenceView<T extends PresenceMember = PresenceMember> {
  /** The viewer, when they are working on it: shown first, set apart. */
  me?: T;
  /** Other avatars shown, most recent first. me + shown never exceeds five. */
  shown: T[];
  /** Everyone behind "+N more". */
  more: T[];
}

export function presenceView<T extends PresenceMember>(members: readonly T[], viewerId?: string): PresenceView<T> {
  const sorted = [...members].sort((a, b) => b.since.getTime() - a.since.getTime());
  const me = viewerId ? sorted.find((m) => m.personId === viewerId) : undefined;
  const others = sorted.filter((m) => m !== me);
  const room = PRESENCE_MAX_AVATARS - (me ? 1 : 0);
  // "+N more" takes the last slot only when there is more than fits.
  const shown = others.length > room ? others.slice(0, room) : others;
  return { me, shown, more: others.slice(shown.length) };
}
