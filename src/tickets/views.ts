import { notFound } from '../domain/errors.js';
import type { ActivityStatus, Source } from '../domain/ticket-rules.js';
import type { PersonDoc, TicketDoc } from '../store/models.js';
import type { TicketCore } from './core.js';
import { authorFromDoc } from './mappers.js';
import { personSummary } from './people.js';
import type { EntryView, TicketHeaderView, TicketSummary, TicketView } from './types.js';

/** Views built from stored tickets, shared by the use cases that answer with a ticket. */

export function toSummary(t: TicketDoc, people: Map<string, PersonDoc>): TicketSummary {
  const requester = people.get(String(t.requesterId));
  const assignee = t.assigneeId ? people.get(String(t.assigneeId)) : undefined;
  return {
    id: String(t._id), number: t.number, title: t.title, status: t.status,
    statusCategory: t.statusCategory as TicketSummary['statusCategory'], priority: t.priority as TicketSummary['priority'],
    type: t.type as TicketSummary['type'], activityStatus: t.activityStatus as ActivityStatus,
    requester: requester ? personSummary(requester) : null, assignee: assignee ? personSummary(assignee) : null,
    mergedInto: t.mergedInto ?? null,
    customer: t.customer ?? null,
    sentimentLabel: (t.sentiment?.label ?? null) as TicketSummary['sentimentLabel'],
    last: t.last ? { excerpt: t.last.excerpt ?? '', author: authorFromDoc(t.last.author), at: t.last.at! } : null,
    createdAt: t.createdAt, updatedAt: t.updatedAt,
  };
}

export async function toView(core: TicketCore, t: TicketDoc, entries: EntryView[]): Promise<TicketView> {
  const ids = [String(t.requesterId), ...(t.assigneeId ? [String(t.assigneeId)] : [])];
  const ccIds = (t.cc ?? []).map((c) => String(c.personId ?? ''));
  const people = await core.people.getMany([...ids, ...ccIds]);
  const undeliverable = new Set<string>();
  for (const id of ccIds) for (const u of people.get(id)?.undeliverable ?? []) if (u.email) undeliverable.add(u.email);
  const summary = toSummary(t, people);
  const requester = people.get(String(t.requesterId));
  if (summary.requester && requester?.undeliverable?.some((u) => u.email === requester.primaryEmail)) summary.requester.undeliverable = true;
  return {
    ...summary,
    description: t.description ?? '', impact: (t.impact ?? null) as TicketView['impact'], productFamily: t.productFamily ?? null,
    customer: t.customer ?? null,
    cc: (t.cc ?? []).map((c) => ({ email: c.email, personId: c.personId ? String(c.personId) : null, ...(undeliverable.has(c.email) ? { undeliverable: true } : {}) })),
    sentiment: t.sentiment?.label ? { label: t.sentiment.label as 'positive', score: t.sentiment.score ?? undefined, at: t.sentiment.at!, source: t.sentiment.source ?? undefined } : null,
    source: t.source as Source, mergedFrom: t.mergedFrom ?? [], timeSpentMinutes: t.timeSpentMinutes ?? 0,
    runningTimers: (t.timers ?? []).map((x) => ({ technicianId: String(x.technicianId), startedAt: x.startedAt! })),
    channelRefs: (t.channelRefs as Record<string, unknown>) ?? {},
    entries,
  };
}

/** A ticket's fields without its conversation, from a known document or one read. */
export async function headerView(core: TicketCore, number: number, doc: TicketDoc | null): Promise<TicketHeaderView> {
  const t = doc ?? (await core.ticketDoc(number));
  if (!t) throw notFound(`ticket #${number}`);
  const { entries: _none, ...header } = await toView(core, t, []);
  return header;
}
