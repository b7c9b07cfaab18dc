import { searchWords, withWords } from '../domain/search-words.js';
import { invalid } from '../domain/errors.js';
import { IMPACTS, PRIORITIES, TICKET_TYPES, activityStatusAfterRead, resolveStatus, type ActivityStatus } from '../domain/ticket-rules.js';
import { actorOf, authorOf, type TicketCore } from './core.js';
import type { PendingOp } from './dispatcher.js';
import { getTicket } from './read.js';
import { SYSTEM_ACTOR, type ActorRef, type Author, type FieldChange, type PersonRef, type TicketPatch, type TicketView } from './types.js';

/** Use case: change a ticket's fields (status, priority, assignee, requester, ...). */
export async function updateTicket(core: TicketCore, number: number, patch: TicketPatch, actorRef?: ActorRef): Promise<TicketView> {
  await changeFields(core, number, patch, actorRef);
  return getTicket(core, number);
}

/**
 * The same change without reading the whole ticket back (a card button needs no answer): true when
 * something changed, so the change's event will refresh the ticket's cards.
 */
export async function changeFields(core: TicketCore, number: number, patch: TicketPatch, actorRef?: ActorRef): Promise<boolean> {
  // "Assign to me": the actor and the assignee are one person, read once.
  const self = actorRef && 'personId' in actorRef && patch.assignee && 'personId' in patch.assignee && patch.assignee.personId === actorRef.personId
    ? await core.people.resolve(actorRef, 'actor') : null;
  const actor = self ? actorOf(self) : await core.actorFor(actorRef);
  const settings = await core.settings.get();
  const status = patch.status !== undefined ? resolveStatus(patch.status, settings.customStatuses) : undefined;
  if (patch.status !== undefined && !status) throw invalid('status', `unknown status "${patch.status}"`);
  if (patch.priority !== undefined && !PRIORITIES.includes(patch.priority)) throw invalid('priority', `one of ${PRIORITIES.join(', ')}`);
  if (patch.type !== undefined && !TICKET_TYPES.includes(patch.type)) throw invalid('type', `one of ${TICKET_TYPES.join(', ')}`);
  if (patch.impact != null && !IMPACTS.includes(patch.impact)) throw invalid('impact', `one of ${IMPACTS.join(', ')}`);
  if (patch.title !== undefined && (!patch.title.trim() || patch.title.length > 500)) throw invalid('title', 'must be 1 to 500 characters');
  const assignee = patch.assignee === undefined ? undefined : patch.assignee === null ? null : self ? core.people.requireTechnician(self, 'assignee') : await core.people.resolveTechnician(patch.assignee, 'assignee');
  const requester = patch.requester === undefined ? undefined : await core.people.resolveOrCreateContact(patch.requester, 'requester');
  const names = core.nameLookup([assignee, requester]);

  const written = await core.mutate(number, (t) => {
    const now = new Date();
    const set: Record<string, unknown> = {};
    const changes: FieldChange[] = [];
    const change = (field: string, from: unknown, to: unknown, extra: Record<string, unknown> = {}) => {
      if ((from ?? null) === (to ?? null)) return;
      changes.push({ field, from: from ?? null, to: to ?? null });
      Object.assign(set, extra);
    };
    if (status) change('status', t.status, status.name, { status: status.name, statusCategory: status.category });
    if (patch.priority !== undefined) change('priority', t.priority, patch.priority, { priority: patch.priority });
    if (patch.type !== undefined) change('type', t.type, patch.type, { type: patch.type });
    if (patch.impact !== undefined) change('impact', t.impact, patch.impact, { impact: patch.impact });
    if (patch.productFamily !== undefined) change('productFamily', t.productFamily, patch.productFamily?.trim() || null, { productFamily: patch.productFamily?.trim() || null });
    if (patch.customer !== undefined) change('customer', t.customer, patch.customer?.trim() || null, { customer: patch.customer?.trim() || null });
    if (patch.title !== undefined) {
      const title = patch.title.trim();
      change('title', t.title, title, { title, searchWords: withWords(t.searchWords, searchWords(title)) ?? t.searchWords ?? [], publicSearchWords: withWords(t.publicSearchWords, searchWords(title)) ?? t.publicSearchWords ?? [] });
    }
    if (assignee !== undefined) {
      const from = t.assigneeId ? String(t.assigneeId) : null;
      const to = assignee ? String(assignee._id) : null;
      if (from !== to) {
        changes.push({ field: 'assignee', from: from && (names.get(from) ?? from), to: to && (names.get(to) ?? to) });
        set.assigneeId = assignee?._id ?? null;
      }
    }
    if (requester !== undefined && String(requester._id) !== String(t.requesterId)) {
      changes.push({ field: 'requester', from: String(t.requesterId), to: requester.primaryEmail });
      set.requesterId = requester._id;
    }
    if (changes.length === 0) return null;
    const ops: PendingOp[] = changes.map((c) => core.activityOp(t._id, t.number, actor, 'field_changed', c, now));
    ops.push(core.eventOp('ticket.updated', t._id, t.number, actor, { changes }, now));
    return { set, ops };
  });
  return written !== null;
}

/** Use case: store the AI/lexicon sentiment. Cards re-render; not an activity-log line. */
export async function setSentiment(core: TicketCore, number: number, sentiment: { label: 'positive' | 'negative' | 'neutral'; score?: number; source: string }): Promise<void> {
  await core.mutate(number, (t) => {
    const now = new Date();
    const value = { ...sentiment, at: now };
    const changes = [{ field: 'sentiment', from: t.sentiment?.label ?? null, to: sentiment.label }];
    return { set: { sentiment: value }, ops: [core.eventOp('ticket.updated', t._id, t.number, SYSTEM_ACTOR, { changes }, now)] };
  });
}

/** Use case: a technician opened the ticket, so unread activity becomes read. */
export async function markRead(core: TicketCore, number: number, technician: PersonRef): Promise<void> {
  const tech = await core.people.resolveTechnician(technician, 'technician');
  await core.mutate(number, (t) => {
    const next = activityStatusAfterRead(t.activityStatus as ActivityStatus);
    if (next === t.activityStatus) return null;
    const now = new Date();
    const change = { field: 'activityStatus', from: t.activityStatus, to: next };
    return {
      set: { activityStatus: next },
      ops: [core.eventOp('ticket.updated', t._id, t.number, authorOf(tech, 'technician'), { changes: [change] }, now)],
    };
  });
}

/** Use case: record something that happened outside the ticket's fields (a failed email, a rule run). */
export async function recordActivity(core: TicketCore, number: number, action: string, meta: Record<string, unknown> = {}, actor: Author = SYSTEM_ACTOR): Promise<void> {
  await core.mutate(number, (t) => {
    const now = new Date();
    return {
      ops: [
        core.activityOp(t._id, t.number, actor, action, { meta }, now),
        core.eventOp('activity.recorded', t._id, t.number, actor, { action, meta }, now),
      ],
    };
  });
}
