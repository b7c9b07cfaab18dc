import { searchWords, withWords } from '../domain/search-words.js';
import { Types } from 'mongoose';
import { conflict, invalid } from '../domain/errors.js';
import {
  IMPACTS, PRIORITIES, TICKET_TYPES, capComment, excerpt, isEmail, resolveStatus, type ActivityStatus,
} from '../domain/ticket-rules.js';
import { isDuplicateKey, type EntryDoc, type TicketDoc } from '../store/models.js';
import { CAPPED_SOURCES, authorOf, type TicketCore } from './core.js';
import { newOpId, type PendingOp } from './dispatcher.js';
import { entryFromDoc } from './mappers.js';
import type { CreateTicketInput, TicketView } from './types.js';
import { toView } from './views.js';

/** Use case: open a ticket (from any channel), with its first entry when it has a body. */
export async function createTicket(core: TicketCore, input: CreateTicketInput): Promise<TicketView> {
  const title = input.title?.trim();
  if (!title) throw invalid('title', 'must not be empty');
  if (title.length > 500) throw invalid('title', 'at most 500 characters');
  if (input.priority && !PRIORITIES.includes(input.priority)) throw invalid('priority', `one of ${PRIORITIES.join(', ')}`);
  if (input.type && !TICKET_TYPES.includes(input.type)) throw invalid('type', `one of ${TICKET_TYPES.join(', ')}`);
  if (input.impact && !IMPACTS.includes(input.impact)) throw invalid('impact', `one of ${IMPACTS.join(', ')}`);
  const settings = await core.settings.get();
  const status = resolveStatus(input.status ?? 'Open', settings.customStatuses);
  if (!status) throw invalid('status', `unknown status "${input.status}"`);

  // Validate every address before writing anything, so bad input leaves nothing behind.
  if (!input.requester || typeof input.requester.email !== 'string' || !isEmail(input.requester.email)) {
    throw invalid('requester.email', 'must be an email address');
  }
  core.checkEmails(input.cc ?? [], 'cc');
  const createdBy = input.createdBy ? await core.people.resolveTechnician(input.createdBy, 'createdBy') : null;
  const assignee = input.assignee ? await core.people.resolveTechnician(input.assignee, 'assignee') : null;
  const requester = await core.people.ensureContact(input.requester.email, input.requester.name, 'requester.email');
  const cc = await core.resolveCc(input.cc ?? [], 'cc');

  const description = CAPPED_SOURCES.has(input.source) ? capComment(input.description ?? '') : { text: input.description ?? '', truncated: false };
  const ticketId = new Types.ObjectId();
  const now = new Date();
  const build = (number: number) => {
    const requesterAuthor = authorOf(requester, 'contact');
    const entryAuthor = createdBy ? authorOf(createdBy, 'technician') : requesterAuthor;
    const actor = createdBy ? authorOf(createdBy, 'technician') : requesterAuthor;
    const entryId = new Types.ObjectId();
    const ops: PendingOp[] = [];
    const hasBody = description.text.trim().length > 0 || (input.attachments?.length ?? 0) > 0;
    if (hasBody) {
      ops.push({
        id: newOpId(), op: 'entry',
        doc: {
          _id: entryId, ticketId, ticketNumber: number, kind: 'reply', visibility: 'public', author: entryAuthor,
          source: input.source, text: description.text, html: input.html ?? null, truncated: description.truncated,
          attachments: input.attachments ?? [], cc: cc.map((c) => ({ email: c.email, personId: c.personId })),
          mentions: [], messageId: input.messageId ?? null, external: input.external ?? {}, createdAt: now,
        },
      });
    }
    ops.push(core.activityOp(ticketId, number, actor, 'created', { meta: { source: input.source } }, now));
    ops.push(core.eventOp('ticket.created', ticketId, number, actor, { entryId: hasBody ? String(entryId) : null, source: input.source }, now));

    const words = withWords([], searchWords(`${title}\n${description.text}`)) ?? [];
    const activityStatus: ActivityStatus = createdBy ? 'Waiting for contact reply' : 'Unread';
    return {
      _id: ticketId, number, title, description: description.text,
      status: status.name, statusCategory: status.category,
      priority: input.priority ?? 'Medium', impact: input.impact ?? null, type: input.type ?? 'Incident',
      productFamily: input.productFamily ?? null, customer: input.customer ?? requester.customer ?? null,
      requesterId: requester._id, assigneeId: assignee?._id ?? null,
      cc: cc.map((c) => ({ email: c.email, personId: c.personId ? new Types.ObjectId(c.personId) : null })),
      activityStatus, sentiment: null, source: input.source, mergedInto: null, mergedFrom: [], timeSpentMinutes: 0,
      timers: [],
      last: hasBody ? { author: entryAuthor, excerpt: excerpt(description.text), at: now, entryId } : null,
      channelRefs: {}, pending: ops, version: 0, createdAt: now, updatedAt: now,
      // The description is the first public entry: both word lists start from title and description.
      searchWords: words, publicSearchWords: words,
    };
  };
  let created: ReturnType<typeof build> | null = null;
  const number = await insertWithNextNumber(core, (n) => (created = build(n)));
  const doc = created! as ReturnType<typeof build>;
  await core.dispatcher.applyPending(ticketId, doc.pending);
  // The view is built from what was just written: a new ticket's conversation is its first entry.
  const first = doc.pending.find((o) => o.op === 'entry');
  return toView(core, { ...doc, pending: [] } as unknown as TicketDoc, first ? [entryFromDoc(first.doc as unknown as EntryDoc)] : []);
}

/**
 * Sequential human numbers from an atomic counter. The unique index on `number` still backs it:
 * the counter can lag behind the tickets (a restored backup, an import, `deskbridge db migrate`
 * copying collections one by one), and then a duplicate resyncs it from the highest number.
 */
async function insertWithNextNumber(core: TicketCore, build: (n: number) => Record<string, unknown>): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const c = await core.models.Counter.findOneAndUpdate({ _id: 'ticket' }, { $inc: { seq: 1 } }, { upsert: true, returnDocument: 'after' }).lean();
    const n = c!.seq;
    try {
      await core.models.Ticket.collection.insertOne(build(n) as never);
      return n;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const top = await core.models.Ticket.findOne({}, { number: 1 }).sort({ number: -1 }).lean();
      await core.models.Counter.updateOne({ _id: 'ticket', seq: { $lt: top?.number ?? 0 } }, { $set: { seq: top?.number ?? 0 } });
    }
  }
  throw conflict('could not allocate a ticket number; try again');
}
