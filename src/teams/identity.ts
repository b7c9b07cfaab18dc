import type { ChannelAccount, TurnContext } from 'botbuilder';
import type { CloudAdapter } from 'botbuilder';
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

/**
 * Maps a Teams user to a deskbridge person: by the linked Teams identity, else by the email the
 * Bot Connector's member list gives (then linked, so the lookup happens once per person).
 */
export class TeamsIdentity {
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

  private async memberOf(context: TurnContext, userId: string): Promise<MemberAccount | undefined> {
    const client = context.turnState.get(this.adapter.ConnectorClientKey);
    // In a channel, ask the team (a thread id with ";messageid=" is no conversation of its own).
    const team = (context.activity.channelData as { team?: { id?: string } } | undefined)?.team?.id;
    const conversationId = team ?? context.activity.conversation?.id?.split(';messageid=')[0];
    if (!client || !conversationId) return undefined;
    try {
      const members = (await client.conversations.getConversationMembers(conversationId)) as MemberAccount[];
      return members.find((m) => m.id === userId);
    } catch {
      return undefined;
    }
  }
}
