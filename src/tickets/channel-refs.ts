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
  await core.locks.withLock(`ticket#${number}`, async () => {
    const t = await core.ticketDoc(number, { number: 1 });
    if (!t) throw notFound(`ticket #${number}`);
    await core.models.Ticket.updateOne({ _id: t._id }, { $set: { [`channelRefs.${channel}`]: ref } });
  });
}

export async function setEntryExternal(core: TicketCore, entryId: string, key: string, value: unknown): Promise<void> {
  if (!/^[A-Za-z0-9_]+$/.test(key)) throw invalid('key', 'letters, digits and _ only');
  await core.locks.withLock(`entry:${entryId}`, async () => {
    await core.models.Entry.updateOne({ _id: entryId }, { $set: { [`external.${key}`]: value } });
  });
}

export async function setEntryMessageId(core: TicketCore, entryId: string, messageId: string): Promise<void> {
  await core.locks.withLock(`entry:${entryId}`, async () => {
    await core.models.Entry.updateOne({ _id: entryId, messageId: null }, { $set: { messageId } });
  });
}

export async function findEntryByMessageId(core: TicketCore, messageId: string): Promise<EntryView | null> {
  const e = await core.models.Entry.findOne({ messageId }).lean();
  return e ? entryFromDoc(e) : null;
}

export async function findTicketByChannelRef(core: TicketCore, channel: string, key: string, value: string): Promise<TicketView | null> {
  const t = await core.models.Ticket.findOne({ [`channelRefs.${channel}.${key}`]: value }, { number: 1 }).lean();
  return t ? getTicket(core, t.number) : null;
}
