import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as ACData from 'adaptivecards-templating';
import type { TicketCardModel } from '../tickets/card-model.js';
import type { EntryView } from '../tickets/types.js';
import { DeskbridgeError } from '../domain/errors.js';
import { markCard } from './graph.js';

/**
 * Adaptive Cards (schema 1.5) for Teams, expanded from the templates in cards/ with
 * adaptivecards-templating. The ticket card renders the shared view model (buildCardModel); only
 * Teams-specific wiring (verbs, refresh, initials) is added here.
 */
export type AdaptiveCard = Record<string, unknown> & { type: 'AdaptiveCard'; version: string };

/** Teams rejects cards over about 28 KB; we stay below this with margin. */
export const CARD_BYTE_BUDGET = 27 * 1024;

const cardsDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../cards');
const templates = new Map<string, ACData.Template>();
/**
 * The templating library (with adaptive-expressions and its ANTLR parser: ~25 MB of RSS) is loaded
 * at the first card expanded, not with the service: where Teams is not used, no card ever is.
 */
let templating: typeof ACData | null = null;
const require = createRequire(import.meta.url);

function expand(name: string, data: Record<string, unknown>): AdaptiveCard {
  let tpl = templates.get(name);
  if (!tpl) {
    templating ??= require('adaptivecards-templating') as typeof ACData;
    tpl = new templating.Template(JSON.parse(readFileSync(path.join(cardsDir, `${name}.json`), 'utf8')));
    templates.set(name, tpl);
  }
  return tpl.expand({ $root: data }) as AdaptiveCard;
}

export const cardBytes = (card: unknown) => Buffer.byteLength(JSON.stringify(card), 'utf8');

export const initials = (name: string) =>
  name.split(/[\s@.]+/).filter(Boolean).slice(0, 2).map((w) => w[0]!.toUpperCase()).join('') || '?';

/** Cuts a comment for a card; the full text stays one click away ("Show full comment"). */
export function cutForCard(text: string, max: number): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  return { text: `${text.slice(0, max).trimEnd()}…`, truncated: true };
}

export interface TicketCardOptions {
  /** Teams user ids (29:...) who get a refreshed, user-specific view; at most 60 are sent. */
  refreshUserIds: string[];
  technicians: { id: string; name: string }[];
  defaultReplyType: 'reply' | 'note';
  /** A one-off message shown on this rendering only (e.g. "the app isn't installed for Jane"). */
  notice?: string | null;
}

export const REFRESH_USER_LIMIT = 60;

export function ticketCard(model: TicketCardModel, opts: TicketCardOptions): AdaptiveCard {
  const pres = model.presence;
  const shown = pres.shown.map((p, i) => ({ name: p.name, initials: initials(p.name), avatarUrl: p.avatarUrl, separated: i === 0 && pres.me !== null }));
  const data = {
    ticket: model.number,
    heading: model.heading,
    status: model.status,
    statusColor: { good: 'Good', warning: 'Warning', attention: 'Attention', accent: 'Accent' }[model.statusTone],
    // A neutral header keeps the coloured status word readable (yellow on yellow was not).
    statusStyle: 'emphasis',
    priority: model.priority,
    activityStatus: model.activityStatus,
    notice: opts.notice ?? null,
    mergedNotice: model.mergedInto ? `Merged into #${model.mergedInto}` : null,
    facts: model.facts,
    lastPublic: model.lastPublic,
    presence: {
      any: pres.me !== null || pres.shown.length > 0,
      summary: pres.summary ?? '',
      me: pres.me ? { name: pres.me.name, initials: initials(pres.me.name), avatarUrl: pres.me.avatarUrl } : null,
      shown,
      moreLabel: pres.moreLabel,
      moreNames: pres.more.map((p) => p.name).join(', '),
    },
    current: {
      status: model.status, priority: model.priority, type: model.type, impact: model.impact ?? '',
      productFamily: model.productFamily ?? '', title: model.title, assignee: model.assignee?.id ?? '',
    },
    choices: {
      ...model.choices,
      technicians: opts.technicians.slice(0, 100).map((t) => ({ title: t.name, value: t.id })),
    },
    timerLabel: model.timerRunning ? 'Stop my timer' : 'Start timer',
    defaultReplyType: opts.defaultReplyType,
    refreshUserIds: opts.refreshUserIds.slice(0, REFRESH_USER_LIMIT),
  };
  const card = expand('ticket', data);
  // No known Teams users: refresh for everyone who opens it (Teams only does this in small chats).
  if (data.refreshUserIds.length === 0) delete (card.refresh as Record<string, unknown>).userIds;
  return card;
}

export interface EntryCardInput {
  entry: EntryView;
  ticketNumber: number;
  maxChars: number;
  /** Teams users tagged in a note: written as <at>Name</at> and carried as msteams mention entities. */
  mentions?: { userId: string; name: string }[];
}

/** The marker keys of our posts (graph.ts markCard). */
export const ticketPostKey = (n: number) => `ticket:${n}`;
export const entryPostKey = (entryId: string) => `entry:${entryId}`;

export function entryCard({ entry, ticketNumber, maxChars, mentions = [] }: EntryCardInput): AdaptiveCard {
  const isNote = entry.kind === 'note';
  const cut = cutForCard(entry.text, maxChars);
  const what = isNote ? 'note' : entry.kind === 'chat' ? 'chat' : entry.kind === 'system' ? 'update' : 'reply';
  const mentionLine = mentions.length > 0 ? `\n\nFor ${mentions.map((m) => `<at>${m.name}</at>`).join(', ')}` : '';
  const card = expand('entry', {
    style: isNote ? 'warning' : 'default',
    isNote,
    heading: `${entry.author.name || entry.author.email || 'deskbridge'} · ${what} on #${ticketNumber}${entry.truncated ? ' (cut at 65,536 characters on arrival)' : ''}`,
    text: cut.text + mentionLine,
    truncated: cut.truncated,
    entryId: entry.id,
    // An emailed entry shows its new text only; the whole message opens in a dialog.
    hasMessage: typeof (entry.external?.email as { rawId?: unknown } | undefined)?.rawId === 'string',
  });
  // Found again with Graph after a crash (thread reply, mention message): see graph.ts.
  markCard(card, entryPostKey(entry.id));
  if (mentions.length > 0) {
    card.msteams = {
      entities: mentions.map((m) => ({ type: 'mention', text: `<at>${m.name}</at>`, mentioned: { id: m.userId, name: m.name } })),
    };
  }
  return card;
}

export interface ComposeCardInput {
  ticket: number;
  heading: string;
  kind: 'reply' | 'note';
  text?: string;
  cc?: string;
  notify?: string;
  error?: string | null;
  currentStatus: string;
  statuses: string[];
  templates: { id: string; name: string }[];
  technicians: { id: string; name: string }[];
  ai: boolean;
}

export function composeCard(input: ComposeCardInput): AdaptiveCard {
  return expand('compose', {
    ...input,
    text: input.text ?? '',
    cc: input.cc ?? '',
    notify: input.notify ?? '',
    error: input.error ?? null,
    technicians: input.technicians.slice(0, 100).map((t) => ({ title: t.name, value: t.id })),
    templates: input.templates.slice(0, 100),
  });
}

/** A plain card of lines (activity log, full comment), kept under the size budget. */
export function linesCard(heading: string, lines: string[]): AdaptiveCard {
  const kept: string[] = [];
  let bytes = 600 + Buffer.byteLength(heading);
  for (const line of lines) {
    const size = Buffer.byteLength(line) + 120;
    if (bytes + size > CARD_BYTE_BUDGET) {
      kept.push(`… ${lines.length - kept.length} more not shown`);
      break;
    }
    kept.push(line);
    bytes += size;
  }
  return expand('list', { heading, lines: kept });
}

/** Splits a long text into card-sized lines for linesCard (a full 65,536-character comment). */
export function chunkText(text: string, size = 4000): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out.length ? out : [''];
}

/** Last line of defence: never hand Teams a card it would reject for size. */
export function assertCardFits(card: unknown): void {
  const bytes = cardBytes(card);
  if (bytes > CARD_BYTE_BUDGET) throw new DeskbridgeError('PAYLOAD_TOO_LARGE', `card is ${bytes} bytes, over the ${CARD_BYTE_BUDGET}-byte budget`);
}

export const cardAttachment = (card: AdaptiveCard) => ({ contentType: 'application/vnd.microsoft.card.adaptive', content: card });
