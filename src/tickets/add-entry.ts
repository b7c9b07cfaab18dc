import { searchWords, withWords } from '../domain/search-words.js';
import { Types } from 'mongoose';
import { forbidden, invalid, notFound } from '../domain/errors.js';
import {
  activityStatusAfterEntry, authorKindFor, capComment, excerpt, resolveStatus, visibilityOf,
  type ActivityStatus, type EntryKind,
} from '../domain/ticket-rules.js';
import type { EntryDoc, TicketDoc } from '../store/models.js';
import { CAPPED_SOURCES, MAX_MERGE_DEPTH, MergedInto, authorOf, type Plan, type TicketCore, type Written } from './core.js';
import { newOpId, type PendingOp } from './dispatcher.js';
import { entryFromDoc } from './mappers.js';
import {
  SYSTEM_ACTOR,
  type AddEntryInput, type Author, type EntryAddedData, type EntryView, type FieldChange, type TicketHeaderView,
} from './types.js';
import { headerView } from './views.js';

/**
 * Use case: a public reply, internal note or chat message. A reply or note may set the status in
 * the same call; if it does not, the status stays. A contact never changes the status. Entries for
 * a ticket merged into another land in the surviving ticket.
 */
export async function addEntry(core: TicketCore, number: number, input: AddEntryInput): Promise<{ ticket: TicketHeaderView; entry: EntryView }> {
  if (!['reply', 'note', 'chat'].includes(input.kind)) throw invalid('kind', 'one of "reply", "note", "chat"');
  const rawText = typeof input.text === 'string' ? input.text : '';
  if (!rawText.trim() && !(input.attachments?.length)) throw invalid('text', 'must not be empty');
  // Not found is answered before anyone is created; whether the ticket was merged is seen by the
  // write, which reads it anyway, and followed there.
  if (!(await core.ticketDoc(number, { _id: 1 }))) throw notFound(`ticket #${number}`);
  let targetNumber = number;
  core.checkEmails(input.cc ?? [], 'cc');
  const systemName = 'system' in input.author ? input.author.system : null;
  // Only a plain reply may come from someone we have never seen (a contact on first contact);
  // a note or a status change needs a known technician, so a refusal creates nobody.
  const mayCreate = input.kind !== 'note' && !input.status;
  const person = 'system' in input.author ? null
    : mayCreate ? await core.people.resolveOrCreateContact(input.author, 'author')
    : await core.people.resolve(input.author, 'author');
  const settings = await core.settings.get();
  const status = input.status != null && input.status !== '' ? resolveStatus(input.status, settings.customStatuses) : null;
  if (input.status && !status) throw invalid('status', `unknown status "${input.status}"`);
  const cc = await core.resolveCc(input.cc ?? [], 'cc');
  const capped = CAPPED_SOURCES.has(input.source) ? capComment(rawText) : { text: rawText, truncated: false };
  const mentionIds = input.kind === 'note' ? await core.resolveMentions(rawText, input.mentions ?? []) : [];
  const entryId = new Types.ObjectId();
  let entryDoc: Record<string, unknown> | null = null;

  const entryPlan = (t: TicketDoc): Plan => {
    const kind = person
      ? authorKindFor({ id: String(person._id), roles: person.roles as never }, {
        requesterId: String(t.requesterId), assigneeId: t.assigneeId ? String(t.assigneeId) : null,
      })
      : 'system';
    if (input.kind === 'note' && kind === 'contact') {
      throw forbidden('only technicians can write internal notes', 'kind');
    }
    if (status && kind === 'contact') throw forbidden('a contact\'s reply never changes the status', 'status');
    const author: Author = person ? authorOf(person, kind as 'technician' | 'contact') : { ...SYSTEM_ACTOR, name: systemName ?? SYSTEM_ACTOR.name };
    const now = new Date();
    const entryKind: EntryKind = input.kind;
    const visibility = visibilityOf(entryKind);
    const set: Record<string, unknown> = {};
    const changes: FieldChange[] = [];
    const ops: PendingOp[] = [];
    const tid = t._id;
    entryDoc = {
      _id: entryId, ticketId: tid, ticketNumber: t.number, kind: entryKind, visibility, author, source: input.source,
      text: capped.text, html: input.html ?? null, truncated: capped.truncated, attachments: input.attachments ?? [],
      cc: cc.map((c) => ({ email: c.email, personId: c.personId })), mentions: mentionIds.map((id) => new Types.ObjectId(id)),
      messageId: input.messageId ?? null, external: input.external ?? {}, createdAt: now,
    };
    ops.push({ id: newOpId(), op: 'entry', doc: entryDoc });
    const nextActivity = activityStatusAfterEntry(t.activityStatus as ActivityStatus, { kind: entryKind, authorKind: kind });
    if (nextActivity !== t.activityStatus) set.activityStatus = nextActivity;
    if (visibility === 'public') set.last = { author, excerpt: excerpt(capped.text), at: now, entryId };
    // Search words: a note's only in the technicians' list, so no end-user search can find it by them.
    const said = searchWords(capped.text);
    const all = withWords(t.searchWords, said);
    if (all) set.searchWords = all;
    const seenByContact = visibility === 'public' ? withWords(t.publicSearchWords, said) : null;
    if (seenByContact) set.publicSearchWords = seenByContact;
    let statusChange: FieldChange | null = null;
    if (status && status.name !== t.status) {
      statusChange = { field: 'status', from: t.status, to: status.name };
      changes.push(statusChange);
      set.status = status.name;
      set.statusCategory = status.category;
    }
    // CC'd addresses join the ticket's CC list (e.g. a technician CC'd by an end user).
    const known = new Set((t.cc ?? []).map((c) => c.email));
    const newCc = cc.filter((c) => !known.has(c.email) && c.personId !== String(t.requesterId));
    const push: Record<string, unknown> = {};
    if (newCc.length > 0) {
      push.cc = { $each: newCc.map((c) => ({ email: c.email, personId: c.personId ? new Types.ObjectId(c.personId) : null })) };
      changes.push({ field: 'cc', from: null, to: newCc.map((c) => c.email) });
    }
    const action = entryKind === 'note' ? 'note_added' : entryKind === 'chat' ? 'chat_added' : 'reply_added';
    ops.push(core.activityOp(tid, t.number, author, action, { meta: { entryId: String(entryId), source: input.source, visibility } }, now));
    for (const c of changes) ops.push(core.activityOp(tid, t.number, author, 'field_changed', c, now));
    const data: EntryAddedData = {
      entryId: String(entryId), kind: entryKind, visibility, source: input.source, authorKind: kind,
      mentions: mentionIds, cc: cc.map((c) => c.email), statusChange,
      redirectedFrom: t.number !== number ? number : null,
    };
    ops.push(core.eventOp('entry.added', tid, t.number, author, data as unknown as Record<string, unknown>, now));
    if (changes.length > 0) ops.push(core.eventOp('ticket.updated', tid, t.number, author, { changes }, now));
    return { set, push, ops };
  };
  let written: Written | null = null;
  for (let hop = 0, followMerged = true; ; hop++) {
    try {
      written = await core.mutate(targetNumber, (t) => {
        if (followMerged && t.mergedInto != null) throw new MergedInto(t.mergedInto);
        return entryPlan(t);
      });
      break;
    } catch (err) {
      if (!(err instanceof MergedInto)) throw err;
      // Like followMerges: stop at a missing ticket or at the depth limit, and write there.
      const next = await core.ticketDoc(err.into, { number: 1 });
      if (next && hop < MAX_MERGE_DEPTH) targetNumber = err.into;
      else followMerged = false;
    }
  }
  // Built from what was just written: no re-read of the ticket, none of the conversation.
  const ticket = await headerView(core, targetNumber, written?.after ?? null);
  return { ticket, entry: entryFromDoc(entryDoc! as unknown as EntryDoc) };
}

/** Use case: a system entry (public), e.g. a merge notice or an automatic message. */
export async function addSystemEntry(core: TicketCore, number: number, text: string, meta: Record<string, unknown> = {}): Promise<EntryView> {
  const entryId = new Types.ObjectId();
  let entryDoc: Record<string, unknown> | null = null;
  await core.mutate(number, (t) => {
    const now = new Date();
    entryDoc = core.systemEntryDoc(entryId, t._id, t.number, text, now, meta);
    return {
      ops: [
        { id: newOpId(), op: 'entry', doc: entryDoc },
        core.eventOp('entry.added', t._id, t.number, SYSTEM_ACTOR, {
          entryId: String(entryId), kind: 'system', visibility: 'public', source: 'system', authorKind: 'system',
          mentions: [], cc: [], statusChange: null, redirectedFrom: null,
        }, now),
      ],
    };
  });
  return entryFromDoc(entryDoc! as unknown as EntryDoc);
}
