import { invalid } from '../domain/errors.js';
import { resolveStatus } from '../domain/ticket-rules.js';
import type { TicketDoc } from '../store/models.js';
import type { TicketCore } from './core.js';
import type { TicketSummary } from './types.js';
import { toSummary } from './views.js';

export interface ListFilter {
  status?: string;
  assignee?: string | 'none';
  requester?: string;
  customer?: string;
  /** Tickets where this person is requester or CC'd (the portal's and DMs' view). */
  participant?: string;
  priority?: string;
  activityStatus?: string;
  /** Free text over title and conversation. */
  q?: string;
  /** Newest number first by default. */
  sort?: 'number' | 'updated' | 'created' | 'priority';
  cursor?: string;
  limit?: number;
}

export interface ListResult {
  items: TicketSummary[];
  next: string | null;
}

/** Use case: a page of the ticket list (console, Slack, Teams, portal, API). */
export async function listTickets(core: TicketCore, filter: ListFilter = {}): Promise<ListResult> {
  const limit = Math.min(Math.max(filter.limit ?? 25, 1), 100);
  const q: Record<string, unknown> = {};
  if (filter.status) {
    const settings = await core.settings.get();
    const s = resolveStatus(filter.status, settings.customStatuses);
    if (!s) throw invalid('status', `unknown status "${filter.status}"`);
    q.status = s.name;
  }
  if (filter.assignee === 'none') q.assigneeId = null;
  else if (filter.assignee) q.assigneeId = (await core.people.resolve(core.refFrom(filter.assignee), 'assignee'))._id;
  if (filter.requester) {
    const p = await core.people.findByEmail(filter.requester);
    if (!p) return { items: [], next: null };
    q.requesterId = p._id;
  }
  if (filter.participant) {
    const p = await core.people.get(filter.participant);
    if (!p) return { items: [], next: null };
    q.$or = [{ requesterId: p._id }, { 'cc.personId': p._id }];
  }
  if (filter.customer) q.customer = filter.customer;
  if (filter.priority) q.priority = filter.priority;
  if (filter.activityStatus) q.activityStatus = filter.activityStatus;
  // Interim: title match only, newest first; the database issue replaces this with a text index
  // over title and conversation, and the sort options with keyset paging.
  if (filter.q) q.title = { $regex: filter.q.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), $options: 'i' };
  if (filter.cursor) {
    const n = Number.parseInt(Buffer.from(filter.cursor, 'base64url').toString(), 10);
    if (!Number.isInteger(n) || n <= 0) throw invalid('cursor', 'not a cursor this API returned');
    q.number = { $lt: n };
  }
  const docs = await core.models.Ticket.find(q, { pending: 0, description: 0 }).sort({ number: -1 }).limit(limit + 1).lean<TicketDoc[]>();
  const page = docs.slice(0, limit);
  const people = await core.people.getMany(page.flatMap((t) => [String(t.requesterId), ...(t.assigneeId ? [String(t.assigneeId)] : [])]));
  const items = page.map((t) => toSummary(t, people));
  const next = docs.length > limit ? Buffer.from(String(page[page.length - 1]!.number)).toString('base64url') : null;
  return { items, next };
}
