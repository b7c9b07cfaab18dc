import type { Types } from 'mongoose';
import type { Logger } from 'pino';
import { conflict, invalid, notFound } from '../domain/errors.js';
import { parseMentions } from '../domain/mentions.js';
import { isEmail, normaliseEmail, type Source } from '../domain/ticket-rules.js';
import type { Models, PersonDoc, TicketDoc } from '../store/models.js';
import { newOpId, type Dispatcher, type PendingOp } from './dispatcher.js';
import type { PeopleService } from './people.js';
import { KeyedQueue } from './queue.js';
import type { SettingsService } from './settings.js';
import { SYSTEM_ACTOR, type ActorRef, type Author, type EventType, type PersonRef } from './types.js';

/*
 * The shared write helper every use case (create.ts, add-entry.ts, update-fields.ts, merge.ts,
 * time.ts, ...) builds on: read a ticket, plan one change, write it as one atomic update of the
 * ticket document that also carries the change's activity entries and events (`pending`), then
 * let the dispatcher materialise them idempotently.
 */

/** Sources whose comments come from end users' mail clients and browsers: capped at 65,536. */
export const CAPPED_SOURCES: ReadonlySet<Source> = new Set(['email', 'portal']);
export const MAX_MERGE_DEPTH = 20;

/** One planned change of one ticket, written in a single update. */
export interface Plan {
  set?: Record<string, unknown>;
  inc?: Record<string, number>;
  push?: Record<string, unknown>;
  pull?: Record<string, unknown>;
  ops: PendingOp[];
  /** Result handed back to the caller (e.g. the new entry's id). */
  result?: unknown;
}

export interface Written {
  ticketId: Types.ObjectId;
  result: unknown;
  /** The ticket as written, computed from the document read and the update (null if not derivable). */
  after: TicketDoc | null;
}

/** Thrown inside a plan when the ticket turns out to be merged: the write goes to `into` instead. */
export class MergedInto extends Error {
  constructor(readonly into: number) {
    super(`merged into #${into}`);
  }
}

export const authorOf = (p: PersonDoc, kind: Author['kind']): Author => ({
  kind, personId: String(p._id), name: p.name || p.primaryEmail, email: p.primaryEmail,
});

/** A person acting: as a technician when they have the role, else as a contact. */
export const actorOf = (p: PersonDoc): Author => authorOf(p, (p.roles ?? []).includes('technician') ? 'technician' : 'contact');

export class TicketCore {
  /** This process's writers of one ticket, one at a time (why: queue.ts). */
  private readonly writers = new KeyedQueue();

  constructor(
    readonly models: Models,
    readonly dispatcher: Dispatcher,
    readonly logger: Logger,
    readonly people: PeopleService,
    readonly settings: SettingsService,
  ) {}

  // ---------------------------------------------------------------- input helpers

  refFrom(s: string): PersonRef {
    return isEmail(s) ? { email: s } : { personId: s };
  }

  async actorFor(ref?: ActorRef): Promise<Author> {
    if (!ref) return SYSTEM_ACTOR;
    if ('system' in ref) return { ...SYSTEM_ACTOR, name: ref.system };
    return actorOf(await this.people.resolve(ref, 'actor'));
  }

  nameLookup(people: (PersonDoc | null | undefined)[]): Map<string, string> {
    const m = new Map<string, string>();
    for (const p of people) if (p) m.set(String(p._id), p.primaryEmail);
    return m;
  }

  checkEmails(emails: unknown, field: string): void {
    if (!Array.isArray(emails)) throw invalid(field, 'a list of email addresses');
    emails.forEach((e, i) => {
      if (typeof e !== 'string' || !isEmail(e)) throw invalid(`${field}[${i}]`, `"${String(e)}" is not an email address`);
    });
  }

  async resolveCc(emails: string[], field: string): Promise<{ email: string; personId: string | null }[]> {
    if (!Array.isArray(emails)) throw invalid(field, 'a list of email addresses');
    const out: { email: string; personId: string | null }[] = [];
    const seen = new Set<string>();
    for (const [i, raw] of emails.entries()) {
      if (typeof raw !== 'string' || !isEmail(raw)) throw invalid(`${field}[${i}]`, `"${String(raw)}" is not an email address`);
      const email = normaliseEmail(raw);
      if (seen.has(email)) continue;
      seen.add(email);
      const p = await this.people.ensureContact(email, undefined, `${field}[${i}]`);
      out.push({ email, personId: String(p._id) });
    }
    return out;
  }

  /** Technicians named in the text (@email, Slack <@U..>) or passed explicitly; others are ignored. */
  async resolveMentions(text: string, explicit: PersonRef[]): Promise<string[]> {
    const tokens = parseMentions(text);
    const ids = new Set<string>();
    const consider = (p: PersonDoc | null) => {
      if (p && (p.roles ?? []).includes('technician')) ids.add(String(p._id));
    };
    for (const email of tokens.emails) consider(await this.people.findByEmail(email));
    for (const uid of tokens.slackUserIds) consider(await this.people.findByIdentity('slack', 'userId', uid));
    for (const ref of explicit) consider('personId' in ref ? await this.people.get(ref.personId) : await this.people.findByEmail(ref.email));
    return [...ids];
  }

  // ---------------------------------------------------------------- pending writes

  systemEntryDoc(id: Types.ObjectId, ticketId: unknown, ticketNumber: number, text: string, at: Date, meta: Record<string, unknown>) {
    return {
      _id: id, ticketId, ticketNumber, kind: 'system', visibility: 'public', author: SYSTEM_ACTOR, source: 'system',
      text, html: null, truncated: false, attachments: [], cc: [], mentions: [], messageId: null, external: { meta }, createdAt: at,
    };
  }

  activityOp(ticketId: unknown, ticketNumber: number, actor: Author, action: string, rest: { field?: string; from?: unknown; to?: unknown; meta?: Record<string, unknown> }, at: Date): PendingOp {
    const id = newOpId();
    return {
      id, op: 'activity',
      doc: { _id: id, ticketId, ticketNumber, actor, action, field: rest.field ?? null, from: rest.from ?? null, to: rest.to ?? null, meta: rest.meta ?? {}, at },
    };
  }

  eventOp(type: EventType, ticketId: unknown, ticketNumber: number, actor: Author, data: Record<string, unknown>, at: Date): PendingOp {
    const id = newOpId();
    return { id, op: 'event', doc: { _id: id, type, ticketId, ticketNumber, actor, data, at } };
  }

  // ---------------------------------------------------------------- the write

  /**
   * Read, plan, write: one atomic update of the ticket, guarded by the version read, retried on a
   * concurrent change (another process; this process's own writers are queued). The plan's
   * pending ops are written in the same update, then materialised.
   */
  async mutate(number: number, plan: (t: TicketDoc) => Plan | null): Promise<Written | null> {
    const written = await this.writers.run(`ticket#${number}`, () => this.writePlan(number, plan));
    if (!written) return null;
    await this.dispatcher.applyPending(written.ticketId, written.pending, written.after);
    return written;
  }

  private async writePlan(number: number, plan: (t: TicketDoc) => Plan | null): Promise<(Written & { pending: PendingOp[] }) | null> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const t = await this.ticketDoc(number);
      if (!t) throw notFound(`ticket #${number}`);
      const p = plan(t);
      if (!p) return null;
      const now = new Date();
      const update: Record<string, unknown> = {
        $set: { ...(p.set ?? {}), updatedAt: now },
        $inc: { version: 1, ...(p.inc ?? {}) },
      };
      const push: Record<string, unknown> = { ...(p.push ?? {}) };
      if (p.ops.length > 0) push.pending = { $each: p.ops };
      if (Object.keys(push).length > 0) update.$push = push;
      const res = await this.models.Ticket.collection.updateOne({ _id: t._id, version: t.version }, update);
      if (res.matchedCount === 1) {
        return {
          ticketId: t._id, result: p.result, after: postImage(t, update),
          // Ops another write left behind (its process died before materialising them) go too.
          pending: [...((t.pending ?? []) as PendingOp[]), ...p.ops],
        };
      }
      await new Promise((r) => setTimeout(r, Math.random() * 10 * (attempt + 1)));
    }
    throw conflict(`ticket #${number} is being changed by someone else; try again`);
  }

  // ---------------------------------------------------------------- the read

  /** A ticket by number (the unique index on `number`). */
  async ticketDoc(number: number, projection?: Record<string, 0 | 1>): Promise<TicketDoc | null> {
    return this.models.Ticket.findOne({ number }, projection).lean<TicketDoc>();
  }
}

/**
 * The document as an update leaves it, derived from the document read before it. Only top-level
 * `$set`, `$inc` and `$push` (plain or `$each`) are modelled; anything else gives null and the
 * caller reads the ticket again.
 */
export function postImage(t: TicketDoc, update: Record<string, unknown>): TicketDoc | null {
  const known = new Set(['$set', '$inc', '$push']);
  if (Object.keys(update).some((op) => !known.has(op))) return null;
  const after: Record<string, unknown> = { ...t };
  const doc = t as unknown as Record<string, unknown>;
  for (const [op, fields] of Object.entries(update)) {
    for (const [k, v] of Object.entries(fields as Record<string, unknown>)) {
      if (k.includes('.')) return null;
      if (op === '$set') after[k] = v;
      else if (op === '$inc') after[k] = ((doc[k] as number | undefined) ?? 0) + (v as number);
      else {
        const each = v !== null && typeof v === 'object' && '$each' in v ? (v as { $each: unknown[] }).$each : [v];
        after[k] = [...((after[k] as unknown[] | undefined) ?? []), ...each];
      }
    }
  }
  return after as unknown as TicketDoc;
}
