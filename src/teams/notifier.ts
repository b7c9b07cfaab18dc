import { createHash } from 'node:crypto';
import type { ChatMessage } from '@microsoft/microsoft-graph-types';
import type { ConversationReference } from 'botbuilder';
import type { AppContext } from '../app.js';
import { routeChannel } from '../domain/channel-routing.js';
import { PermanentDeliveryError, RetryLaterError, WaitingForClaimError, type DeliveryContext, type Notifier } from '../notify/notifier.js';
import { POST_LEASE_MS } from '../notify/post-intent.js';
import { step } from '../notify/trace.js';
import type { DomainEvent, EntryAddedData, EntryView, TicketView } from '../tickets/types.js';
import { assertCardFits, cardAttachment, cutForCard, entryCard, entryPostKey, ticketPostKey } from './cards.js';
import type { TeamsSender } from './connector.js';
import { carriesMarker, sameText, type GraphPlace, type TeamsGraph } from './graph.js';
import type { TicketCards } from './render.js';
import type { TeamsConversationDoc, TeamsModels } from './store.js';

/** What we store on the ticket (service.setChannelRef) for its Teams card. */
export interface TeamsCardRef {
  conversationId: string;
  activityId: string;
  serviceUrl: string;
  /** Hash of the card last sent; an identical render is not sent again (coalesces bursts). */
  hash?: string;
  /** Set when this card was posted after an interrupted attempt (which may have left a copy). */
  attempt?: number;
  /** The interrupted attempt's card was found with Graph (graph.ts) and adopted instead of posting another. */
  foundWithGraph?: true;
}

/** The sender's errors that mean the call had no effect: Teams answered with a status, or the pacer never made the call. */
const nothingPosted = (err: unknown) => err instanceof RetryLaterError || err instanceof PermanentDeliveryError;

/** Left on the ticket, entry or `teams_sent` record while a message is being posted. */
export interface TeamsPostIntent {
  posting: true;
  at: number;
  attempt: number;
  /** When the first attempt began: a Graph look-up searches from there. */
  since?: number;
}

/** What looking an interrupted post up with Graph gave: its id, nothing, or why Graph could not tell. */
type Lookup = { found: string } | { absent: true } | { unavailable: string };
/** Where to look an interrupted post up, or why it cannot be looked up. */
/** Asking Graph for a 1:1 chat's id comes before the message look-up's own budget; both fit in the posting lease. */
const CHAT_ID_BUDGET_MS = 5_000;
type GraphWhere = { place: GraphPlace; tenant?: string } | { unknown: string };

/** The ticket's posted card among its channel refs (not a posting intent), or null. */
const postedCard = (channelRefs: Record<string, unknown>): TeamsCardRef | null => {
  const r = channelRefs.teams as (TeamsCardRef | TeamsPostIntent) | undefined;
  return r && 'activityId' in r && r.activityId ? r : null;
};

const cardHash = (card: unknown) => createHash('sha1').update(JSON.stringify(card)).digest('hex');

const HANDLED = new Set(['ticket.created', 'entry.added', 'ticket.updated', 'ticket.merged', 'chat.started', 'time.tracked', 'activity.recorded', 'presence.expired']);
/** Bot messages to end users stay well under Teams' message size. */
const RELAY_MAX_CHARS = 20_000;

/**
 * Teams side of every ticket change: posts the card into the tickets channel, mirrors the
 * conversation as thread replies (notes in a yellow, locked container), updates the card in place,
 * relays public replies to an end user's 1:1 chat, and tells @mentioned technicians. Every message
 * it creates is recorded first-thing after creation, and checked before, so a replay posts nothing twice.
 */
export class TeamsNotifier implements Notifier {
  readonly channel = 'teams';

  constructor(
    private readonly ctx: AppContext,
    private readonly models: TeamsModels,
    private readonly sender: TeamsSender,
    private readonly cards: TicketCards,
    /** Set when TEAMS_GRAPH_LOOKUP is on: interrupted posts are looked up before posting again. */
    private readonly graph: TeamsGraph | null = null,
  ) {}

  /**
   * Teams is in use once the bot has a conversation anywhere (a channel it was added to, someone's
   * personal chat) or a tickets channel is configured. Until then no event is wanted, so an
   * installation without Teams records no delivery rows for it at all.
   */
  private active = false;
  private checkedAt = 0;

  /** The bot stored a conversation: deliveries are wanted from now on. */
  markActive(): void {
    this.active = true;
  }

  async refreshActive(): Promise<boolean> {
    this.checkedAt = Date.now();
    if (!this.active) this.active = Boolean(this.ctx.config.TEAMS_TICKETS_CHANNEL) || Boolean(await this.models.Conversation.exists({}));
    return this.active;
  }

  wants(event: DomainEvent): boolean {
    if (!this.active) {
      // Another process may have stored the first conversation: look again now and then.
      if (Date.now() - this.checkedAt > 30_000) void this.refreshActive().catch(() => undefined);
      return false;
    }
    return HANDLED.has(event.type);
  }

  /** Card refreshes only: a later delivery of the ticket posts or updates the card to its state then. */
  refreshOnly(event: DomainEvent): boolean {
    return !['entry.added', 'chat.started', 'ticket.created'].includes(event.type);
  }

  async deliver(event: DomainEvent, ctx?: DeliveryContext): Promise<void> {
    const data = event.type === 'entry.added' ? event.data as unknown as EntryAddedData : null;
    // A reply's thread post first, from the write's own view of the ticket and entry (a delivery's
    // first run only) when the ticket's card is posted: nothing is read back before that call.
    const known = ctx?.written && data && ctx.written.entry?.id === data.entryId ? ctx.written : undefined;
    const knownCard = known ? postedCard(known.channelRefs) : null;
    if (known && knownCard) await this.mirror(event.ticketNumber, knownCard, known.entry!);
    const ticket = await this.ctx.service.getTicket(event.ticketNumber);
    step('ticket');
    const card = await this.ensureCard(ticket);
    if (data) {
      const entry = await this.ctx.service.getEntry(data.entryId);
      step('entry');
      if (entry) {
        if (card) await this.mirror(ticket.number, card, entry);
        await this.relayToChat(ticket, entry);
        if (entry.kind === 'note' && entry.mentions.length > 0) await this.notifyMentions(ticket, entry);
      }
    }
    if (event.type === 'chat.started' && (event.data as { channel?: string }).channel === 'teams') {
      await this.openChat(ticket, event);
    }
    if (card && event.type !== 'ticket.created') await this.updateCard(ticket.number, card);
  }

  // ------------------------------------------------------------------ channel card

  /**
   * The ticket's channel: the first of settings.extra.teamsChannelRoutes matching its customer and
   * type (domain/channel-routing.ts, the rule Slack uses), else TEAMS_TICKETS_CHANNEL, else the
   * channel the app was added to last. A routed channel the bot has not seen yet is reached through
   * the default channel's reference (same team, same service URL).
   */
  private async channelReference(ticket: TicketView): Promise<Partial<ConversationReference> | null> {
    const wanted = this.ctx.config.TEAMS_TICKETS_CHANNEL;
    const doc = wanted
      ? await this.models.Conversation.findById(wanted).lean()
      : await this.models.Conversation.findOne({ kind: 'channel', installedAt: { $ne: null } }).sort({ installedAt: -1 }).lean();
    const fallback = doc?.reference ?? null;
    const routed = routeChannel(ticket, (await this.ctx.service.settings.get()).extra.teamsChannelRoutes);
    if (!routed) return fallback;
    const seen = await this.models.Conversation.findById(routed).lean();
    if (seen?.reference) return seen.reference;
    return fallback ? { ...fallback, conversation: { ...fallback.conversation!, id: routed } } : null;
  }

  private async referenceFor(ref: TeamsCardRef): Promise<Partial<ConversationReference>> {
    const doc = await this.models.Conversation.findById(ref.conversationId).lean();
    return doc?.reference ?? { channelId: 'msteams', serviceUrl: ref.serviceUrl, conversation: { id: ref.conversationId } as never };
  }

  /** Posts the ticket's card once; returns where it lives (null when Teams has no tickets channel yet). */
  private async ensureCard(ticket: TicketView): Promise<TeamsCardRef | null> {
    const existing = ticket.channelRefs.teams as (TeamsCardRef | TeamsPostIntent) | undefined;
    if (existing && 'activityId' in existing && existing.activityId) return existing;
    const reference = await this.channelReference(ticket);
    if (!reference) return null;
    const card = await this.cards.render(ticket.number);
    assertCardFits(card);
    const earlier = (existing as TeamsPostIntent | undefined)?.posting ? existing as TeamsPostIntent : undefined;
    // Another instance (deliveries of other events of this ticket run elsewhere) is posting it now.
    if (earlier && Date.now() - earlier.at < POST_LEASE_MS) throw new WaitingForClaimError(`teams: the card of #${ticket.number} is being posted`, 2_000);
    // The intent goes first, claimed atomically so only one instance posts; an earlier one left
    // behind means a post may have reached Teams (see lookUp and warnRepost).
    const what = `card of #${ticket.number}`;
    const intent = this.nextIntent(earlier);
    const claimed = await this.ctx.service.claimChannelRef(ticket.number, 'teams', earlier?.at ?? null, { ...intent, conversationId: reference.conversation!.id });
    if (!claimed) throw new WaitingForClaimError(`teams: the card of #${ticket.number} is being posted`, 2_000);
    if (earlier) {
      const lookup = await this.lookUp(what, intent, () => this.channelPlace(reference, null), (m) => carriesMarker(m, ticketPostKey(ticket.number)));
      if (lookup && 'found' in lookup) {
        const found: TeamsCardRef = { conversationId: reference.conversation!.id, activityId: lookup.found, serviceUrl: reference.serviceUrl!, attempt: intent.attempt, foundWithGraph: true };
        await this.ctx.service.setChannelRef(ticket.number, 'teams', found as unknown as Record<string, unknown>);
        // The card found is as the dead attempt rendered it: bring it up to date.
        return this.updateCard(ticket.number, found);
      }
      this.warnRepost(earlier, what, lookup);
    }
    const activityId = await this.sender.post(reference, { type: 'message', attachments: [cardAttachment(card)] }).catch(async (err: unknown) => {
      // Teams answered with an error (or the pacer held the call back), so nothing was posted: free the
      // claim, handing back the dead attempt's intent if there was one (see restoreOnRefusal).
      if (nothingPosted(err)) await this.ctx.service.claimChannelRef(ticket.number, 'teams', intent.at, earlier ? existing as unknown as Record<string, unknown> : null).catch(() => undefined);
      throw err;
    });
    const ref: TeamsCardRef = { conversationId: reference.conversation!.id, activityId, serviceUrl: reference.serviceUrl!, hash: cardHash(card), ...(intent.attempt > 1 ? { attempt: intent.attempt } : {}) };
    await this.ctx.service.setChannelRef(ticket.number, 'teams', ref as unknown as Record<string, unknown>);
    return ref;
  }

  /**
   * Updates the card in place unless it would look the same as the last one sent. Deliveries run
   * one after the other and render the ticket as it is now, so after a burst of changes the first
   * delivery shows the end state and the rest are skipped: one update per burst, not one per change.
   */
  private async updateCard(number: number, ref: TeamsCardRef): Promise<TeamsCardRef> {
    const card = await this.cards.render(number);
    assertCardFits(card);
    const hash = cardHash(card);
    if (ref.hash === hash) return ref;
    await this.sender.update(await this.referenceFor(ref), ref.activityId, { type: 'message', attachments: [cardAttachment(card)] });
    await this.ctx.service.setChannelRef(number, 'teams', { ...ref, hash } as unknown as Record<string, unknown>);
    return { ...ref, hash };
  }

  /** The conversation as thread replies under the card; entries that came from Teams are already there. */
  private async mirror(ticketNumber: number, ref: TeamsCardRef, entry: EntryView): Promise<void> {
    if (entry.external.teamsActivityId) return;
    const mentions = await this.teamsMentions(entry);
    const card = entryCard({ entry, ticketNumber, maxChars: this.ctx.config.TEAMS_CARD_COMMENT_CHARS, mentions });
    assertCardFits(card);
    const earlier = (entry.external.teamsMirror as TeamsPostIntent | undefined)?.posting ? entry.external.teamsMirror as TeamsPostIntent : undefined;
    const what = `thread reply of entry ${entry.id}`;
    const intent = this.nextIntent(earlier);
    // The intent is stored before the post; the conversation's reference is read meanwhile.
    const [, reference] = await Promise.all([this.ctx.service.setEntryExternal(entry.id, 'teamsMirror', intent), this.referenceFor(ref)]);
    step('intent');
    if (earlier) {
      const lookup = await this.lookUp(what, intent, () => this.channelPlace(reference, ref.activityId), (m) => carriesMarker(m, entryPostKey(entry.id)));
      if (lookup && 'found' in lookup) {
        await this.ctx.service.setEntryExternal(entry.id, 'teamsActivityId', lookup.found);
        return;
      }
      this.warnRepost(earlier, what, lookup);
    }
    const id = await this.sender.reply(reference, ref.activityId, { type: 'message', attachments: [cardAttachment(card)] }).catch(async (err: unknown) => {
      // Teams answered (or the pacer held the call back): nothing was posted by this attempt, so the
      // retry is no repeat of it; but a dead attempt before it may have posted (restoreOnRefusal).
      if (nothingPosted(err)) await this.ctx.service.setEntryExternal(entry.id, 'teamsMirror', earlier ?? null).catch(() => undefined);
      throw err;
    });
    step('posted');
    await this.ctx.service.setEntryExternal(entry.id, 'teamsActivityId', id);
  }

  private async teamsMentions(entry: EntryView): Promise<{ userId: string; name: string }[]> {
    if (entry.kind !== 'note' || entry.mentions.length === 0) return [];
    const people = await this.ctx.service.people.getMany(entry.mentions);
    const out: { userId: string; name: string }[] = [];
    for (const p of people.values()) {
      const userId = (p.identities as Record<string, { userId?: string }> | undefined)?.teams?.userId;
      if (userId) out.push({ userId, name: p.name || p.primaryEmail });
    }
    return out;
  }

  // ------------------------------------------------------------------ people

  /**
   * Runs send() once per key: the id of what it created is recorded and checked on replay. After
   * an interrupted attempt the message is looked up in `conv` with Graph when configured; `matches`
   * recognises it.
   */
  private async once(key: string, conv: TeamsConversationDoc, matches: (m: ChatMessage) => boolean, send: () => Promise<string>): Promise<void> {
    const prior = await this.models.Sent.findById(key).lean();
    if (prior?.activityId) return;
    const earlier: TeamsPostIntent | undefined = prior?.posting ? { posting: true, at: prior.at.getTime(), attempt: prior.attempt ?? 1, since: prior.since?.getTime() } : undefined;
    const what = `message ${key}`;
    const intent = this.nextIntent(earlier);
    await this.models.Sent.updateOne({ _id: key }, { $set: { posting: true, at: new Date(intent.at), attempt: intent.attempt, since: new Date(intent.since!) } }, { upsert: true });
    if (earlier) {
      // A text message is recognised by its text, so one already recorded for another key is not it.
      const taken = async (id: string) => Boolean(await this.models.Sent.exists({ activityId: id, _id: { $ne: key } }));
      const lookup = await this.lookUp(what, intent, () => this.chatPlace(conv), matches, taken);
      if (lookup && 'found' in lookup) {
        await this.models.Sent.updateOne({ _id: key }, { $set: { activityId: lookup.found, at: new Date(), foundWithGraph: true }, $unset: { posting: 1 } });
        return;
      }
      this.warnRepost(earlier, what, lookup);
    }
    const activityId = await send().catch(async (err: unknown) => {
      if (nothingPosted(err)) {
        // Nothing posted by this attempt; a dead attempt before it keeps its intent (restoreOnRefusal).
        const undo = earlier
          ? this.models.Sent.updateOne({ _id: key, activityId: null }, { $set: { posting: true, at: new Date(earlier.at), attempt: earlier.attempt, since: new Date(earlier.since ?? earlier.at) } })
          : this.models.Sent.deleteOne({ _id: key, activityId: null });
        await undo.catch(() => undefined);
      }
      throw err;
    });
    await this.models.Sent.updateOne({ _id: key }, { $set: { activityId, at: new Date() }, $unset: { posting: 1 } });
  }

  /*
   * restoreOnRefusal: when Teams refuses a call (429, 4xx) or the pacer holds it back, this attempt
   * posted nothing and its intent is withdrawn. If it was a retry after a dead attempt, the dead
   * attempt's intent is put back, not cleared: that attempt may have posted, so the next one is a
   * repeat and must count it (attempt n+1). Clearing it made the next post "attempt 1" next to a
   * copy the dead attempt had left: two copies on a record that admits one (what explains the
   * unmatched thread replies of the multi-instance channels fault test once pacing made refused
   * retries common under load).
   */
  /**
   * The intent of a new post. Finding an earlier attempt's intent means that attempt died during
   * its call to Teams; the Bot Connector API has no way to read a conversation's messages back, so
   * whether it was posted is known only by asking Graph (lookUp), when configured. Otherwise, and
   * when Graph cannot be asked, posting again is the lesser evil: a missing card leaves the ticket
   * with no card to update or thread under, a missing mirror or relay hides a reply from
   * technicians or the end user, while a duplicate only repeats one (a duplicated card even
   * refreshes to the live state for its technicians). The repeat is logged (warnRepost) and counted
   * on the intent (`attempt`), so it can be told from a bug.
   */
  private nextIntent(earlier: TeamsPostIntent | undefined): TeamsPostIntent {
    const now = Date.now();
    if (!earlier?.posting) return { posting: true, at: now, attempt: 1, since: now };
    return { posting: true, at: now, attempt: (earlier.attempt ?? 1) + 1, since: earlier.since ?? earlier.at };
  }

  private warnRepost(earlier: TeamsPostIntent, what: string, lookup: Lookup | null): void {
    const fields = { what, since: new Date(earlier.since ?? earlier.at).toISOString(), attempt: (earlier.attempt ?? 1) + 1 };
    if (!lookup) this.ctx.logger.warn(fields, 'teams: an interrupted post may have reached Teams; posting again (the connector cannot look it up; TEAMS_GRAPH_LOOKUP is off)');
    else if ('unavailable' in lookup) this.ctx.logger.warn({ ...fields, why: lookup.unavailable }, 'teams: an interrupted post may have reached Teams; Graph could not tell, posting again');
    else this.ctx.logger.info(fields, 'teams: an interrupted post is not in Teams (looked up with Graph); posting it');
  }

  /**
   * Looks an interrupted post up with Graph (null when the look-up is off). Any failure (no token,
   * 403 without the RSC permission, unreachable, unknown team or chat id) is an answer too:
   * `unavailable`, and the caller posts again, since a missing message is worse than a duplicate.
   */
  private async lookUp(what: string, intent: TeamsPostIntent, where: () => Promise<GraphWhere>, matches: (m: ChatMessage) => boolean, taken?: (id: string) => Promise<boolean>): Promise<Lookup | null> {
    if (!this.graph) return null;
    try {
      const at = await where();
      if ('unknown' in at) return { unavailable: at.unknown };
      const ids = await this.graph.find(at.place, this.graph.tenantFor(at.tenant), intent.since ?? intent.at, matches);
      for (const id of ids) {
        if (taken && await taken(id)) continue;
        this.ctx.logger.info({ what, activityId: id, attempt: intent.attempt }, 'teams: found an interrupted post with Graph; not posting it again');
        return { found: id };
      }
      return { absent: true };
    } catch (err) {
      return { unavailable: (err as Error).message };
    }
  }

  /** A channel's root messages (rootActivityId null) or the replies under one, as Graph names them. */
  private async channelPlace(reference: Partial<ConversationReference>, rootActivityId: string | null): Promise<GraphWhere> {
    const channelId = reference.conversation?.id;
    if (!channelId) return { unknown: 'no channel id' };
    // A routed channel not seen yet is in the default channel's team (see channelReference).
    const own = await this.models.Conversation.findById(channelId).lean();
    const teamId = own?.teamAadGroupId
      ?? (await this.models.Conversation.findOne({ kind: 'channel', teamAadGroupId: { $nin: [null, ''] } }).sort({ installedAt: -1 }).lean())?.teamAadGroupId;
    if (!teamId) return { unknown: 'the team\'s group id (channelData.team.aadGroupId) was never seen' };
    const tenant = reference.conversation?.tenantId;
    return rootActivityId
      ? { place: { kind: 'replies', teamId, channelId, messageId: rootActivityId }, tenant }
      : { place: { kind: 'channel', teamId, channelId }, tenant };
  }

  /** A personal chat as Graph names it, asked from Graph by the user's Entra object id. */
  private async chatPlace(conv: TeamsConversationDoc): Promise<GraphWhere> {
    const aad = conv.reference.user?.aadObjectId;
    if (!aad || !this.graph) return { unknown: 'the user\'s aadObjectId is not known for this chat' };
    const tenant = this.graph.tenantFor(conv.reference.conversation?.tenantId);
    return { place: { kind: 'chat', chatId: await this.graph.personalChatId(aad, tenant, Date.now() + CHAT_ID_BUDGET_MS) }, tenant };
  }

  /**
   * Public replies to a ticket bound to an end user's Teams chat go to that chat. The entry is read
   * again through publicEntries, the end-user query that excludes internal notes.
   */
  private async relayToChat(ticket: TicketView, entry: EntryView): Promise<void> {
    const bound = ticket.channelRefs.teamsChat as { conversationId?: string } | undefined;
    if (!bound?.conversationId || entry.author.kind === 'contact') return;
    const visible = (await this.ctx.service.publicEntries([entry.ticketNumber])).find((e) => e.id === entry.id);
    if (!visible || visible.kind === 'note') return;
    const conv = await this.models.Conversation.findById(bound.conversationId).lean();
    if (!conv) return;
    const cut = cutForCard(visible.text, RELAY_MAX_CHARS);
    const text = `**${visible.author.name || 'Helpdesk'}** (ticket #${ticket.number}):\n\n${cut.text}${cut.truncated ? '\n\n(The full message was also sent by email.)' : ''}`;
    await this.once(`relay:${entry.id}`, conv, (m) => sameText(m, text), () => this.sender.post(conv.reference, { type: 'message', text, textFormat: 'markdown' }));
  }

  private async openChat(ticket: TicketView, event: DomainEvent): Promise<void> {
    if (!ticket.requester) return;
    const conv = await this.models.Conversation.findOne({ kind: 'personal', personId: ticket.requester.id }).lean();
    if (!conv) {
      await this.ctx.service.recordActivity(ticket.number, 'chat_unavailable', { channel: 'teams', reason: 'app not installed for the requester' });
      return;
    }
    await this.ctx.service.setChannelRef(ticket.number, 'teamsChat', { conversationId: conv._id });
    await this.models.Conversation.updateOne({ _id: conv._id }, { $set: { chatTicket: ticket.number } });
    const text = `Hi ${ticket.requester.name.split(' ')[0]}, ${event.actor.name || 'a technician'} from the helpdesk would like to chat about ticket #${ticket.number}: ${ticket.title}. Just reply here.`;
    await this.once(`chat:${event.id}`, conv, (m) => sameText(m, text), () => this.sender.post(conv.reference, { type: 'message', text }));
  }

  /** Each technician tagged in a note gets a 1:1 message (when the app is installed for them). */
  private async notifyMentions(ticket: TicketView, entry: EntryView): Promise<void> {
    const people = await this.ctx.service.people.getMany(entry.mentions);
    for (const p of people.values()) {
      if (!(p.roles ?? []).includes('technician')) continue;
      const conv = await this.models.Conversation.findOne({ kind: 'personal', personId: String(p._id) }).lean();
      if (!conv) continue;
      const card = entryCard({ entry, ticketNumber: ticket.number, maxChars: this.ctx.config.TEAMS_CARD_COMMENT_CHARS });
      const text = `${entry.author.name || 'A technician'} mentioned you on #${ticket.number} ${ticket.title}`;
      await this.once(`mention:${entry.id}:${String(p._id)}`, conv, (m) => carriesMarker(m, entryPostKey(entry.id)), () => this.sender.post(conv.reference, { type: 'message', text, attachments: [cardAttachment(card)] }));
    }
  }
}
