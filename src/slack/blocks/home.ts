import type { View } from '@slack/types';
import type { TicketSummary } from '../../tickets/types.js';
import { asView, clip, esc, mrkdwn, plain, ticketList } from './card.js';

/** App Home: technicians see their tickets and the unassigned ones; end users their own requests. */
export function homeView(i: { technician: boolean; mine: TicketSummary[]; unassigned: TicketSummary[]; participant: TicketSummary[] }): View {
  if (i.technician) {
    return asView({
      type: 'home',
      blocks: [
        { type: 'header', text: plain('Helpdesk', 150) },
        ...ticketList('Assigned to you', i.mine, 20),
        { type: 'divider' },
        ...ticketList('Unassigned', i.unassigned, 20),
      ],
    });
  }
  // End users: their requests with the latest public message (summaries carry only public entries).
  return asView({
    type: 'home',
    blocks: [
      { type: 'header', text: plain('Your requests', 150) },
      { type: 'section', text: mrkdwn('Send me a direct message to open a chat with the helpdesk.') },
      ...i.participant.slice(0, 40).map((t) => ({
        type: 'section',
        text: mrkdwn(`*#${t.number} ${esc(t.title)}* — ${t.status}${t.last ? `\n>${esc(clip(t.last.excerpt, 200)).replace(/\n/g, ' ')}` : ''}`),
      })),
    ],
  });
}
