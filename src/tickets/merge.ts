import { Types } from 'mongoose';
import { DeskbridgeError, conflict, invalid, notFound } from '../domain/errors.js';
import type { TicketDoc } from '../store/models.js';
import { MAX_MERGE_DEPTH, type TicketCore } from './core.js';
import { newOpId, type PendingOp } from './dispatcher.js';
import { getTicket } from './read.js';
import type { ActorRef, FieldChange, TicketView } from './types.js';

/** What conversation reads need from each ticket of a merge chain. */
export const CONVERSATION_FIELDS = { number: 1, mergedFrom: 1 } as const;

/** Use case: merge `number` into `into`. Its conversation shows in `into`; it is closed with a pointer. */
export async function merge(core: TicketCore, number: number, into: number, actorRef?: ActorRef): Promise<TicketView> {
  if (!Number.isInteger(into) || into <= 0) throw invalid('into', 'a ticket number');
  if (number === into) throw invalid('into', 'a ticket cannot be merged into itself');
  const actor = await core.actorFor(actorRef);
  const target = await core.ticketDoc(into);
  if (!target) throw new DeskbridgeError('NOT_FOUND', `into: ticket #${into} not found`, [{ field: 'into', message: `ticket #${into} not found` }]);
  if (target.mergedInto != null) throw invalid('into', `ticket #${into} was itself merged into #${target.mergedInto}`);
  if ((await conversationNumbers(core, into)).includes(number)) throw invalid('into', `ticket #${into} already contains #${number}`);

  await core.mutate(number, (t) => {
    if (t.mergedInto != null) throw conflict(`ticket #${t.number} was already merged into #${t.mergedInto}`);
    const now = new Date();
    const sourceEntry = new Types.ObjectId();
    const targetEntry = new Types.ObjectId();
    const changes: FieldChange[] = [{ field: 'mergedInto', from: null, to: into }];
    const set: Record<string, unknown> = { mergedInto: into };
    if (t.statusCategory !== 'Closed' || t.status !== 'Closed') {
      changes.push({ field: 'status', from: t.status, to: 'Closed' });
      set.status = 'Closed';
      set.statusCategory = 'Closed';
    }
    const ops: PendingOp[] = [
      { id: newOpId(), op: 'entry', doc: core.systemEntryDoc(sourceEntry, t._id, t.number, `Merged into ticket #${into}.`, now, { mergedInto: into }) },
      core.activityOp(t._id, t.number, actor, 'merged_into', { to: into, meta: { into } }, now),
      ...changes.filter((c) => c.field === 'status').map((c) => core.activityOp(t._id, t.number, actor, 'field_changed', c, now)),
      // The source's words go with its conversation, so a search finds the ticket it now lives in.
      { id: newOpId(), op: 'linkMerge', target: into, source: t.number, words: t.searchWords ?? [], publicWords: t.publicSearchWords ?? [] },
      { id: newOpId(), op: 'entry', doc: core.systemEntryDoc(targetEntry, target._id, into, `Ticket #${t.number} (${t.title}) was merged into this ticket.`, now, { mergedFrom: t.number }) },
      core.activityOp(target._id, into, actor, 'merged_from', { from: t.number, meta: { from: t.number } }, now),
      core.eventOp('ticket.merged', t._id, t.number, actor, { into, from: t.number, changes }, now),
      core.eventOp('ticket.merged', target._id, into, actor, { into, from: t.number, changes: [{ field: 'mergedFrom', from: null, to: t.number }] }, now),
    ];
    return { set, ops };
  });
  // The target's half rode along in the source's pending writes; its card must re-render too.
  return getTicket(core, number);
}

/** The ticket and every ticket merged into it, transitively. */
export async function conversationNumbers(core: TicketCore, number: number): Promise<number[]> {
  const root = await core.ticketDoc(number, CONVERSATION_FIELDS);
  return root ? (await conversationChain(core, root)).numbers : [number];
}

/**
 * The ticket and every ticket merged into it, transitively. `numbers` also keeps numbers whose
 * ticket is missing (as conversationNumbers always did); `docs` are those found.
 */
export async function conversationChain(core: TicketCore, root: TicketDoc): Promise<{ numbers: number[]; docs: TicketDoc[] }> {
  const seen = new Set<number>([root.number]);
  const docs: TicketDoc[] = [root];
  let frontier: TicketDoc[] = [root];
  for (let depth = 0; depth < MAX_MERGE_DEPTH && frontier.length > 0; depth++) {
    const next = [...new Set(frontier.flatMap((d) => d.mergedFrom ?? []))].filter((n) => !seen.has(n));
    for (const n of next) seen.add(n);
    frontier = (await Promise.all(next.map((n) => core.ticketDoc(n, CONVERSATION_FIELDS)))).filter((d): d is TicketDoc => d !== null);
    docs.push(...frontier);
  }
  return { numbers: [...seen], docs };
}

/** The ticket that now holds this one's conversation (itself, unless merged). */
export async function followMerges(core: TicketCore, number: number): Promise<TicketDoc> {
  const first = await core.ticketDoc(number);
  if (!first) throw notFound(`ticket #${number}`);
  let t: TicketDoc = first;
  for (let i = 0; i < MAX_MERGE_DEPTH && t.mergedInto != null; i++) {
    const next: TicketDoc | null = await core.ticketDoc(t.mergedInto);
    if (!next) break;
    t = next;
  }
  return t;
}
