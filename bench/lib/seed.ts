import { Types } from 'mongoose';
import type { Db } from 'mongodb';
import type { AuthorDoc, EntryDoc, TicketDoc } from '../../src/store/models.js';
import { excerpt } from '../../src/domain/ticket-rules.js';

/*
 * Bulk test data for the list/view benchmark, written straight into the collections because
 * creating a million entries through the API would take hours. The documents have exactly the
 * shapes TicketService.createTicket/addEntry write (typed by the core's TicketDoc/EntryDoc, so a
 * change of shape in the core breaks this file's compile rather than silently skewing the
 * figures). Activities and events are not generated: the list and the ticket view do not read them.
 */

export interface SeedPeople {
  contacts: { _id: Types.ObjectId; name: string; email: string }[];
  technicians: { _id: Types.ObjectId; name: string; email: string }[];
}

const STATUSES: [string, string][] = [['Open', 'Open'], ['Pending', 'Pending'], ['Resolved', 'Resolved'], ['Closed', 'Closed']];
const PRIORITIES = ['Low', 'Medium', 'High', 'Urgent'];
const SENTENCES = [
  'The VPN drops every hour since the last update.', 'Outlook asks for my password again and again.',
  'The printer on the third floor shows a paper jam that is not there.', 'I cannot open the shared drive from home.',
  'Please reset my MFA device, I got a new phone.', 'The laptop fan is very loud and it gets hot.',
];

const author = (kind: 'technician' | 'contact', p: { _id: Types.ObjectId; name: string; email: string }): AuthorDoc =>
  ({ kind, personId: p._id, name: p.name, email: p.email });

/** One ticket and its entries, numbered `n`, as the service would have written them. */
export function ticketWithEntries(n: number, entriesPerTicket: number, people: SeedPeople, base: Date): { ticket: TicketDoc; entries: EntryDoc[] } {
  const ticketId = new Types.ObjectId();
  const requester = people.contacts[n % people.contacts.length]!;
  const assignee = n % 5 === 0 ? null : people.technicians[n % people.technicians.length]!;
  const created = new Date(base.getTime() + n * 60_000);
  const entries: EntryDoc[] = [];
  let last: TicketDoc['last'] = null;
  for (let i = 0; i < entriesPerTicket; i++) {
    const fromContact = i % 2 === 0;
    const isNote = !fromContact && i % 4 === 3;
    const who = fromContact ? author('contact', requester) : author('technician', assignee ?? people.technicians[0]!);
    const text = `${SENTENCES[(n + i) % SENTENCES.length]} (#${n}, message ${i + 1})`;
    const entry: EntryDoc = {
      _id: new Types.ObjectId(), ticketId, ticketNumber: n, kind: isNote ? 'note' : 'reply', visibility: isNote ? 'internal' : 'public',
      author: who, source: fromContact ? 'email' : 'slack', text, html: null, truncated: false, attachments: [], cc: [], mentions: [],
      messageId: fromContact ? `<seed-${n}-${i}@corp.example>` : null, external: {}, createdAt: new Date(created.getTime() + i * 1000),
    };
    entries.push(entry);
    if (!isNote) last = { author: who, excerpt: excerpt(text), at: entry.createdAt, entryId: entry._id };
  }
  const [status, statusCategory] = STATUSES[n % STATUSES.length]!;
  const ticket: TicketDoc = {
    _id: ticketId, number: n, title: `${SENTENCES[n % SENTENCES.length]!.slice(0, 40)} #${n}`, description: entries[0]?.text ?? '',
    status, statusCategory, priority: PRIORITIES[n % PRIORITIES.length]!, impact: null, type: 'Incident', productFamily: null,
    customer: `Customer ${n % 20}`, requesterId: requester._id, assigneeId: assignee?._id ?? null, cc: [],
    activityStatus: 'Waiting for contact reply', sentiment: null, source: 'email', mergedInto: null, mergedFrom: [],
    timeSpentMinutes: 0, timers: [], last, channelRefs: {}, pending: [], version: entriesPerTicket,
    createdAt: created, updatedAt: entries.at(-1)?.createdAt ?? created,
  };
  return { ticket, entries };
}

/**
 * Adds tickets numbered from+1..to in batches and moves the ticket counter, so tickets created
 * through the API afterwards continue the sequence. Calls `progress` after each batch.
 */
export async function seedTickets(db: Db, from: number, to: number, entriesPerTicket: number, people: SeedPeople, progress?: (done: number) => void): Promise<void> {
  const batch = 500;
  const base = new Date(Date.UTC(2025, 0, 1));
  for (let start = from + 1; start <= to; start += batch) {
    const tickets: TicketDoc[] = [];
    const entries: EntryDoc[] = [];
    for (let n = start; n < Math.min(start + batch, to + 1); n++) {
      const r = ticketWithEntries(n, entriesPerTicket, people, base);
      tickets.push(r.ticket);
      entries.push(...r.entries);
    }
    await db.collection('tickets').insertMany(tickets as never[], { ordered: false });
    if (entries.length) await db.collection('entries').insertMany(entries as never[], { ordered: false });
    progress?.(Math.min(start + batch - 1, to));
  }
  await db.collection('counters').updateOne({ _id: 'ticket' as never }, { $set: { seq: to } }, { upsert: true });
}
