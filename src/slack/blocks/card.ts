import type { KnownBlock, View } from '@slack/types';
import type { TicketCardModel } from '../../tickets/card-model.js';
import type { EntryView, TicketSummary } from '../../tickets/types.js';

/** Block Kit for the ticket card and its thread, rendered from the shared card model only. */
/** Built loosely, cast once here; the test kit checks every render against the Block Kit schema. */
type Block = Record<string, unknown>;
export const asBlocks = (b: Block[]) => b as unknown as KnownBlock[];
export const asView = (v: Record<string, unknown>) => v as unknown as View;

export const clip = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
export const plain = (text: string, max = 75) => ({ type: 'plain_text', text: clip(text || ' ', max), emoji: true });
export const mrkdwn = (text: string, max = 3000) => ({ type: 'mrkdwn', text: clip(text || ' ', max) });
/** Escapes &, <, > so user text cannot inject mentions or links. */
export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const option = (text: string, value: string) => ({ text: plain(text), value: clip(value, 150) });

export const ACTIONS = {
  reply: 'ticket_reply', note: 'ticket_note', fullMessage: 'entry_full_message', status: 'ticket_status', priority: 'ticket_priority',
  assign: 'ticket_assign', assignMe: 'ticket_assign_me', more: 'ticket_more', time: 'ticket_time',
  undo: 'held_undo', makeNote: 'held_make_note', openCard: 'open_card', startChatOffer: 'dm_open_chat',
} as const;

export const STATUS_TONE_EMOJI: Record<TicketCardModel['statusTone'], string> = {
  good: ':large_green_circle:', warning: ':large_yellow_circle:', attention: ':red_circle:', accent: ':large_blue_circle:',
};

export interface CardOptions {
  technicians: { id: string; name: string }[];
}

/** The live card posted to the tickets channel (and shown ephemerally by /ticket <number>). */
export function ticketCard(m: TicketCardModel, opts: CardOptions): { text: string; blocks: KnownBlock[] } {
  const n = String(m.number);
  const blocks: Block[] = [
    { type: 'header', text: plain(m.heading, 150) },
    {
      type: 'section',
      fields: m.facts.map((f) => mrkdwn(`*${f.label}*\n${f.label === 'Status' ? `${STATUS_TONE_EMOJI[m.statusTone]} ` : ''}${esc(f.value)}`, 2000)),
    },
  ];
  if (m.mergedInto) blocks.push({ type: 'context', elements: [mrkdwn(`Merged into #${m.mergedInto}`)] });
  if (m.lastPublic) {
    blocks.push({ type: 'section', text: mrkdwn(`*Latest from ${esc(m.lastPublic.author)}:*\n>${esc(m.lastPublic.excerpt).replace(/\n/g, '\n>')}`) });
  }
  const present = [...(m.presence.me ? [m.presence.me] : []), ...m.presence.shown];
  if (present.length > 0) {
    const elements: Record<string, unknown>[] = present.map((p) =>
      p.avatarUrl ? { type: 'image', image_url: p.avatarUrl, alt_text: clip(p.name, 75) } : mrkdwn(`*${esc(p.name)}*`));
    if (m.presence.moreLabel) elements.push(mrkdwn(m.presence.moreLabel));
    if (m.presence.summary) elements.push(mrkdwn(esc(m.presence.summary)));
    blocks.push({ type: 'context', block_id: 'presence', elements });
  }
  const statusSelect = {
    type: 'static_select', action_id: ACTIONS.status, placeholder: plain('Status'),
    options: m.choices.statuses.slice(0, 100).map((s) => option(s, `${n}|${s}`)),
    ...(m.choices.statuses.includes(m.status) ? { initial_option: option(m.status, `${n}|${m.status}`) } : {}),
  };
  const prioritySelect = {
    type: 'static_select', action_id: ACTIONS.priority, placeholder: plain('Priority'),
    options: m.choices.priorities.map((p) => option(p, `${n}|${p}`)),
    initial_option: option(m.priority, `${n}|${m.priority}`),
  };
  const techs = opts.technicians.slice(0, 99);
  const assignSelect = {
    type: 'static_select', action_id: ACTIONS.assign, placeholder: plain('Assign'),
    options: [option('Unassigned', `${n}|`), ...techs.map((t) => option(t.name, `${n}|${t.id}`))],
    ...(m.assignee && techs.some((t) => t.id === m.assignee!.id) ? { initial_option: option(m.assignee.name, `${n}|${m.assignee.id}`) } : {}),
  };
  blocks.push({
    type: 'actions', block_id: `card:${n}`,
    elements: [
      { type: 'button', action_id: ACTIONS.reply, text: plain('Reply'), style: 'primary', value: n },
      { type: 'button', action_id: ACTIONS.note, text: plain('Internal note'), value: n },
      statusSelect, prioritySelect,
    ],
  });
  blocks.push({
    type: 'actions', block_id: `card2:${n}`,
    elements: [
      assignSelect,
      { type: 'button', action_id: ACTIONS.assignMe, text: plain('Assign to me'), value: n },
      {
        type: 'overflow', action_id: ACTIONS.more,
        options: [option('Edit type, impact, family, title…', `${n}|fields`), option('Start chat', `${n}|chat`), option('Merge into…', `${n}|merge`)],
      },
      {
        type: 'overflow', action_id: ACTIONS.time,
        options: [
          option(m.timerRunning ? 'Stop timer' : 'Start timer', `${n}|${m.timerRunning ? 'stop' : 'start'}`),
          option('Log time…', `${n}|log`), option('Activity log', `${n}|activity`),
        ],
      },
    ],
  });
  // The fallback text is mrkdwn too (notifications, screen readers): escaped like the blocks.
  const text = esc(`${m.heading} — ${m.status}, ${m.priority}${m.assignee ? `, ${m.assignee.name}` : ', unassigned'}`);
  return { text: clip(text, 3000), blocks: asBlocks(blocks) };
}

/** Yellow side bar for internal notes; blue for public messages, grey for system lines. */
export const NOTE_COLOR = '#F2C744';
export const PUBLIC_COLOR = '#2EB6F0';
export const SYSTEM_COLOR = '#9E9E9E';

/** Where a public message went, in words: "emailed to jane@corp.example". */
export function deliveryLine(entry: EntryView, requesterEmail: string | null, chatRelay: boolean): string {
  if (entry.kind === 'system') return 'system';
  if (entry.author.kind === 'contact') return `from ${entry.author.email ?? entry.author.name} by ${entry.source}`;
  const to = [requesterEmail, ...entry.cc.map((c) => c.email)].filter(Boolean).join(', ');
  if (chatRelay) return `sent to ${to || 'the requester'} in Slack DM`;
  return to ? `emailed to ${to}` : 'public (no recipient address)';
}

/** One conversation entry mirrored into the card's thread. */
export function threadEntry(entry: EntryView, where: string): { text: string; attachments: Record<string, unknown>[] } {
  const note = entry.kind === 'note';
  const label = note ? ':lock: *Internal note* — not visible to the requester' : entry.kind === 'system' ? ':gear: *System*' : `:speech_balloon: *Public* — ${esc(where)}`;
  const body = esc(entry.text || '(no text)');
  const text = clip(`${note ? '🔒 Internal note' : 'Public'} from ${esc(entry.author.name)}: ${esc(entry.text)}`, 3000);
  return {
    text,
    attachments: [{
      color: note ? NOTE_COLOR : entry.kind === 'system' ? SYSTEM_COLOR : PUBLIC_COLOR,
      fallback: clip(text, 300),
      blocks: [
        { type: 'context', elements: [mrkdwn(`${label} · ${esc(entry.author.name)}`)] },
        { type: 'section', text: mrkdwn(body) },
        // Mail shows only its new text: the button opens the whole message (quotes, signature).
        ...(typeof (entry.external?.email as { rawId?: unknown } | undefined)?.rawId === 'string'
          ? [{ type: 'actions', elements: [{ type: 'button', action_id: ACTIONS.fullMessage, text: plain('Show full message'), value: `${entry.ticketNumber}|${entry.id}` }] }]
          : []),
      ],
    }],
  };
}

/** The whole emailed message in a modal, in sections of at most 3,000 characters (Slack's limit). */
export function fullMessageModal(m: { ticketNumber: number; subject: string; from: string | null; text: string }): Record<string, unknown> {
  const chunks: string[] = [];
  for (let i = 0; i < m.text.length && chunks.length < 45; i += 2900) chunks.push(m.text.slice(i, i + 2900));
  return {
    type: 'modal', title: plain(`Message on #${m.ticketNumber}`, 24), close: plain('Close'),
    blocks: [
      { type: 'context', elements: [mrkdwn(clip(`*From* ${esc(m.from ?? '—')} · *Subject* ${esc(m.subject || '—')}`, 3000))] },
      ...chunks.map((c) => ({ type: 'section', text: { type: 'plain_text', text: c || ' ' } })),
      ...(m.text.length > 45 * 2900 ? [{ type: 'context', elements: [mrkdwn('Cut here: download the raw message from the API (GET /api/v1/entries/:id/raw).')] }] : []),
    ],
  };
}

/** A short list of tickets (for /ticket mine|unassigned|search and App Home). */
export function ticketList(title: string, items: TicketSummary[], max = 20): KnownBlock[] {
  const blocks: Block[] = [{ type: 'section', text: mrkdwn(`*${esc(title)}*`) }];
  if (items.length === 0) blocks.push({ type: 'context', elements: [mrkdwn('Nothing here.')] });
  for (const t of items.slice(0, max)) {
    const last = t.last ? `\n>${esc(clip(t.last.excerpt, 200)).replace(/\n/g, ' ')}` : '';
    blocks.push({
      type: 'section',
      text: mrkdwn(`*#${t.number} ${esc(t.title)}*\n${t.status} · ${t.priority} · ${t.assignee ? esc(t.assignee.name) : 'unassigned'}${last}`),
      accessory: { type: 'button', action_id: `${ACTIONS.openCard}:${t.number}`, text: plain('Open card'), value: String(t.number) },
    });
  }
  return asBlocks(blocks);
}

/** The ephemeral shown while a public thread reply is held for the undo window. */
export function heldNotice(heldId: string, seconds: number, requester: string): { text: string; blocks: KnownBlock[] } {
  const text = `Sending to ${requester} in ${seconds}s — Undo or make it a note.`;
  return {
    text,
    blocks: asBlocks([
      { type: 'section', text: mrkdwn(`:outbox_tray: Sending to *${esc(requester)}* in ${seconds} s.`) },
      { type: 'actions', elements: [
        { type: 'button', action_id: ACTIONS.undo, text: plain('Undo'), style: 'danger', value: heldId },
        { type: 'button', action_id: ACTIONS.makeNote, text: plain('Make it a note'), value: heldId },
      ] },
    ]),
  };
}
