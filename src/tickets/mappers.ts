import type { ActivityDoc, EntryDoc, EventDoc } from '../store/models.js';
import type { ActivityView, Author, DomainEvent, EntryView } from './types.js';

const idOf = (v: unknown): string | null => (v == null ? null : String(v));

export function authorFromDoc(a: { kind: string; personId?: unknown; name?: string | null; email?: string | null } | null | undefined): Author {
  return {
    kind: (a?.kind ?? 'system') as Author['kind'],
    personId: idOf(a?.personId),
    name: a?.name ?? '',
    email: a?.email ?? null,
  };
}

export function entryFromDoc(e: EntryDoc): EntryView {
  return {
    id: String(e._id),
    ticketNumber: e.ticketNumber,
    kind: e.kind as EntryView['kind'],
    visibility: e.visibility as EntryView['visibility'],
    author: authorFromDoc(e.author),
    source: e.source as EntryView['source'],
    text: e.text ?? '',
    html: e.html ?? null,
    truncated: Boolean(e.truncated),
    attachments: (e.attachments ?? []).map((a) => ({
      id: a.id, filename: a.filename ?? 'attachment', contentType: a.contentType ?? 'application/octet-stream', size: a.size ?? 0,
    })),
    cc: (e.cc ?? []).map((c) => ({ email: c.email, personId: idOf(c.personId) })),
    mentions: (e.mentions ?? []).map(String),
    messageId: e.messageId ?? null,
    external: (e.external as Record<string, unknown>) ?? {},
    createdAt: e.createdAt,
  };
}

export function activityFromDoc(a: ActivityDoc): ActivityView {
  return {
    id: String(a._id),
    ticketNumber: a.ticketNumber,
    actor: authorFromDoc(a.actor),
    action: a.action,
    field: a.field ?? null,
    from: a.from ?? null,
    to: a.to ?? null,
    meta: (a.meta as Record<string, unknown>) ?? {},
    at: a.at,
  };
}

export function eventFromDoc(e: EventDoc): DomainEvent {
  return {
    id: String(e._id),
    type: e.type as DomainEvent['type'],
    ticketId: String(e.ticketId),
    ticketNumber: e.ticketNumber,
    actor: authorFromDoc(e.actor),
    data: (e.data as Record<string, unknown>) ?? {},
    at: e.at,
  };
}
