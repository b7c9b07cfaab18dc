import type { AppContext } from '../app.js';
import { allStatuses } from '../domain/ticket-rules.js';
import { buildCardModel } from '../tickets/card-model.js';
import type { TicketView } from '../tickets/types.js';
import { ticketCard, ticketPostKey, type AdaptiveCard } from './cards.js';
import { markCard } from './graph.js';

/** Renders a ticket's card from the service's current state, for one viewer or for everyone. */
export class TicketCards {
  constructor(private readonly ctx: AppContext) {}

  async technicians(): Promise<{ id: string; name: string }[]> {
    const list = await this.ctx.service.people.list({ role: 'technician', limit: 100 });
    return list.map((p) => ({ id: p.id, name: p.name || p.email }));
  }

  /** Teams ids of the ticket's technicians (assignee, authors, CC'd and present technicians). */
  async refreshUserIds(ticket: TicketView): Promise<string[]> {
    const ids = new Set<string>();
    if (ticket.assignee) ids.add(ticket.assignee.id);
    for (const e of ticket.entries) if (e.author.kind === 'technician' && e.author.personId) ids.add(e.author.personId);
    for (const c of ticket.cc) if (c.personId) ids.add(c.personId);
    const presence = await this.ctx.service.presence(ticket.number);
    for (const m of [...(presence.me ? [presence.me] : []), ...presence.shown, ...presence.more]) ids.add(m.personId);
    const people = await this.ctx.service.people.getMany([...ids]);
    const out: string[] = [];
    for (const p of people.values()) {
      const teams = (p.identities as Record<string, { userId?: string }> | undefined)?.teams;
      if (teams?.userId && (p.roles ?? []).includes('technician')) out.push(teams.userId);
    }
    return out;
  }

  async render(number: number, opts: { viewerId?: string; notice?: string | null } = {}): Promise<AdaptiveCard> {
    const { service } = this.ctx;
    const ticket = await service.getTicket(number);
    const settings = await service.settings.get();
    const presence = await service.presence(number, opts.viewerId);
    const model = buildCardModel(ticket, { statuses: allStatuses(settings.customStatuses), presence, viewerId: opts.viewerId });
    const card = ticketCard(model, {
      refreshUserIds: await this.refreshUserIds(ticket),
      technicians: await this.technicians(),
      defaultReplyType: settings.defaultReplyType,
      notice: opts.notice ?? null,
    });
    // Every rendering carries the marker, so an update or refresh never removes it (graph.ts).
    return markCard(card, ticketPostKey(number));
  }
}
