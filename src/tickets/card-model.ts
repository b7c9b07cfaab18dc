import type { PresenceView } from '../domain/presence.js';
import { IMPACTS, PRIORITIES, TICKET_TYPES, excerpt, type ResolvedStatus, type StatusCategory } from '../domain/ticket-rules.js';
import type { TicketHeaderView } from './types.js';

/**
 * One view model of a ticket for every card: Slack's Block Kit builders and Teams' Adaptive Card
 * templates both render this, so both show the same truth. Rendering decisions (what is shown,
 * in what words, which colour a status has) are made here once.
 */
export interface CardPerson {
  id: string;
  name: string;
  email: string;
  avatarUrl: string | null;
}

export interface TicketCardModel {
  number: number;
  title: string;
  /** "#42 Printer on fire" */
  heading: string;
  requester: CardPerson | null;
  assignee: CardPerson | null;
  status: string;
  statusCategory: StatusCategory;
  /** Semantic colour: good (resolved/closed), warning (pending), attention (open + high/critical), accent (open). */
  statusTone: 'good' | 'warning' | 'attention' | 'accent';
  priority: string;
  type: string;
  impact: string | null;
  productFamily: string | null;
  activityStatus: string;
  sentiment: { label: string; emoji: string } | null;
  timeSpent: string;
  timerRunning: boolean;
  lastPublic: { author: string; excerpt: string; at: string } | null;
  mergedInto: number | null;
  closed: boolean;
  presence: {
    me: CardPerson | null;
    shown: CardPerson[];
    more: CardPerson[];
    /** "+3 more" or null */
    moreLabel: string | null;
    /** "Jane and Tom are working on this" or null */
    summary: string | null;
  };
  choices: { statuses: string[]; priorities: string[]; types: string[]; impacts: string[] };
  /** Facts in display order, for renderers that show a fact list. */
  facts: { label: string; value: string }[];
}

const SENTIMENT_EMOJI: Record<string, string> = { positive: '🙂', neutral: '😐', negative: '🙁' };

export function formatMinutes(total: number): string {
  const m = Math.round(total);
  if (m <= 0) return '0m';
  const h = Math.floor(m / 60);
  const rest = m % 60;
  return h > 0 ? (rest > 0 ? `${h}h ${rest}m` : `${h}h`) : `${rest}m`;
}

function tone(category: StatusCategory, priority: string): TicketCardModel['statusTone'] {
  if (category === 'Resolved' || category === 'Closed') return 'good';
  if (category === 'Pending') return 'warning';
  return priority === 'High' || priority === 'Critical' ? 'attention' : 'accent';
}

const cardPerson = (p: { id: string; name: string; email?: string; avatarUrl?: string | null } | null | undefined): CardPerson | null =>
  p ? { id: p.id, name: p.name, email: p.email ?? '', avatarUrl: p.avatarUrl ?? null } : null;

export function buildCardModel(
  t: TicketHeaderView,
  opts: {
    statuses: ResolvedStatus[];
    presence?: PresenceView<{ personId: string; name: string; avatarUrl?: string; since: Date }>;
    viewerId?: string;
  },
): TicketCardModel {
  const pres = opts.presence ?? { me: undefined, shown: [], more: [] };
  const toPerson = (m: { personId: string; name: string; avatarUrl?: string }) => cardPerson({ id: m.personId, name: m.name, avatarUrl: m.avatarUrl })!;
  const everyone = [...(pres.me ? [pres.me] : []), ...pres.shown, ...pres.more];
  const names = everyone.map((m) => (m.personId === opts.viewerId ? 'You' : m.name));
  const summary = names.length === 0 ? null
    : names.length === 1 ? `${names[0]} ${names[0] === 'You' ? 'are' : 'is'} working on this`
    : names.length === 2 ? `${names[0]} and ${names[1]} are working on this`
    : `${names.slice(0, 2).join(', ')} and ${names.length - 2} more are working on this`;
  const lastPublic = t.last ? { author: t.last.author.name || t.last.author.email || 'Someone', excerpt: excerpt(t.last.excerpt, 280), at: new Date(t.last.at).toISOString() } : null;
  const sentiment = t.sentiment ? { label: t.sentiment.label, emoji: SENTIMENT_EMOJI[t.sentiment.label] ?? '' } : null;
  const model: TicketCardModel = {
    number: t.number,
    title: t.title,
    heading: `#${t.number} ${t.title}`,
    requester: cardPerson(t.requester),
    assignee: cardPerson(t.assignee),
    status: t.status,
    statusCategory: t.statusCategory,
    statusTone: tone(t.statusCategory, t.priority),
    priority: t.priority,
    type: t.type,
    impact: t.impact,
    productFamily: t.productFamily,
    activityStatus: t.activityStatus,
    sentiment,
    timeSpent: formatMinutes(t.timeSpentMinutes),
    timerRunning: t.runningTimers.length > 0,
    lastPublic,
    mergedInto: t.mergedInto,
    closed: t.statusCategory === 'Closed',
    presence: {
      me: pres.me ? toPerson(pres.me) : null,
      shown: pres.shown.map(toPerson),
      more: pres.more.map(toPerson),
      moreLabel: pres.more.length > 0 ? `+${pres.more.length} more` : null,
      summary,
    },
    choices: {
      statuses: opts.statuses.map((s) => s.name),
      priorities: [...PRIORITIES],
      types: [...TICKET_TYPES],
      impacts: [...IMPACTS],
    },
    facts: [],
  };
  model.facts = [
    { label: 'Requester', value: model.requester ? `${model.requester.name} <${model.requester.email}>` : '—' },
    { label: 'Status', value: model.status },
    { label: 'Priority', value: model.priority },
    { label: 'Type', value: model.type },
    { label: 'Assignee', value: model.assignee?.name ?? 'Unassigned' },
    { label: 'Activity', value: model.activityStatus },
    { label: 'Sentiment', value: sentiment ? `${sentiment.emoji} ${sentiment.label}` : '—' },
    { label: 'Time spent', value: model.timeSpent + (model.timerRunning ? ' (timer running)' : '') },
  ];
  return model;
}
