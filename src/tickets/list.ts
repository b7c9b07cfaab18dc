import { invalid } from '../domain/errors.js';
import { PRIORITIES, resolveStatus } from '../domain/ticket-rules.js';
import type { TicketDoc } from '../store/models.js';
import type { TicketCore } from './core.js';
import { searchMatches } from './search.js';
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
  /** Free text over title and conversation (text indexes); results by relevance. */
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

export const LIST_SORTS = ['number', 'updated', 'created', 'priority'] as const;
type Sort = (typeof LIST_SORTS)[number];

/** Highest first. */
const PRIORITY_ORDER = [...PRIORITIES].reverse();
const LIST_FIELDS = { pending: 0, description: 0, searchWords: 0, publicSearchWords: 0 } as const;
/** Each widening of a window multiplies its width by this. */
const GROWTH = 4;

/*
 * Keyset windows. DocumentDB (the embedded engine) does not serve a sort from an index: a query
 * sorted by `number` fetches and sorts every ticket that matches its filter (a status page at 100k
 * tickets sorts 25k documents). So a page is read as a few bounded windows of the sort key, newest
 * first: `{...filter, number: {$gt: lo, $lt: hi}}`, which the index on the sort key answers with
 * only the window's documents, sorted in memory. A window that does not fill the page is followed
 * by the next one below it, each wider than the last, so a rare filter needs a handful of queries,
 * not a scan. The cursor is the last row's sort key (+ number as the tie-break), so page 2 costs
 * what page 1 does. On MongoDB the same queries are served in index order.
 */

interface Cursor {
  /** Sort the cursor was made for. */
  s: Sort;
  /** Last row's number. */
  n: number;
  /** Last row's sort value: a time (ms) for updated/created, a PRIORITY_ORDER index for priority. */
  v?: number;
  /** Relevance pages (q): rows already shown. */
  o?: number;
}

const encode = (c: Cursor) => Buffer.from(JSON.stringify(c)).toString('base64url');

function decode(raw: string, sort: Sort, searching: boolean): Cursor {
  const bad = () => invalid('cursor', 'not a cursor this API returned');
  const text = Buffer.from(raw, 'base64url').toString();
  // Cursors of the first API version: the last number, newest-number order.
  if (/^\d+$/.test(text)) {
    if (sort !== 'number' || searching) throw bad();
    return { s: 'number', n: Number(text) };
  }
  let c: Cursor;
  try { c = JSON.parse(text) as Cursor; } catch { throw bad(); }
  if (!c || c.s !== sort || !Number.isInteger(c.n) || c.n < 0) throw bad();
  if (searching ? !Number.isInteger(c.o) || c.o! < 0 : c.o !== undefined) throw bad();
  if ((sort === 'updated' || sort === 'created' || sort === 'priority') && !searching && !Number.isFinite(c.v)) throw bad();
  return c;
}

/** Use case: a page of the ticket list (console, Slack, Teams, portal, API). */
export async function listTickets(core: TicketCore, filter: ListFilter = {}): Promise<ListResult> {
  const limit = Math.min(Math.max(filter.limit ?? 25, 1), 100);
  const sort: Sort = filter.sort ?? 'number';
  if (!LIST_SORTS.includes(sort)) throw invalid('sort', `one of ${LIST_SORTS.join(', ')}`);
  const q = await filterQuery(core, filter);
  if (!q) return { items: [], next: null };
  const cursor = filter.cursor ? decode(filter.cursor, sort, Boolean(filter.q?.trim())) : null;

  if (filter.q?.trim()) {
    // Relevance order; end-user views (participant, customer) match only public conversation.
    const audience = filter.participant || filter.customer ? 'end-user' : 'technician';
    const ranked = await searchMatches(core, filter.q, q, audience);
    const offset = cursor?.o ?? 0;
    const slice = ranked.slice(offset, offset + limit);
    const docs = slice.length ? await core.models.Ticket.find({ number: { $in: slice } }, LIST_FIELDS).lean<TicketDoc[]>() : [];
    const byNumber = new Map(docs.map((d) => [d.number, d]));
    const page = slice.flatMap((n) => byNumber.get(n) ?? []);
    const next = ranked.length > offset + limit ? encode({ s: sort, n: 0, o: offset + limit }) : null;
    return { items: await summaries(core, page), next };
  }

  const rows = await keysetPage(core, q, sort, cursor, limit + 1);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  const next = rows.length > limit && last ? encode(cursorAfter(sort, last)) : null;
  return { items: await summaries(core, page), next };
}

/** The filter part of a list query, or null when it can match nothing. */
async function filterQuery(core: TicketCore, filter: ListFilter): Promise<Record<string, unknown> | null> {
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
    if (!p) return null;
    q.requesterId = p._id;
  }
  if (filter.participant) {
    const p = await core.people.get(filter.participant);
    if (!p) return null;
    q.$or = [{ requesterId: p._id }, { 'cc.personId': p._id }];
  }
  if (filter.customer) q.customer = filter.customer;
  if (filter.priority) q.priority = filter.priority;
  if (filter.activityStatus) q.activityStatus = filter.activityStatus;
  return q;
}

async function summaries(core: TicketCore, page: TicketDoc[]): Promise<TicketSummary[]> {
  const people = await core.people.getMany(page.flatMap((t) => [String(t.requesterId), ...(t.assigneeId ? [String(t.assigneeId)] : [])]));
  return page.map((t) => toSummary(t, people));
}

function cursorAfter(sort: Sort, t: TicketDoc): Cursor {
  if (sort === 'updated') return { s: sort, n: t.number, v: new Date(t.updatedAt).getTime() };
  if (sort === 'created') return { s: sort, n: t.number, v: new Date(t.createdAt).getTime() };
  if (sort === 'priority') return { s: sort, n: t.number, v: Math.max(0, PRIORITY_ORDER.indexOf(t.priority as never)) };
  return { s: sort, n: t.number };
}

/** One run of windows of the ticket number, newest first (time sorts: see timeWindow). */
interface Lane {
  field: 'number';
  /** Extra equality filter of this lane (a priority). */
  extra?: Record<string, unknown>;
  /** Exclusive upper bound. */
  hi: number;
  /** Lowest value that can exist: windows stop here. */
  floor: number;
  /** First window's width. */
  width: number;
}

async function keysetPage(core: TicketCore, q: Record<string, unknown>, sort: Sort, cursor: Cursor | null, want: number): Promise<TicketDoc[]> {
  const top = await topNumber(core);
  const numberWidth = Math.max(4 * want, 100);
  const lanes: Lane[] = [];
  if (sort === 'number') {
    lanes.push({ field: 'number', hi: cursor ? cursor.n : top + 1, floor: 0, width: numberWidth });
  } else if (sort === 'priority') {
    const from = cursor?.v ?? 0;
    for (let p = from; p < PRIORITY_ORDER.length; p++) {
      lanes.push({ field: 'number', extra: { priority: PRIORITY_ORDER[p] }, hi: cursor && p === from ? cursor.n : top + 1, floor: 0, width: numberWidth });
    }
  } else {
    const field = sort === 'updated' ? 'updatedAt' : 'createdAt';
    const out: TicketDoc[] = [];
    // The rest of the cursor's tie group first (same time, lower numbers: few, found by the time
    // index), then strictly older times.
    if (cursor) {
      const ties = { ...q, [field]: new Date(cursor.v!), number: { $lt: cursor.n } };
      out.push(...(await core.models.Ticket.find(ties, LIST_FIELDS).sort({ number: -1 }).limit(want).lean<TicketDoc[]>()));
    }
    if (out.length < want) out.push(...(await timeWindow(core, q, field, cursor ? cursor.v! : null, want - out.length, top, numberWidth)));
    return out;
  }
  const out: TicketDoc[] = [];
  for (const lane of lanes) {
    if (out.length >= want) break;
    out.push(...(await runLane(core, q, lane, want - out.length)));
  }
  return out;
}

async function runLane(core: TicketCore, q: Record<string, unknown>, lane: Lane, want: number, fields: Record<string, 0 | 1> = LIST_FIELDS): Promise<TicketDoc[]> {
  const out: TicketDoc[] = [];
  let hi = lane.hi;
  let width = lane.width;
  for (;;) {
    const lo = Math.max(lane.floor, hi - width);
    const query = { ...q, ...(lane.extra ?? {}), number: { $gt: lo, $lt: hi } };
    out.push(...(await core.models.Ticket.find(query, fields).sort({ number: -1 }).limit(want - out.length).lean<TicketDoc[]>()));
    if (out.length >= want || lo <= lane.floor) return out;
    hi = lo;
    width *= GROWTH;
  }
}

/** The highest ticket number: the counter (tickets are never deleted); a sorted query would read them all. */
async function topNumber(core: TicketCore): Promise<number> {
  const c = await core.models.Counter.findOne({ _id: 'ticket' }).lean();
  return c?.seq ?? 0;
}

/**
 * The `want` newest tickets by a time field below `hi` (null: no bound), newest first, in two
 * bounded reads. A time window sized blind (from a pace) fails on gaps: widened across a quiet
 * year it holds every ticket, which DocumentDB then sorts (the console's default `updated` list
 * at 10k tickets). Instead the newest tickets *by number* with a time below `hi` (number windows,
 * cheap) give a floor: at least `want` tickets have a time ≥ the oldest of theirs, so the page
 * lies within [that time, hi). That window holds those tickets plus the older-numbered ones
 * changed since — about a page when recent work is on recent tickets, as in a helpdesk.
 */
async function timeWindow(core: TicketCore, q: Record<string, unknown>, field: 'updatedAt' | 'createdAt', hi: number | null, want: number, top: number, numberWidth: number): Promise<TicketDoc[]> {
  const below = hi === null ? {} : { [field]: { $lt: new Date(hi) } };
  const probe = await runLane(core, { ...q, ...below }, { field: 'number', hi: top + 1, floor: 0, width: numberWidth }, want, { number: 1, [field]: 1 });
  if (probe.length === 0) return [];
  const lo = Math.min(...probe.map((t) => new Date(t[field]).getTime()));
  const range = { $gte: new Date(lo), ...(hi === null ? {} : { $lt: new Date(hi) }) };
  return core.models.Ticket.find({ ...q, [field]: range }, LIST_FIELDS).sort({ [field]: -1, number: -1 }).limit(want).lean<TicketDoc[]>();
}
