import type {
  ActivityStatus, AuthorKind, EntryKind, Impact, Priority, Source, StatusCategory, TicketType, Visibility,
} from '../domain/ticket-rules.js';

/** Who did something. Adapters identify people by email or person id; the service resolves them. */
export type PersonRef = { email: string; name?: string } | { personId: string };

/** Who acts: a person, or the system itself under a name (an automation rule, a job). Changes made
 * by a system actor carry actor.kind === 'system' in their events, so rules never trigger rules. */
export type ActorRef = PersonRef | { system: string };

export interface Author {
  kind: AuthorKind;
  personId: string | null;
  name: string;
  email: string | null;
}

export const SYSTEM_ACTOR: Author = { kind: 'system', personId: null, name: 'deskbridge', email: null };

export interface PersonSummary {
  id: string;
  name: string;
  email: string;
  avatarUrl?: string | null;
  /** Set on a ticket's requester whose address bounced permanently (automatic mail stopped). */
  undeliverable?: boolean;
}

export interface AttachmentRef {
  id: string;
  filename: string;
  contentType: string;
  size: number;
}

export interface CreateTicketInput {
  title: string;
  description: string;
  requester: { email: string; name?: string };
  source: Source;
  /** The technician creating it on the requester's behalf; omitted when the requester wrote in. */
  createdBy?: PersonRef;
  priority?: Priority;
  type?: TicketType;
  impact?: Impact | null;
  productFamily?: string | null;
  customer?: string | null;
  assignee?: PersonRef | null;
  cc?: string[];
  status?: string;
  html?: string | null;
  attachments?: AttachmentRef[];
  /** Email Message-ID of the message that opened the ticket. */
  messageId?: string | null;
  external?: Record<string, unknown>;
}

export interface AddEntryInput {
  kind: 'reply' | 'note' | 'chat';
  text: string;
  html?: string | null;
  author: ActorRef;
  source: Source;
  /** Set the status in the same action; when omitted the status stays. */
  status?: string;
  cc?: string[];
  /** Technicians to notify, in addition to those written as @mentions in the text. */
  mentions?: PersonRef[];
  attachments?: AttachmentRef[];
  messageId?: string | null;
  external?: Record<string, unknown>;
}

export interface TicketPatch {
  status?: string;
  priority?: Priority;
  type?: TicketType;
  impact?: Impact | null;
  productFamily?: string | null;
  title?: string;
  customer?: string | null;
  assignee?: PersonRef | null;
  requester?: PersonRef;
}

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

export interface EntryView {
  id: string;
  ticketNumber: number;
  kind: EntryKind;
  visibility: Visibility;
  author: Author;
  source: Source;
  text: string;
  html: string | null;
  truncated: boolean;
  attachments: AttachmentRef[];
  cc: { email: string; personId: string | null }[];
  mentions: string[];
  messageId: string | null;
  external: Record<string, unknown>;
  createdAt: Date;
}

export interface TicketSummary {
  id: string;
  number: number;
  title: string;
  status: string;
  statusCategory: StatusCategory;
  priority: Priority;
  type: TicketType;
  activityStatus: ActivityStatus;
  requester: PersonSummary | null;
  assignee: PersonSummary | null;
  mergedInto: number | null;
  last: { excerpt: string; author: Author; at: Date } | null;
  /** For list views (the console's columns). */
  customer?: string | null;
  sentimentLabel?: 'positive' | 'negative' | 'neutral' | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface TicketView extends TicketSummary {
  description: string;
  impact: Impact | null;
  productFamily: string | null;
  customer: string | null;
  cc: { email: string; personId: string | null; undeliverable?: boolean }[];
  sentiment: { label: 'positive' | 'negative' | 'neutral'; score?: number; at: Date; source?: string } | null;
  source: Source;
  mergedFrom: number[];
  timeSpentMinutes: number;
  runningTimers: { technicianId: string; startedAt: Date }[];
  channelRefs: Record<string, unknown>;
  entries: EntryView[];
}

/** A ticket's fields without its conversation: what a write hands back (cheap to build). */
export type TicketHeaderView = Omit<TicketView, 'entries'>;

/** What the requester (and CC'd end users) may see. Built from public entries only. */
export interface ContactTicketView {
  number: number;
  title: string;
  status: string;
  statusCategory: StatusCategory;
  requester: PersonSummary | null;
  assignee: { name: string } | null;
  mergedInto: number | null;
  createdAt: Date;
  updatedAt: Date;
  entries: EntryView[];
}

export interface ActivityView {
  id: string;
  ticketNumber: number;
  actor: Author;
  action: string;
  field: string | null;
  from: unknown;
  to: unknown;
  meta: Record<string, unknown>;
  at: Date;
}

/** The events notifiers react to. Stored in `events`; each channel gets its own delivery. */
export type EventType =
  | 'ticket.created'
  | 'entry.added'
  | 'ticket.updated'
  | 'ticket.merged'
  | 'chat.started'
  | 'time.tracked'
  | 'activity.recorded'
  /** Someone's "working now" ran out: cards refresh (no activity entry, no ticket change). */
  | 'presence.expired';

export interface DomainEvent {
  id: string;
  type: EventType;
  ticketId: string;
  ticketNumber: number;
  actor: Author;
  data: Record<string, unknown>;
  at: Date;
}

export interface EntryAddedData {
  entryId: string;
  kind: EntryKind;
  visibility: Visibility;
  source: Source;
  authorKind: AuthorKind;
  mentions: string[];
  cc: string[];
  statusChange: FieldChange | null;
  /** Set when the entry was written to a ticket that had been merged into this one. */
  redirectedFrom: number | null;
}
