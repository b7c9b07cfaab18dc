import type { DomainEvent, EntryView } from '../tickets/types.js';

/**
 * What a ticket write left, handed with its event (in memory, in the process that wrote it) to the
 * first run of each channel's delivery, so the notifiers need not read back what was just written
 * before their first platform call. Never stored and never part of the event itself (a WeakMap,
 * not a field: nothing that serialises events, such as the console's live feed, can see it).
 */
export interface WrittenView {
  /** The ticket's channel refs (card and DM refs, posting intents) as the write left them. */
  channelRefs: Record<string, unknown>;
  requesterId: string;
  /** The entry an entry.added event is about, as written (null for other events). */
  entry: EntryView | null;
}

const views = new WeakMap<DomainEvent, { view: WrittenView; takenBy: Set<string> }>();

export function attachWritten(event: DomainEvent, view: WrittenView): void {
  views.set(event, { view, takenBy: new Set() });
}

/**
 * The view for `channel`'s delivery of `event`, once per channel: any later run of the same
 * delivery (a retry, a wait for the allowance) must read what the earlier run may have changed.
 */
export function takeWritten(event: DomainEvent, channel: string): WrittenView | undefined {
  const v = views.get(event);
  if (!v || v.takenBy.has(channel)) return undefined;
  v.takenBy.add(channel);
  return v.view;
}
