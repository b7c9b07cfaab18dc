import type { Logger } from 'pino';
import type { PresenceView } from '../domain/presence.js';
import type { Models } from '../store/models.js';
import { addEntry, addSystemEntry } from './add-entry.js';
import * as refs from './channel-refs.js';
import { startChat } from './chat.js';
import { TicketCore } from './core.js';
import { headerView } from './views.js';
import { createTicket } from './create.js';
import { applyChatEdit, type ChatEdit, type EditOutcome, type HeldSend } from './entry-edits.js';
import type { Dispatcher } from './dispatcher.js';
import { listTickets, type ListFilter, type ListResult } from './list.js';
import { conversationNumbers, followMerges, merge } from './merge.js';
import { PeopleService } from './people.js';
import { expirePresence, markWorking, presence, type PresenceMemberView } from './presence.js';
import * as read from './read.js';
import { backfillSearchWords } from './search.js';
import { SettingsService } from './settings.js';
import { trackTime } from './time.js';
import { changeFields, markRead, recordActivity, setSentiment, updateTicket } from './update-fields.js';
import {
  SYSTEM_ACTOR,
  type ActivityView, type ActorRef, type AddEntryInput, type Author, type ContactTicketView, type CreateTicketInput,
  type DomainEvent, type EntryView, type PersonRef, type TicketHeaderView, type TicketPatch, type TicketView,
} from './types.js';
import type { TicketDoc } from '../store/models.js';

export type { ListFilter, ListResult } from './list.js';

/**
 * The one application service every channel calls: a thin facade over one module per use case
 * (create.ts, add-entry.ts, update-fields.ts, merge.ts, time.ts, chat.ts, presence.ts,
 * channel-refs.ts, read.ts, list.ts), all built on the shared write helper in core.ts. Each change
 * is a single atomic update of one ticket document that also carries the change's activity entries
 * and events (`pending`); the dispatcher then materialises them idempotently, so a crash between
 * writes loses and duplicates nothing.
 */
export class TicketService {
  readonly people: PeopleService;
  readonly settings: SettingsService;
  private readonly core: TicketCore;

  constructor(
    readonly models: Models,
    readonly dispatcher: Dispatcher,
    readonly logger: Logger,
  ) {
    this.people = new PeopleService(models);
    this.settings = new SettingsService(models);
    this.core = new TicketCore(models, dispatcher, logger, this.people, this.settings);
  }

  // creating, conversation, fields
  createTicket(input: CreateTicketInput): Promise<TicketView> { return createTicket(this.core, input); }
  addEntry(number: number, input: AddEntryInput): Promise<{ ticket: TicketHeaderView; entry: EntryView }> { return addEntry(this.core, number, input); }
  addSystemEntry(number: number, text: string, meta: Record<string, unknown> = {}): Promise<EntryView> { return addSystemEntry(this.core, number, text, meta); }
  updateTicket(number: number, patch: TicketPatch, actorRef?: ActorRef): Promise<TicketView> { return updateTicket(this.core, number, patch, actorRef); }
  /** updateTicket without reading the ticket back: true when something changed (its event refreshes the cards). */
  changeFields(number: number, patch: TicketPatch, actorRef?: ActorRef): Promise<boolean> { return changeFields(this.core, number, patch, actorRef); }
  setSentiment(number: number, sentiment: { label: 'positive' | 'negative' | 'neutral'; score?: number; source: string }): Promise<void> { return setSentiment(this.core, number, sentiment); }
  markRead(number: number, technician: PersonRef): Promise<void> { return markRead(this.core, number, technician); }
  /** A chat message behind an entry was edited or deleted (rule: entry-edits.ts). */
  applyChatEdit(input: { messageId: string; edit: ChatEdit; by: PersonRef; source: string; held?: HeldSend }): Promise<{ outcome: EditOutcome; ticketNumber: number | null }> { return applyChatEdit(this.core, input); }
  recordActivity(number: number, action: string, meta: Record<string, unknown> = {}, actor: Author = SYSTEM_ACTOR): Promise<void> { return recordActivity(this.core, number, action, meta, actor); }

  // merge
  merge(number: number, into: number, actorRef?: ActorRef): Promise<TicketView> { return merge(this.core, number, into, actorRef); }
  conversationNumbers(number: number): Promise<number[]> { return conversationNumbers(this.core, number); }
  followMerges(number: number): Promise<TicketDoc> { return followMerges(this.core, number); }

  // time, chat, presence
  trackTime(number: number, input: { minutes?: number; start?: boolean; stop?: boolean; note?: string }, technicianRef: PersonRef): Promise<{ ticket: TicketView; minutesAdded: number }> {
    return trackTime(this.core, number, input, technicianRef);
  }
  startChat(number: number, technicianRef: PersonRef, channel: 'slack' | 'teams'): Promise<TicketView> { return startChat(this.core, number, technicianRef, channel); }
  /** True when this made the person shown on the ticket (a card shows something new). */
  markWorking(number: number, personId: string, surface: string, ttlMs?: number): Promise<boolean> { return markWorking(this.core, number, personId, surface, ttlMs); }
  presence(number: number, viewerId?: string): Promise<PresenceView<PresenceMemberView>> { return presence(this.core, number, viewerId); }
  expirePresence(now?: Date): Promise<number> { return expirePresence(this.core, now); }

  // external ids
  setChannelRef(number: number, channel: string, ref: Record<string, unknown> | null): Promise<void> { return refs.setChannelRef(this.core, number, channel, ref); }
  claimChannelRef(number: number, channel: string, expectedAt: number | null, ref: Record<string, unknown> | null): Promise<boolean> { return refs.claimChannelRef(this.core, number, channel, expectedAt, ref); }
  setEntryExternal(entryId: string, key: string, value: unknown): Promise<void> { return refs.setEntryExternal(this.core, entryId, key, value); }
  setEntryMessageId(entryId: string, messageId: string): Promise<void> { return refs.setEntryMessageId(this.core, entryId, messageId); }
  findEntryByMessageId(messageId: string): Promise<EntryView | null> { return refs.findEntryByMessageId(this.core, messageId); }
  findTicketByChannelRef(channel: string, key: string, value: string): Promise<TicketView | null> { return refs.findTicketByChannelRef(this.core, channel, key, value); }

  // reading
  getTicket(number: number): Promise<TicketView> { return read.getTicket(this.core, number); }
  /** The ticket's fields without its conversation (cards, channel refs): no entry is read. */
  getTicketHeader(number: number): Promise<TicketHeaderView> { return headerView(this.core, number, null); }
  getContactView(number: number): Promise<ContactTicketView> { return read.getContactView(this.core, number); }
  publicEntries(numbers: number[]): Promise<EntryView[]> { return read.publicEntries(this.core, numbers); }
  getEntry(entryId: string): Promise<EntryView | null> { return read.getEntry(this.core, entryId); }
  getActivity(number: number): Promise<ActivityView[]> { return read.getActivity(this.core, number); }
  listTickets(filter: ListFilter = {}): Promise<ListResult> { return listTickets(this.core, filter); }
  /** Free-text search over titles and conversations, best first (Slack `/ticket search`, Teams, console). */
  searchTickets(text: string, filter: Omit<ListFilter, 'q' | 'sort'> = {}): Promise<ListResult> { return listTickets(this.core, { ...filter, q: text }); }
  /** Word lists for tickets written before they existed (a batch; 0 when none are left). */
  backfillSearchWords(batch?: number): Promise<number> { return backfillSearchWords(this.core, batch); }
  renderTemplate(templateId: string, number: number, technicianRef: PersonRef): Promise<string> { return read.renderTemplate(this.core, templateId, number, technicianRef); }
  participantsOf(number: number) { return read.participantsOf(this.core, number); }
  statusSince(number: number): Promise<Date> { return read.statusSince(this.core, number); }
  timeRuleCandidates(q: { status?: string; lastByContactBefore?: Date; excludeCategories?: string[] }, afterNumber = 0, limit = 200) {
    return read.timeRuleCandidates(this.core, q, afterNumber, limit);
  }
}

export type { DomainEvent };
