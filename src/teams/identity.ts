import { TeamsInfo, type ChannelAccount, type CloudAdapter, type TurnContext } from 'botbuilder';
import { LRUCache } from 'lru-cache';
import { DeskbridgeError } from '../domain/errors.js';
import type { PersonDoc } from '../store/models.js';
import type { TicketService } from '../tickets/service.js';

/** What Teams tells us about a user; email and UPN come from the conversation's member list. */
export interface TeamsUser {
  userId: string;
  aadObjectId: string | null;
  name: string;
  email: string | null;
}

type MemberAccount = ChannelAccount & { email?: string; userPrincipalName?: string };

/** How long a member lookup (hit or miss) is trusted: a renamed or newly added user shows up after this. */
export const MEMBER_CACHE_MS = 10 * 60_000;

/**
 * Maps a Teams user to a deskbridge person: by the linked Teams identity, else by the email the
 * Bot Connector gives for that one member (then linked, so the lookup happens once per person). A
 * member Teams gives no email for is linked by an admin: PUT /api/v1/people/{id}/identities/teams.
 */
export class TeamsIdentity {
  private readonly members = new LRUCache<string, { member: MemberAccount | null }>({ max: 5000, ttl: MEMBER_CACHE_MS, allowStale: false });

  constructor(private readonly service: TicketService, private readonly adapter: CloudAdapter) {}

  async lookup(context: TurnContext, account: ChannelAccount): Promise<{ person: PersonDoc | null; user: TeamsUser }> {
    const user: TeamsUser = { userId: account.id, aadObjectId: account.aadObjectId ?? null, name: account.name ?? '', email: null };
    const linked = await this.service.people.findByIdentity('teams', 'userId', account.id);
    if (linked) return { person: linked, user: { ...user, email: linked.primaryEmail } };
    const member = await this.memberOf(context, account.id);
    user.email = member?.email ?? member?.userPrincipalName ?? null;
    if (!user.email) return { person: null, user };
    const person = await this.service.people.findByEmail(user.email);
    if (person) await this.link(String(person._id), user);
    return { person, user };
  }

  async link(personId: string, user: TeamsUser): Promise<void> {
    await this.service.people.linkIdentity(personId, 'teams', { userId: user.userId, aadObjectId: user.aadObjectId });
  }

  /** The technician behind an action; anyone else gets a clear FORBIDDEN. */
  async technician(context: TurnContext): Promise<PersonDoc> {
    const { person, user } = await this.lookup(context, context.activity.from);
    if (!person || !(person.roles ?? []).includes('technician')) {
      throw new DeskbridgeError('FORBIDDEN', `${user.name || 'This Teams user'} is not a deskbridge technician${user.email ? ` (${user.email})` : ''}`);
    }
    return person;
  }

  /**
   * One member, looked up with GET /v3/conversations/{id}/members/{userId} (TeamsInfo.getMember;
   * in a team it asks the team). Never the non-paged member list, which Microsoft has deprecated and
   * throttles to a few calls a minute. Answers (a miss included) are cached for MEMBER_CACHE_MS, so
   * a chatty user is looked up once, not on every message.
   */
  private async memberOf(context: TurnContext, userId: string): Promise<MemberAccount | undefined> {
    const team = (context.activity.channelData as { team?: { id?: string } } | undefined)?.team?.id;
    const scope = team ?? context.activity.conversation?.id?.split(';messageid=')[0] ?? '';
    const key = `${scope}|${userId}`;
    const cached = this.members.get(key);
    if (cached) return cached.member ?? undefined;
    try {
      const member = (await TeamsInfo.getMember(context, userId)) as MemberAccount;
      this.members.set(key, { member });
      return member;
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      // Not a member (404): remembered like an answer. Throttled or down: not cached, asked again next time.
      if (status === 404) this.members.set(key, { member: null });
      return undefined;
    }
  }
}
