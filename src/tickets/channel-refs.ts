import { invalid, notFound } from '../domain/errors.js';
import type { TicketCore } from './core.js';
import { entryFromDoc } from './mappers.js';
import { getTicket } from './read.js';
import type { EntryView, TicketView } from './types.js';

/*
 * Use cases: the ids other systems gave a ticket or an entry (Slack ts, Teams activity id, email
 * Message-ID), stored to update in place and to thread replies.
 */

/** Stores the message id a platform gave a ticket's card (Slack ts, Teams activity id...). */
export async function setChannelRef(core: TicketCore, number: number, channel: string, ref: Record<string, unknown> | null): Promise<void> {
  if (!/^[A-Za-z0-9_]+$/.test(channel)) throw invalid('channel', 'letters, digits and _ only');
  // One atomic $set of one path: concurrent ticket changes (version-guarded) and other channels'
  // refs are untouched, so it needs neither the version nor a read.
  const res = await core.models.Ticket.updateOne({ number }, { $set: { [`channelRefs.${channel}`]: ref } });
  if (res.matchedCount === 0) throw notFound(`ticket #${number}`);
}

/**
 * Sets a ticket's channel ref only if it is still what the caller saw: absent (`expectedAt` null)
 * or the posting intent stamped `expectedAt`. One atomic update, so of several instances about to
 * post the same card exactly one wins; true when this caller did.
 */
export async function claimChannelRef(core: TicketCore, number: number, channel: string, expectedAt: number | null, ref: Record<string, unknown> | null): Promise<boolean> {
  if (!/^[A-Za-z0-9_]+$/.test(channel)) throw invalid('channel', 'letters, digits and _ only');
  const path = `channelRefs.${channel}`;
  const filter = expectedAt === null ? { number, [path]: null } : { number, [`${path}.posting`]: true, [`${path}.at`]: expectedAt };
  const res = await core.models.Ticket.updateOne(filter, { $set: { [path]: ref } });
  return res.modifiedCount === 1;
}

export async function setEntryExternal(core: TicketCore, entryId: string, key: string, value: unknown): Promise<void> {
  if (!/^[A-Za-z0-9_]+$/.test(key)) throw invalid('key', 'letters, digits and _ only');
  await core.models.Entry.updateOne({ _id: entryId }, { $set: { [`external.${key}`]: value } });
}

export async function setEntryMessageId(core: TicketCore, entryId: string, messageId: string): Promise<void> {
  // Set once: the guard makes a second sender's id lose atomically.
  await core.models.Entry.updateOne({ _id: entryId, messageId: null }, { $set: { messageId } });
}

export async function findEntryByMessageId(core: TicketCore, messageId: string): Promise<EntryView | null> {
  const e = await core.models.Entry.findOne({ messageId }).lean();
  return e ? entryFromDoc(e) : null;
}

export async function findTicketByChannelRef(core: TicketCore, channel: string, key: string, value: string): Promise<TicketView | null> {
  const t = await core.models.Ticket.findOne({ [`channelRefs.${channel}.${key}`]: value }, { number: 1 }).lean();
  return t ? getTicket(core, t.number) : null;
}
