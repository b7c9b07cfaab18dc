import type { WebClient } from '@slack/web-api';
import type { TicketService } from '../tickets/service.js';
import type { PersonDoc } from '../store/models.js';

export interface SlackPerson {
  personId: string;
  email: string;
  name: string;
  technician: boolean;
  slackUserId: string;
}

/**
 * Slack user → person, by the email users.info reports; cached on the person as identities.slack,
 * so users.info is called once per user.
 */
export class SlackIdentity {
  constructor(private readonly service: TicketService, private readonly client: WebClient) {}

  async resolve(userId: string): Promise<SlackPerson | null> {
    const known = await this.service.people.findByIdentity('slack', 'userId', userId);
    if (known) return this.toSlackPerson(known, userId);
    const res = await this.client.users.info({ user: userId });
    const u = res.user;
    const email = u?.profile?.email;
    if (!u || u.is_bot || !email) return null;
    const name = u.real_name || u.profile?.real_name || u.name || email;
    const person = await this.service.people.ensureContact(email, name);
    await this.service.people.linkIdentity(String(person._id), 'slack', { userId, teamId: u.team_id ?? null, avatarUrl: u.profile?.image_72 ?? null });
    return this.toSlackPerson(person, userId);
  }

  /** The Slack user (and workspace) of a person, when they have been seen in Slack. */
  async slackUserOf(personId: string): Promise<{ userId: string; teamId: string | null } | null> {
    const p = await this.service.people.get(personId);
    const slack = (p?.identities as Record<string, { userId?: string; teamId?: string | null }> | undefined)?.slack;
    return slack?.userId ? { userId: slack.userId, teamId: slack.teamId ?? null } : null;
  }

  private toSlackPerson(p: PersonDoc, userId: string): SlackPerson {
    return { personId: String(p._id), email: p.primaryEmail, name: p.name || p.primaryEmail, technician: (p.roles ?? []).includes('technician'), slackUserId: userId };
  }
}
