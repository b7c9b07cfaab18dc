import { authorOf, type TicketCore } from './core.js';
import { getTicket } from './read.js';
import type { PersonRef, TicketView } from './types.js';

/** Use case: a technician starts a chat with the requester on a platform; that platform's notifier sends it. */
export async function startChat(core: TicketCore, number: number, technicianRef: PersonRef, channel: 'slack' | 'teams'): Promise<TicketView> {
  const tech = await core.people.resolveTechnician(technicianRef, 'author');
  const actor = authorOf(tech, 'technician');
  await core.mutate(number, (t) => {
    const now = new Date();
    return {
      ops: [
        core.activityOp(t._id, t.number, actor, 'chat_started', { meta: { channel } }, now),
        core.eventOp('chat.started', t._id, t.number, actor, { channel, requesterId: String(t.requesterId) }, now),
      ],
    };
  });
  return getTicket(core, number);
}
