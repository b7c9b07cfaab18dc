import { Types } from 'mongoose';
import { notFound } from '../domain/errors.js';
import type { EntryDoc, TicketDoc } from '../store/models.js';
import type { TicketCore } from './core.js';
import { activityFromDoc, entryFromDoc } from './mappers.js';
import { conversationChain } from './merge.js';
import { personSummary } from './people.js';
import { firstName, renderTemplate as render } from './settings.js';
import type { ActivityView, ContactTicketView, EntryView, PersonRef, TicketView } from './types.js';
import { toView } from './views.js';

/** Use case: a ticket with its whole conversation (merged tickets' included), for technicians. */
export async function getTicket(core: TicketCore, number: number): Promise<TicketView> {
  const t = await core.ticketDoc(number);
  if (!t) throw notFound(`ticket #${number}`);
  const chain = await conversationChain(core, t);
  return toView(core, t, await conversationEntries(core, chain, 'all'));
}

/**
 * Use case: what the requester (or a CC'd end user) may see. Internal notes are excluded by the
 * database query itself, so no later rendering step can leak one.
 */
export async function getContactView(core: TicketCore, number: number): Promise<ContactTicketView> {
  const t = await core.ticketDoc(number);
  if (!t) throw notFound(`ticket #${number}`);
  const entries = await conversationEntries(core, await conversationChain(core, t), 'public');
  const people = await core.people.getMany([String(t.requesterId), ...(t.assigneeId ? [String(t.assigneeId)] : [])]);
  const requester = people.get(String(t.requesterId));
  const assignee = t.assigneeId ? people.get(String(t.assigneeId)) : undefined;
  return {
    number: t.number, title: t.title, status: t.status, statusCategory: t.statusCategory as ContactTicketView['statusCategory'],
    requester: requester ? personSummary(requester) : null,
    assignee: assignee ? { name: assignee.name || 'Support' } : null,
    mergedInto: t.mergedInto ?? null, createdAt: t.createdAt, updatedAt: t.updatedAt,
    entries,
  };
}

/** Public entries only: the single query every end-user path reads the conversation through. */
export async function publicEntries(core: TicketCore, numbers: number[]): Promise<EntryView[]> {
  return conversationEntries(core, { numbers: [...new Set(numbers)] }, 'public');
}

/**
 * A conversation's entries, oldest first, in one query on the `{ticketNumber, createdAt}` index.
 * For end users the query itself fetches only entries recorded as public (and never a note), and
 * each one is checked again here, so no internal note can pass even if a document were wrong.
 */
async function conversationEntries(core: TicketCore, chain: { numbers: number[] }, which: 'all' | 'public'): Promise<EntryView[]> {
  const filter: Record<string, unknown> = { ticketNumber: { $in: chain.numbers } };
  if (which === 'public') Object.assign(filter, { visibility: 'public', kind: { $ne: 'note' } });
  // Entries written at the same instant (a merge's two notices) in creation order: ObjectIds made
  // in one process increase.
  const docs = await core.models.Entry.find(filter).sort({ createdAt: 1, _id: 1 }).lean<EntryDoc[]>();
  const views = docs.map(entryFromDoc);
  return which === 'public' ? views.filter((e) => e.visibility === 'public' && e.kind !== 'note') : views;
}

export async function getEntry(core: TicketCore, entryId: string): Promise<EntryView | null> {
  if (!Types.ObjectId.isValid(entryId)) return null;
  const e = await core.models.Entry.findById(entryId).lean();
  return e ? entryFromDoc(e) : null;
}

export async function getActivity(core: TicketCore, number: number): Promise<ActivityView[]> {
  const exists = await core.ticketDoc(number, { number: 1 });
  if (!exists) throw notFound(`ticket #${number}`);
  const docs = await core.models.Activity.find({ ticketNumber: number }).sort({ at: 1, _id: 1 }).lean();
  return docs.map(activityFromDoc);
}

/** Renders a quick-reply template for a ticket, server-side. */
export async function renderTemplate(core: TicketCore, templateId: string, number: number, technicianRef: PersonRef): Promise<string> {
  const tpl = await core.settings.getTemplate(templateId);
  const tech = await core.people.resolveTechnician(technicianRef, 'technician');
  const t = await core.ticketDoc(number);
  if (!t) throw notFound(`ticket #${number}`);
  const requester = await core.people.get(String(t.requesterId));
  const rName = requester?.name || requester?.primaryEmail || '';
  const tName = tech.name || tech.primaryEmail;
  return render(tpl.body, {
    requester: { name: rName, firstName: firstName(rName), email: requester?.primaryEmail ?? '' },
    ticket: { number: t.number, title: t.title, status: t.status },
    technician: { name: tName, firstName: firstName(tName), email: tech.primaryEmail },
  });
}

/**
 * Who may read a ticket as an end user: its requester, people CC'd on it and its customer
 * (for customer admins). No conversation is read, so no note can leak through this call.
 */
export async function participantsOf(core: TicketCore, number: number): Promise<{ number: number; requesterId: string; ccPersonIds: string[]; customer: string | null } | null> {
  const t = await core.ticketDoc(number, { number: 1, requesterId: 1, cc: 1, customer: 1 });
  if (!t) return null;
  return {
    number: t.number, requesterId: String(t.requesterId),
    ccPersonIds: (t.cc ?? []).flatMap((c) => (c.personId ? [String(c.personId)] : [])), customer: t.customer ?? null,
  };
}

/** When the ticket got its current status: its last status change, else its creation. */
export async function statusSince(core: TicketCore, number: number): Promise<Date> {
  const a = await core.models.Activity.findOne({ ticketNumber: number, action: 'field_changed', field: 'status' }).sort({ at: -1 }).lean();
  if (a) return a.at;
  const t = await core.ticketDoc(number, { createdAt: 1 });
  if (!t) throw notFound(`ticket #${number}`);
  return t.createdAt;
}

/**
 * A page of tickets (ascending number) that time-based automation rules may concern: by status,
 * or the end user wrote last before a time. Merged tickets are left out.
 */
export async function timeRuleCandidates(
  core: TicketCore,
  q: { status?: string; lastByContactBefore?: Date; excludeCategories?: string[] },
  afterNumber = 0,
  limit = 200,
): Promise<{ number: number; status: string; statusCategory: string; last: { authorKind: string; at: Date } | null }[]> {
  const filter: Record<string, unknown> = { mergedInto: null };
  if (q.status) filter.status = q.status;
  if (q.lastByContactBefore) {
    filter['last.author.kind'] = 'contact';
    filter['last.at'] = { $lte: q.lastByContactBefore };
  }
  if (q.excludeCategories?.length) filter.statusCategory = { $nin: q.excludeCategories };
  // Bounded windows of numbers (an open `$gt` would have the engine sort every later ticket on
  // each page, list.ts explains why), widened while they come back short, up to the newest number.
  const top = (await core.models.Counter.findOne({ _id: 'ticket' }).lean())?.seq ?? 0;
  const docs: TicketDoc[] = [];
  for (let lo = afterNumber, width = Math.max(limit * 4, 500); lo < top && docs.length < limit; lo += width, width *= 4) {
    docs.push(...(await core.models.Ticket.find({ ...filter, number: { $gt: lo, $lte: lo + width } }, { number: 1, status: 1, statusCategory: 1, last: 1 })
      .sort({ number: 1 }).limit(limit - docs.length).lean<TicketDoc[]>()));
  }
  return docs.map((t) => ({
    number: t.number, status: t.status, statusCategory: t.statusCategory,
    last: t.last ? { authorKind: t.last.author?.kind ?? 'system', at: t.last.at } : null,
  }));
}
