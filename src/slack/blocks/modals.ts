import type { View } from '@slack/types';
import { asView } from './card.js';
import type { ActivityView } from '../../tickets/types.js';
import type { TicketCardModel } from '../../tickets/card-model.js';
import { clip, esc, mrkdwn, plain } from './card.js';

/** Modals (views.open). Each carries the ticket number in private_metadata. */
type Block = Record<string, unknown>;
const option = (text: string, value: string) => ({ text: plain(text), value: clip(value, 150) });

export const CALLBACKS = {
  reply: 'ticket_reply_modal', fields: 'ticket_fields_modal', merge: 'ticket_merge_modal',
  logTime: 'ticket_log_time_modal', create: 'ticket_create_modal',
} as const;

export const KEEP_STATUS = '__keep__';

export interface ReplyModalInput {
  model: TicketCardModel;
  mode: 'reply' | 'note';
  templates: { id: string; name: string }[];
  aiConfigured: boolean;
  initialText?: string;
}

export function replyModal(i: ReplyModalInput): View {
  const visibility = [option('Public reply', 'reply'), option('Internal note', 'note')];
  const pres = i.model.presence;
  const others = [...pres.shown.map((p) => p.name), ...(pres.moreLabel ? [pres.moreLabel] : [])];
  const blocks: Block[] = [
    { type: 'context', elements: [mrkdwn(`*${esc(i.model.heading)}* · requester ${esc(i.model.requester?.email ?? '—')}`)] },
    // Presence on a per-user surface: you first, set apart, then the others.
    ...(pres.me || others.length ? [{ type: 'context', block_id: 'presence', elements: [mrkdwn(`${pres.me ? '*You* are working on this' : ''}${pres.me && others.length ? ' · also ' : others.length ? 'Also working on this: ' : ''}${esc(others.join(', '))}`)] }] : []),
    {
      type: 'input', block_id: 'message', label: plain('Message'),
      element: { type: 'plain_text_input', action_id: 'text', multiline: true, max_length: 3000, ...(i.initialText ? { initial_value: i.initialText } : {}) },
    },
    {
      type: 'input', block_id: 'visibility', label: plain('Send as'),
      element: { type: 'radio_buttons', action_id: 'kind', options: visibility, initial_option: visibility[i.mode === 'note' ? 1 : 0] },
    },
    {
      type: 'input', block_id: 'cc', optional: true, label: plain('CC (public replies)'),
      element: { type: 'multi_external_select', action_id: 'people', min_query_length: 1, placeholder: plain('Search people') },
    },
    {
      type: 'input', block_id: 'notify', optional: true, label: plain('@notify technicians (notes)'),
      element: { type: 'multi_users_select', action_id: 'users', placeholder: plain('Technicians') },
    },
    {
      type: 'input', block_id: 'status', label: plain('Send and set status'),
      element: {
        type: 'static_select', action_id: 'status',
        options: [option('Keep current status', KEEP_STATUS), ...i.model.choices.statuses.slice(0, 99).map((s) => option(s, s))],
        initial_option: option('Keep current status', KEEP_STATUS),
      },
    },
  ];
  if (i.templates.length > 0) {
    blocks.splice(1, 0, {
      type: 'actions', block_id: 'template',
      elements: [{ type: 'static_select', action_id: 'reply_template', placeholder: plain('Insert a quick reply'), options: i.templates.slice(0, 100).map((t) => option(t.name, t.id)) }],
    });
  }
  if (i.aiConfigured) {
    blocks.splice(1, 0, {
      type: 'actions', block_id: 'compose',
      elements: (['generate', 'rephrase', 'casual', 'formal'] as const).map((a) => ({
        type: 'button', action_id: `compose_${a}`, value: a,
        text: plain({ generate: 'Draft a reply', rephrase: 'Rephrase', casual: 'More casual', formal: 'More formal' }[a]),
      })),
    });
  }
  return asView({
    type: 'modal', callback_id: CALLBACKS.reply, private_metadata: JSON.stringify({ n: i.model.number }),
    title: plain(clip(`Ticket #${i.model.number}`, 24), 24), submit: plain('Send', 24), close: plain('Cancel', 24), blocks,
  });
}

export function fieldsModal(m: TicketCardModel): View {
  const sel = (block: string, label: string, values: string[], current: string | null, optional = false) => ({
    type: 'input', block_id: block, label: plain(label), optional,
    element: { type: 'static_select', action_id: 'v', options: values.map((v) => option(v, v)), ...(current && values.includes(current) ? { initial_option: option(current, current) } : {}) },
  });
  return asView({
    type: 'modal', callback_id: CALLBACKS.fields, private_metadata: JSON.stringify({ n: m.number }),
    title: plain(`Edit #${m.number}`, 24), submit: plain('Save', 24), close: plain('Cancel', 24),
    blocks: [
      { type: 'input', block_id: 'title', label: plain('Title'), element: { type: 'plain_text_input', action_id: 'v', initial_value: m.title, max_length: 250 } },
      sel('type', 'Type', m.choices.types, m.type),
      sel('impact', 'Impact', m.choices.impacts, m.impact, true),
      { type: 'input', block_id: 'productFamily', optional: true, label: plain('Product family'), element: { type: 'plain_text_input', action_id: 'v', ...(m.productFamily ? { initial_value: m.productFamily } : {}) } },
    ],
  });
}

export function mergeModal(n: number): View {
  return asView({
    type: 'modal', callback_id: CALLBACKS.merge, private_metadata: JSON.stringify({ n }),
    title: plain(`Merge #${n}`, 24), submit: plain('Merge', 24), close: plain('Cancel', 24),
    blocks: [{ type: 'input', block_id: 'into', label: plain('Merge into ticket number'), element: { type: 'number_input', action_id: 'v', is_decimal_allowed: false, min_value: '1' } }],
  });
}

export function logTimeModal(n: number): View {
  return asView({
    type: 'modal', callback_id: CALLBACKS.logTime, private_metadata: JSON.stringify({ n }),
    title: plain(`Log time on #${n}`, 24), submit: plain('Log', 24), close: plain('Cancel', 24),
    blocks: [
      { type: 'input', block_id: 'minutes', label: plain('Minutes'), element: { type: 'number_input', action_id: 'v', is_decimal_allowed: false, min_value: '1' } },
      { type: 'input', block_id: 'note', optional: true, label: plain('What for'), element: { type: 'plain_text_input', action_id: 'v' } },
    ],
  });
}

export function activityModal(n: number, items: ActivityView[]): View {
  const line = (a: ActivityView) => {
    const what = a.field ? `${a.field}: ${String(a.from ?? '—')} → ${String(a.to ?? '—')}` : a.action.replace(/_/g, ' ');
    return `• ${a.at.toISOString().slice(0, 16).replace('T', ' ')} *${esc(a.actor.name)}* ${esc(what)}`;
  };
  // Newest first, within the 100-block and 3,000-character limits.
  const chunks: string[] = [];
  let cur = '';
  for (const a of [...items].reverse()) {
    const l = line(a);
    if (cur.length + l.length + 1 > 2900) { chunks.push(cur); cur = ''; }
    cur += (cur ? '\n' : '') + l;
  }
  if (cur) chunks.push(cur);
  return asView({
    type: 'modal', title: plain(`Activity #${n}`, 24), close: plain('Close', 24),
    blocks: (chunks.length ? chunks : ['No activity yet.']).slice(0, 99).map((c) => ({ type: 'section', text: mrkdwn(c) })),
  });
}

export function createTicketModal(initial: { title?: string; description?: string; requesterEmail?: string; source?: string } = {}): View {
  return asView({
    type: 'modal', callback_id: CALLBACKS.create, private_metadata: JSON.stringify({ source: initial.source ?? null }),
    title: plain('New ticket', 24), submit: plain('Create', 24), close: plain('Cancel', 24),
    blocks: [
      { type: 'input', block_id: 'title', label: plain('Title'), element: { type: 'plain_text_input', action_id: 'v', max_length: 250, ...(initial.title ? { initial_value: clip(initial.title, 250) } : {}) } },
      { type: 'input', block_id: 'description', label: plain('Description'), element: { type: 'plain_text_input', action_id: 'v', multiline: true, ...(initial.description ? { initial_value: clip(initial.description, 3000) } : {}) } },
      { type: 'input', block_id: 'requester', label: plain('Requester email'), element: { type: 'email_text_input', action_id: 'v', ...(initial.requesterEmail ? { initial_value: initial.requesterEmail } : {}) } },
    ],
  });
}
