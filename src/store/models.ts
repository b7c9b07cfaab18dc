import mongoose, { Schema, type Connection, type Model } from 'mongoose';
import {
  ACTIVITY_STATUSES, ENTRY_KINDS, IMPACTS, PRIORITIES, SOURCES, TICKET_TYPES, BASE_STATUSES,
} from '../domain/ticket-rules.js';

/*
 * Collections and indexes. Only what MongoDB 6+ and FerretDB 2 (on PostgreSQL with DocumentDB)
 * both support is used (see docs/mongodb-compat.md). No multi-document transactions (FerretDB 2.5
 * applies their writes outside any transaction) and no change streams: every change is one atomic
 * update of one ticket document, which carries its pending writes (`pending`) until the dispatcher
 * has materialised them idempotently elsewhere. Every query the product runs has an index here;
 * test/store/explain.test.ts proves it.
 */

const authorSchema = new Schema(
  {
    kind: { type: String, enum: ['technician', 'contact', 'system'], required: true },
    personId: { type: Schema.Types.ObjectId, default: null },
    name: { type: String, default: '' },
    email: { type: String, default: null },
  },
  { _id: false },
);

const ccSchema = new Schema(
  { personId: { type: Schema.Types.ObjectId, default: null }, email: { type: String, required: true } },
  { _id: false },
);

const ticketSchema = new Schema(
  {
    number: { type: Number, required: true },
    title: { type: String, required: true },
    description: { type: String, default: '' },
    status: { type: String, required: true },
    statusCategory: { type: String, enum: BASE_STATUSES, required: true },
    priority: { type: String, enum: PRIORITIES, default: 'Medium' },
    impact: { type: String, enum: [...IMPACTS, null], default: null },
    type: { type: String, enum: TICKET_TYPES, default: 'Incident' },
    productFamily: { type: String, default: null },
    customer: { type: String, default: null },
    requesterId: { type: Schema.Types.ObjectId, required: true },
    assigneeId: { type: Schema.Types.ObjectId, default: null },
    cc: { type: [ccSchema], default: [] },
    activityStatus: { type: String, enum: ACTIVITY_STATUSES, default: 'Unread' },
    sentiment: {
      type: new Schema(
        { label: { type: String, enum: ['positive', 'negative', 'neutral'] }, score: Number, at: Date, source: String },
        { _id: false },
      ),
      default: null,
    },
    source: { type: String, enum: SOURCES, default: 'api' },
    mergedInto: { type: Number, default: null },
    mergedFrom: { type: [Number], default: [] },
    timeSpentMinutes: { type: Number, default: 0 },
    timers: {
      type: [new Schema({ technicianId: Schema.Types.ObjectId, startedAt: Date }, { _id: false })],
      default: [],
    },
    /** Latest public entry, denormalised so a list can show it without opening the ticket. */
    last: {
      type: new Schema(
        { author: authorSchema, excerpt: String, at: Date, entryId: Schema.Types.ObjectId },
        { _id: false },
      ),
      default: null,
    },
    /** Ids of the messages this ticket lives in on each platform, to update in place. */
    channelRefs: { type: Schema.Types.Mixed, default: {} },
    pending: { type: [Schema.Types.Mixed], default: [] },
    /** Normalised words of title and whole conversation / of title and public entries only (domain/search-words.ts). */
    searchWords: { type: [String], default: [] },
    publicSearchWords: { type: [String], default: [] },
    version: { type: Number, default: 0 },
  },
  { timestamps: true, minimize: false },
);
ticketSchema.index({ number: 1 }, { unique: true });
/*
 * List filters, each with `number` so one index answers "this filter, within this window of
 * numbers" (src/tickets/list.ts reads pages as keyset windows of the sort key).
 */
ticketSchema.index({ status: 1, number: -1 });
ticketSchema.index({ assigneeId: 1, number: -1 });
ticketSchema.index({ requesterId: 1, number: -1 });
ticketSchema.index({ 'cc.personId': 1, number: -1 });
ticketSchema.index({ customer: 1, number: -1 });
ticketSchema.index({ priority: 1, number: -1 });
ticketSchema.index({ activityStatus: 1, number: -1 });
/** The time sorts' windows. */
ticketSchema.index({ updatedAt: -1 });
ticketSchema.index({ createdAt: -1 });
/** Free-text search: the title here, the conversation on entries.text (src/tickets/search.ts). */
ticketSchema.index({ title: 'text' }, { name: 'title_text', default_language: 'english' });
ticketSchema.index({ searchWords: 1 });
ticketSchema.index({ publicSearchWords: 1 });
/** The dispatcher's sweep for writes a crashed process left unmaterialised (`pending.id > ''`). */
ticketSchema.index({ 'pending.id': 1 });
/** Cards and threads found by the id a platform gave them (findTicketByChannelRef). */
ticketSchema.index({ 'channelRefs.slack.ts': 1 });
ticketSchema.index({ 'channelRefs.slackDm.channel': 1 });
ticketSchema.index({ 'channelRefs.teams.activityId': 1 });

const attachmentSchema = new Schema(
  {
    id: { type: String, required: true },
    filename: { type: String, default: 'attachment' },
    contentType: { type: String, default: 'application/octet-stream' },
    size: { type: Number, default: 0 },
  },
  { _id: false },
);

const entrySchema = new Schema(
  {
    ticketId: { type: Schema.Types.ObjectId, required: true },
    ticketNumber: { type: Number, required: true },
    kind: { type: String, enum: ENTRY_KINDS, required: true },
    visibility: { type: String, enum: ['public', 'internal'], required: true },
    author: { type: authorSchema, required: true },
    source: { type: String, enum: SOURCES, required: true },
    text: { type: String, default: '' },
    html: { type: String, default: null },
    truncated: { type: Boolean, default: false },
    attachments: { type: [attachmentSchema], default: [] },
    cc: { type: [ccSchema], default: [] },
    mentions: { type: [Schema.Types.ObjectId], default: [] },
    /** Email Message-ID of the message this entry came in as (inbound) or went out as (outbound). */
    messageId: { type: String, default: null },
    /** Other external ids (Slack ts, Teams activity id, raw message ref). */
    external: { type: Schema.Types.Mixed, default: {} },
    createdAt: { type: Date, required: true },
  },
  { minimize: false },
);
entrySchema.index({ ticketNumber: 1, createdAt: 1 });
/** Email threading: In-Reply-To / References → entry. */
entrySchema.index({ messageId: 1 });
entrySchema.index({ text: 'text' }, { name: 'text_text', default_language: 'english' });

const activitySchema = new Schema(
  {
    _id: { type: String, required: true },
    ticketId: { type: Schema.Types.ObjectId, required: true },
    ticketNumber: { type: Number, required: true },
    actor: { type: authorSchema, required: true },
    action: { type: String, required: true },
    field: { type: String, default: null },
    from: { type: Schema.Types.Mixed, default: null },
    to: { type: Schema.Types.Mixed, default: null },
    meta: { type: Schema.Types.Mixed, default: {} },
    at: { type: Date, required: true },
  },
  { minimize: false },
);
activitySchema.index({ ticketNumber: 1, at: 1 });
// A rule's recent runs (console): the engine's automation_ran/failed entries carry meta.ruleId.
activitySchema.index({ 'meta.ruleId': 1, at: -1 });

const eventSchema = new Schema(
  {
    _id: { type: String, required: true },
    type: { type: String, required: true },
    ticketId: { type: Schema.Types.ObjectId, required: true },
    ticketNumber: { type: Number, required: true },
    actor: { type: authorSchema, required: true },
    data: { type: Schema.Types.Mixed, default: {} },
    at: { type: Date, required: true },
    /** When the dispatcher inserted it (absent on events stored before this field existed). */
    storedAt: { type: Date, default: null },
  },
  { minimize: false },
);
eventSchema.index({ at: 1 });
/** The console's tail of events stored by any instance (src/console/live.ts). */
eventSchema.index({ storedAt: 1 });

const deliverySchema = new Schema(
  {
    _id: { type: String, required: true },
    eventId: { type: String, required: true },
    channel: { type: String, required: true },
    ticketNumber: { type: Number, required: true },
    status: { type: String, enum: ['pending', 'done', 'failed', 'skipped'], default: 'pending' },
    attempts: { type: Number, default: 0 },
    /** Claims ever taken, never given back (attempts are, for waits that were no attempt). */
    claims: { type: Number, default: 0 },
    nextAttemptAt: { type: Date, required: true },
    lockedUntil: { type: Date, default: () => new Date(0) },
    lastError: { type: String, default: null },
    at: { type: Date, required: true },
  },
  { timestamps: true },
);
/** Each channel's claim of its oldest due delivery. */
deliverySchema.index({ channel: 1, status: 1, nextAttemptAt: 1 });
deliverySchema.index({ status: 1, nextAttemptAt: 1 });
deliverySchema.index({ eventId: 1 });

const personSchema = new Schema(
  {
    name: { type: String, default: '' },
    primaryEmail: { type: String, required: true },
    emails: { type: [String], default: [] },
    /** 'admin' (console settings, people, rules) is only ever held together with 'technician'. */
    roles: { type: [String], enum: ['technician', 'contact', 'admin'], default: [] },
    customer: { type: String, default: null },
    customerAdmin: { type: Boolean, default: false },
    avatarUrl: { type: String, default: null },
    /** Platform identities, e.g. {slack: {userId, teamId}, teams: {aadObjectId, userId}}. */
    identities: { type: Schema.Types.Mixed, default: {} },
    /** Addresses that bounced permanently: automatic mail stops going to them. */
    undeliverable: {
      type: [new Schema({ email: String, reason: String, at: Date }, { _id: false })],
      default: [],
    },
  },
  { timestamps: true, minimize: false },
);
personSchema.index({ primaryEmail: 1 }, { unique: true });
personSchema.index({ emails: 1 });
personSchema.index({ roles: 1 });
personSchema.index({ 'identities.slack.userId': 1 });
personSchema.index({ 'identities.teams.userId': 1 });

const settingsSchema = new Schema(
  {
    _id: { type: String, default: 'settings' },
    defaultReplyType: { type: String, enum: ['reply', 'note'], default: 'reply' },
    customStatuses: {
      type: [new Schema({ name: String, category: { type: String, enum: BASE_STATUSES } }, { _id: false })],
      default: [],
    },
    /** Whether AI drafts may read internal notes (never quoted into a public draft). */
    aiMayReadNotes: { type: Boolean, default: false },
    /** Free-form settings that other parts own (mail addresses, routing rules). */
    extra: { type: Schema.Types.Mixed, default: {} },
  },
  { timestamps: true, minimize: false },
);

const templateSchema = new Schema(
  { name: { type: String, required: true }, body: { type: String, required: true } },
  { timestamps: true },
);
templateSchema.index({ name: 1 }, { unique: true });

const timeEntrySchema = new Schema({
  _id: { type: String, required: true },
  ticketId: { type: Schema.Types.ObjectId, required: true },
  ticketNumber: { type: Number, required: true },
  technicianId: { type: Schema.Types.ObjectId, required: true },
  minutes: { type: Number, required: true },
  startedAt: { type: Date, default: null },
  stoppedAt: { type: Date, default: null },
  note: { type: String, default: '' },
  at: { type: Date, required: true },
});
timeEntrySchema.index({ ticketNumber: 1 });

const presenceSchema = new Schema({
  _id: { type: String, required: true },
  ticketNumber: { type: Number, required: true },
  personId: { type: Schema.Types.ObjectId, required: true },
  surface: { type: String, default: 'api' },
  since: { type: Date, required: true },
  expiresAt: { type: Date, required: true },
  /** Shown on cards until then; the row itself lives on (expiresAt) so its expiry can be announced once. */
  shownUntil: { type: Date, default: null },
});
presenceSchema.index({ ticketNumber: 1, expiresAt: 1 });
presenceSchema.index({ shownUntil: 1 });
/** The database deletes rows past their time (TTL); readers still check `expiresAt`, as TTL runs once a minute. */
presenceSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

const counterSchema = new Schema({ _id: { type: String, required: true }, seq: { type: Number, default: 0 } });

/* Explicit document types: mongoose's InferSchemaType makes tsc run out of memory on schemas
 * of this size, and explicit types document the collections better anyway. */
type Id = mongoose.Types.ObjectId;
export interface AuthorDoc { kind: string; personId: Id | null; name: string; email: string | null }
export interface CcDoc { personId: Id | null; email: string }
export interface TicketDoc {
  _id: Id; number: number; title: string; description: string; status: string; statusCategory: string;
  priority: string; impact: string | null; type: string; productFamily: string | null; customer: string | null;
  requesterId: Id; assigneeId: Id | null; cc: CcDoc[]; activityStatus: string;
  sentiment: { label: string; score?: number | null; at: Date; source?: string | null } | null;
  source: string; mergedInto: number | null; mergedFrom: number[]; timeSpentMinutes: number;
  timers: { technicianId: Id; startedAt: Date }[];
  last: { author: AuthorDoc; excerpt: string; at: Date; entryId: Id } | null;
  channelRefs: Record<string, unknown>; pending: unknown[]; version: number; createdAt: Date; updatedAt: Date;
  searchWords?: string[]; publicSearchWords?: string[];
}
export interface EntryDoc {
  _id: Id; ticketId: Id; ticketNumber: number; kind: string; visibility: string; author: AuthorDoc; source: string;
  text: string; html: string | null; truncated: boolean;
  attachments: { id: string; filename: string; contentType: string; size: number }[];
  cc: CcDoc[]; mentions: Id[]; messageId: string | null; external: Record<string, unknown>; createdAt: Date;
}
export interface ActivityDoc {
  _id: string; ticketId: Id; ticketNumber: number; actor: AuthorDoc; action: string; field: string | null;
  from: unknown; to: unknown; meta: Record<string, unknown>; at: Date;
}
export interface EventDoc { _id: string; type: string; ticketId: Id; ticketNumber: number; actor: AuthorDoc; data: Record<string, unknown>; at: Date; storedAt?: Date }
export interface DeliveryDoc {
  _id: string; eventId: string; channel: string; ticketNumber: number; status: string; attempts: number;
  claims?: number; nextAttemptAt: Date; lockedUntil: Date; lastError: string | null; at: Date;
}
export interface PersonDoc {
  _id: Id; name: string; primaryEmail: string; emails: string[]; roles: string[]; customer: string | null;
  customerAdmin: boolean; avatarUrl: string | null; identities: Record<string, unknown>;
  undeliverable: { email: string; reason: string; at: Date }[];
}
export interface SettingsDoc {
  _id: string; defaultReplyType: string; customStatuses: { name: string; category: string }[];
  aiMayReadNotes: boolean; extra: Record<string, unknown>;
}
export interface TemplateDoc { _id: Id; name: string; body: string }
export interface TimeEntryDoc {
  _id: string; ticketId: Id; ticketNumber: number; technicianId: Id; minutes: number; startedAt: Date | null;
  stoppedAt: Date | null; note: string; at: Date;
}
export interface PresenceDoc { _id: string; ticketNumber: number; personId: Id; surface: string; since: Date; expiresAt: Date; shownUntil?: Date | null }

export function createModels(conn: Connection) {
  const m = <T>(name: string, schema: Schema, collection: string): Model<T> =>
    (conn.models[name] as Model<T> | undefined) ?? (conn.model(name, schema, collection) as unknown as Model<T>);
  return {
    Ticket: m<TicketDoc>('Ticket', ticketSchema, 'tickets'),
    Entry: m<EntryDoc>('Entry', entrySchema, 'entries'),
    Activity: m<ActivityDoc>('Activity', activitySchema, 'activities'),
    Event: m<EventDoc>('Event', eventSchema, 'events'),
    Delivery: m<DeliveryDoc>('Delivery', deliverySchema, 'deliveries'),
    Person: m<PersonDoc>('Person', personSchema, 'people'),
    Settings: m<SettingsDoc>('Settings', settingsSchema, 'settings'),
    Template: m<TemplateDoc>('Template', templateSchema, 'templates'),
    TimeEntry: m<TimeEntryDoc>('TimeEntry', timeEntrySchema, 'timeEntries'),
    Presence: m<PresenceDoc>('Presence', presenceSchema, 'presence'),
    Counter: m<{ _id: string; seq: number }>('Counter', counterSchema, 'counters'),
  };
}
export type Models = ReturnType<typeof createModels>;

/** A unique index refused the write (E11000, code 11000, on MongoDB and FerretDB 2 alike). */
export const isDuplicateKey = (err: unknown) => {
  const e = err as { code?: number; message?: string } | null;
  return e?.code === 11000 || /E11000/.test(e?.message ?? '');
};
