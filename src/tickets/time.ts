import type { Types } from 'mongoose';
import { conflict, invalid } from '../domain/errors.js';
import { authorOf, type TicketCore } from './core.js';
import { newOpId } from './dispatcher.js';
import { getTicket } from './read.js';
import type { PersonRef, TicketView } from './types.js';

/** Use case: log minutes, or start/stop a technician's timer, on a ticket. */
export async function trackTime(
  core: TicketCore,
  number: number,
  input: { minutes?: number; start?: boolean; stop?: boolean; note?: string },
  technicianRef: PersonRef,
): Promise<{ ticket: TicketView; minutesAdded: number }> {
  const modes = [input.minutes !== undefined, Boolean(input.start), Boolean(input.stop)].filter(Boolean).length;
  if (modes !== 1) throw invalid('minutes', 'give exactly one of minutes, start or stop');
  if (input.minutes !== undefined && (!Number.isFinite(input.minutes) || input.minutes <= 0 || input.minutes > 24 * 60 * 7)) {
    throw invalid('minutes', 'a positive number of minutes, at most one week');
  }
  const tech = await core.people.resolveTechnician(technicianRef, 'author');
  const techId = String(tech._id);
  const actor = authorOf(tech, 'technician');
  let minutesAdded = 0;
  await core.mutate(number, (t) => {
    const now = new Date();
    const timers = (t.timers ?? []) as { technicianId: Types.ObjectId; startedAt: Date }[];
    const mine = timers.find((x) => String(x.technicianId) === techId);
    if (input.start) {
      if (mine) throw conflict(`a timer is already running for ${tech.primaryEmail} on #${t.number}`);
      return {
        set: { timers: [...timers, { technicianId: tech._id, startedAt: now }] },
        ops: [
          core.activityOp(t._id, t.number, actor, 'timer_started', {}, now),
          core.eventOp('time.tracked', t._id, t.number, actor, { action: 'start', technicianId: techId }, now),
        ],
      };
    }
    let minutes: number;
    let startedAt: Date | null = null;
    let set: Record<string, unknown> = {};
    if (input.stop) {
      if (!mine) throw conflict(`no timer is running for ${tech.primaryEmail} on #${t.number}`);
      startedAt = new Date(mine.startedAt);
      minutes = Math.max(1, Math.round((now.getTime() - startedAt.getTime()) / 60_000));
      set = { timers: timers.filter((x) => x !== mine) };
    } else {
      minutes = Math.round(input.minutes! * 100) / 100;
    }
    minutesAdded = minutes;
    const entryId = newOpId();
    return {
      set,
      inc: { timeSpentMinutes: minutes },
      ops: [
        { id: newOpId(), op: 'timeEntry', doc: { _id: entryId, ticketId: t._id, ticketNumber: t.number, technicianId: tech._id, minutes, startedAt, stoppedAt: input.stop ? now : null, note: input.note ?? '', at: now } },
        core.activityOp(t._id, t.number, actor, input.stop ? 'timer_stopped' : 'time_logged', { meta: { minutes } }, now),
        core.eventOp('time.tracked', t._id, t.number, actor, { action: input.stop ? 'stop' : 'log', minutes, technicianId: techId }, now),
      ],
    };
  });
  return { ticket: await getTicket(core, number), minutesAdded };
}
