import { createHash } from 'node:crypto';
import { ErrorCode, type WebClient } from '@slack/web-api';
import type { SlackClients } from './installations.js';
import type { Logger } from 'pino';
import { routeWorkspace } from '../domain/channel-routing.js';
import { allStatuses } from '../domain/ticket-rules.js';
import { PermanentDeliveryError, RetryLaterError, WaitingForClaimError, type DeliveryContext, type Notifier } from '../notify/notifier.js';
import { POST_LEASE_MS } from '../notify/post-intent.js';
import { isPaced, PacingLog } from '../notify/rate-limit.js';
import { step } from '../notify/trace.js';
import type { WrittenView } from '../notify/written.js';
import { buildCardModel } from '../tickets/card-model.js';
import type { TicketService } from '../tickets/service.js';
import type { DomainEvent, EntryAddedData, TicketHeaderView, TicketView } from '../tickets/types.js';
import { deliveryLine, esc, threadEntry, ticketCard } from './blocks/card.js';
import { findByMetadata, postDmOnce, type DmIntent } from './dm-once.js';
import type { SlackIdentity } from './identity.js';

/** Where a ticket's card lives; `teamId` names the workspace when it is not the home one. */
export interface CardRef { channel: string; ts: string; hash?: string; teamId?: string | null }
export interface DmRef { channel: string; userId: string; teamId?: string | null }

/** Routing lives in the domain, shared with Teams (re-exported for existing callers). */
export { routeChannel } from '../domain/channel-routing.js';

/** Platform errors that retrying cannot fix. */
const PERMANENT = new Set(['channel_not_found', 'not_in_channel', 'is_archived', 'invalid_auth', 'account_inactive', 'missing_scope', 'msg_too_long', 'invalid_blocks', 'invalid_arguments', 'user_not_found', 'users_not_found']);

/** Maps a Web API failure to the delivery worker's retry language. */
export function deliveryError(err: unknown): Error {
  const e = err as { code?: string; retryAfter?: number; data?: { error?: string }; message?: string };
  if (e.code === ErrorCode.RateLimitedError) return new RetryLaterError('slack rate limited', Math.max(1, e.retryAfter ?? 1) * 1000);
  if (e.code === ErrorCode.PlatformError && e.data?.error && PERMANENT.has(e.data.error)) return new PermanentDeliveryError(`slack: ${e.data.error}`);
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Keeps each ticket's card in the tickets channel and its thread in step with the ticket: posts the
 * card once, re-renders it (skipping identical renders, which coalesces bursts of changes into one
 * chat.update), mirrors each entry into the thread once, relays public replies to a chat DM, and
 * DMs @mentioned technicians.
 */
export class SlackCards {
  private readonly locks = new Map<number, Promise<unknown>>();

  constructor(
    private readonly service: TicketService,
    private readonly clients: SlackClients,
    private readonly identity: SlackIdentity,
    private readonly channel: string | undefined,
    private readonly logger: Logger,
    /** A card update waits this long first, so a burst of changes becomes one chat.update. */
    private readonly coalesceMs = 0,
  ) {}

  /** Runs fn for one ticket at a time (in this process), so a card is never posted twice concurrently. */
  serial<T>(n: number, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(n) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.locks.set(n, next);
    void next.finally(() => { if (this.locks.get(n) === next) this.locks.delete(n); }).catch(() => undefined);
    return next;
  }

  async render(t: TicketHeaderView, viewerId?: string) {
    // Independent reads, at once.
    const [settings, presence, technicians] = await Promise.all([
      this.service.settings.get(), this.service.presence(t.number, viewerId), this.service.people.list({ role: 'technician', limit: 99 }),
    ]);
    const model = buildCardModel(t, { statuses: allStatuses(settings.customStatuses), presence, viewerId });
    return { model, ...ticketCard(model, { technicians: technicians.map((p) => ({ id: p.id, name: p.name || p.email })) }) };
  }

  /** The card's workspace client: its installation's token, or the home one. */
  private clientFor(teamId: string | null | undefined) {
    return teamId ? this.clients.forTeam(teamId) : this.clients.home();
  }

  cardRef(t: Pick<TicketView, 'channelRefs'>): CardRef | null {
    const r = t.channelRefs?.slack as CardRef | undefined | null;
    return r?.channel && r.ts ? r : null;
  }

  /** Posts the card if the ticket has none, else updates it when the render changed. */
  async syncCard(number: number): Promise<CardRef | null> {
    return this.serial(number, async () => {
      const rendered = async () => {
        // The card shows no conversation: the ticket's fields only, no entry is read.
        const t = await this.service.getTicketHeader(number);
        const { text, blocks } = await this.render(t);
        return { t, text, blocks, hash: createHash('sha1').update(JSON.stringify(blocks)).digest('hex') };
      };
      let r = await rendered();
      const ref = this.cardRef(r.t);
      if (!ref) {
        const extra = (await this.service.settings.get()).extra;
        const where = routeWorkspace(r.t, { channel: this.channel, routes: extra.slackChannelRoutes }, extra.slackWorkspaces);
        if (!where) return null;
        const team = where.team ? { teamId: where.team } : {};
        // Exactly once across crashes: the intent is stored before the post; a later attempt that
        // finds an intent first looks for the card it may already have posted (by its metadata),
        // in the workspace the intent was made for.
        const intent = (r.t.channelRefs?.slack as CardIntent | undefined)?.posting ? r.t.channelRefs!.slack as CardIntent : null;
        // Another instance (deliveries of other events of this ticket run elsewhere) is posting it now.
        if (intent && Date.now() - intent.at < POST_LEASE_MS) throw new WaitingForClaimError(`slack: the card of #${number} is being posted`, 2_000);
        if (intent) {
          const found = await findPostedCard(await this.clientFor(intent.teamId), intent.channel, number, intent.at).catch(() => null);
          if (found) {
            // Stored without a hash: the next sync updates it to the current render.
            const recovered: CardRef = { channel: intent.channel, ts: found, hash: '', ...(intent.teamId ? { teamId: intent.teamId } : {}) };
            await this.service.setChannelRef(number, 'slack', recovered as unknown as Record<string, unknown>);
            return recovered;
          }
        }
        const at = Date.now();
        // Claimed atomically: of several instances only one posts; the others retry and find its card.
        const mine = { posting: true, channel: where.channel, at, ...team } satisfies CardIntent as unknown as Record<string, unknown>;
        if (!(await this.service.claimChannelRef(number, 'slack', intent?.at ?? null, mine))) {
          throw new WaitingForClaimError(`slack: the card of #${number} is being posted`, 2_000);
        }
        const res = await (await this.clientFor(where.team)).chat.postMessage({
          channel: where.channel, text: r.text, blocks: r.blocks, unfurl_links: false,
          metadata: { event_type: CARD_EVENT, event_payload: { ticket: number } },
        }).catch(async (err: unknown) => {
          // Slack answered with an error, so nothing was posted: free the claim for the retry.
          if (slackAnswered(err)) await this.service.claimChannelRef(number, 'slack', at, null).catch(() => undefined);
          throw err;
        });
        const posted: CardRef = { channel: res.channel ?? where.channel, ts: res.ts!, hash: r.hash, ...team };
        await this.service.setChannelRef(number, 'slack', posted as unknown as Record<string, unknown>);
        return posted;
      }
      if (ref.hash === r.hash) return ref;
      if (this.coalesceMs > 0) {
        // Let the rest of a burst land, then show its end state once.
        await new Promise((res) => setTimeout(res, this.coalesceMs));
        r = await rendered();
        if (ref.hash === r.hash) return ref;
      }
      await (await this.clientFor(ref.teamId)).chat.update({ channel: ref.channel, ts: ref.ts, text: r.text, blocks: r.blocks });
      const updated = { ...ref, hash: r.hash };
      await this.service.setChannelRef(number, 'slack', updated as unknown as Record<string, unknown>);
      return updated;
    });
  }

  /**
   * Mirrors one entry into the card's thread, once (its ts is stored on the entry). `written` (the
   * ticket and entry as the event's write left them, given to a delivery's first run only) saves
   * reading them back: then only the requester's address is read, alongside the intent write.
   */
  async mirrorEntry(number: number, entryId: string, written?: WrittenView): Promise<void> {
    const known = written?.entry?.id === entryId ? written : undefined;
    // An existing card is enough to post under; the card's own refresh (with its coalescing pause) follows.
    const ref = (known && this.cardRef({ channelRefs: known.channelRefs })) || this.cardRef(await this.service.getTicketHeader(number)) || (await this.syncCard(number));
    step('ticket');
    if (!ref) return;
    await this.serial(number, async () => {
      const entry = known ? known.entry! : await this.service.getEntry(entryId);
      step('entry');
      if (!entry || entry.external?.slackTs) return;
      const client = await this.clientFor(ref.teamId);
      // Exactly once across crashes, as for the card: intent first, then look before posting again.
      if (entry.external?.slackMirror) {
        const found = await findThreadMessage(client, ref.channel, ref.ts, entryId).catch(() => null);
        if (found) {
          await this.service.setEntryExternal(entryId, 'slackTs', found);
          return;
        }
      }
      const intent = this.service.setEntryExternal(entryId, 'slackMirror', { at: Date.now() });
      let requesterEmail: string | null;
      let dm: DmRef | undefined;
      if (known) {
        const [, requester] = await Promise.all([intent, this.service.people.get(known.requesterId)]);
        requesterEmail = requester?.primaryEmail ?? null;
        dm = known.channelRefs.slackDm as DmRef | undefined;
      } else {
        const [, t] = await Promise.all([intent, this.service.getTicketHeader(number)]);
        requesterEmail = t.requester?.email ?? null;
        dm = t.channelRefs?.slackDm as DmRef | undefined;
      }
      step('intent');
      const where = deliveryLine(entry, requesterEmail, Boolean(dm) && entry.author.kind === 'technician');
      const msg = threadEntry(entry, where);
      const res = await client.chat.postMessage({
        channel: ref.channel, thread_ts: ref.ts, ...msg, unfurl_links: false,
        metadata: { event_type: ENTRY_EVENT, event_payload: { ticket: number, entry: entryId } },
      });
      step('posted');
      await this.service.setEntryExternal(entryId, 'slackTs', res.ts);
    });
  }

  /**
   * Relays a technician's public reply to the requester's chat DM. Reads the entry through
   * publicEntries, the end-user query that never returns internal notes.
   */
  async relayToDm(number: number, entryId: string): Promise<void> {
    const t = await this.service.getTicketHeader(number);
    const dm = t.channelRefs?.slackDm as DmRef | undefined;
    if (!dm) return;
    const entry = (await this.service.publicEntries([number])).find((e) => e.id === entryId);
    if (!entry || entry.author.kind !== 'technician' || entry.external?.slackDmTs) return;
    // Exactly once across crashes (intent first, then look before posting again): see dm-once.ts.
    const ts = await postDmOnce({
      client: await this.clients.forTeam(dm.teamId), channel: dm.channel, key: `relay:${entryId}`,
      intent: entry.external?.slackDmPosting as DmIntent | undefined,
      saveIntent: (intent) => this.service.setEntryExternal(entryId, 'slackDmPosting', intent),
      message: { text: `*${esc(entry.author.name)}* (#${number}): ${esc(entry.text)}`.slice(0, 39_000), unfurl_links: false },
    });
    await this.service.setEntryExternal(entryId, 'slackDmTs', ts);
  }

  /** DMs each @mentioned technician a link to the card. */
  async notifyMentions(number: number, entryId: string, mentionIds: string[]): Promise<void> {
    const entry = await this.service.getEntry(entryId);
    if (!entry || entry.external?.slackMentionsSent) return;
    const ref = await this.syncCard(number);
    const link = ref ? (await (await this.clientFor(ref.teamId)).chat.getPermalink({ channel: ref.channel, message_ts: ref.ts })).permalink : null;
    for (const personId of mentionIds) {
      if (personId === entry.author.personId) continue;
      const who = await this.identity.slackUserOf(personId);
      if (!who) continue;
      // Each mention DM once across crashes: its intent, then its ts, are kept on the entry per person.
      const field = `slackMention_${personId.replace(/[^A-Za-z0-9]/g, '_')}`;
      const sent = entry.external?.[field] as (DmIntent & { ts?: string }) | undefined;
      if (sent?.ts) continue;
      const client = await this.clients.forTeam(who.teamId);
      const open = await client.conversations.open({ users: who.userId });
      const channel = open.channel!.id!;
      const ts = await postDmOnce({
        client, channel, key: `mention:${entryId}:${personId}`, intent: sent,
        saveIntent: (intent) => this.service.setEntryExternal(entryId, field, intent),
        message: { unfurl_links: false, text: `${esc(entry.author.name)} mentioned you in a note on #${number}${link ? `: <${link}|open the card>` : ''}` },
      });
      await this.service.setEntryExternal(entryId, field, { channel, at: sent?.at ?? Date.now(), ts });
    }
    await this.service.setEntryExternal(entryId, 'slackMentionsSent', true);
  }

  /** A technician's "Start chat": DM the requester and remember the DM for relaying. */
  async openChat(number: number): Promise<void> {
    const t = await this.service.getTicketHeader(number);
    if (t.channelRefs?.slackDm || !t.requester) return;
    let who = await this.identity.slackUserOf(t.requester.id);
    if (!who) {
      // Looked up in the workspace the ticket's card lives in.
      const found = await (await this.clientFor(this.cardRef(t)?.teamId)).users.lookupByEmail({ email: t.requester.email }).catch(() => null);
      const id = found?.user?.id;
      if (id) {
        who = { userId: id, teamId: found?.user?.team_id ?? null };
        await this.service.people.linkIdentity(t.requester.id, 'slack', who);
      }
    }
    if (!who) throw new PermanentDeliveryError(`requester ${t.requester.email} is not in this Slack workspace`);
    const client = await this.clients.forTeam(who.teamId);
    const userId = who.userId;
    const open = await client.conversations.open({ users: userId });
    const channel = open.channel!.id!;
    // The greeting once across crashes: its intent is kept on the ticket until the DM is remembered.
    await postDmOnce({
      client, channel, key: `chat:${number}`,
      intent: t.channelRefs?.slackDmGreeting as DmIntent | undefined,
      saveIntent: (intent) => this.service.setChannelRef(number, 'slackDmGreeting', intent as unknown as Record<string, unknown>),
      message: { text: `Hi ${esc(t.requester.name)}, this is the helpdesk about #${number} "${esc(t.title)}". Reply here to chat with us.`, unfurl_links: false },
    });
    await this.service.setChannelRef(number, 'slackDm', { channel, userId, teamId: who.teamId ?? null } satisfies DmRef);
  }
}

export function slackNotifier(cards: SlackCards, logger: Logger): Notifier {
  // Waiting for the allowance is routine in a burst: one line per hold, not one per delivery.
  const pacing = new PacingLog(logger, 'slack');
  return {
    channel: 'slack',
    wants: () => true,
    // Everything but an entry or a chat start only re-renders the card (syncCard), as every delivery does last.
    refreshOnly: (event) => event.type !== 'entry.added' && event.type !== 'chat.started',
    async deliver(event: DomainEvent, ctx?: DeliveryContext) {
      try {
        if (event.type === 'entry.added') {
          const d = event.data as unknown as EntryAddedData;
          // The entry goes into the thread and to the requester's DM first: it is what people wait
          // for; the card refresh after it (it may have to wait for chat.update's allowance).
          await cards.mirrorEntry(event.ticketNumber, d.entryId, ctx?.written);
          if (d.visibility === 'public' && d.kind !== 'note') await cards.relayToDm(event.ticketNumber, d.entryId);
          if (d.kind === 'note' && d.mentions.length > 0) await cards.notifyMentions(event.ticketNumber, d.entryId, d.mentions);
          await cards.syncCard(event.ticketNumber);
          return;
        }
        if (event.type === 'chat.started' && event.data.channel === 'slack') await cards.openChat(event.ticketNumber);
        await cards.syncCard(event.ticketNumber);
      } catch (err) {
        if (isPaced(err)) {
          pacing.rescheduled(err, { ticket: event.ticketNumber, type: event.type });
          throw err;
        }
        const mapped = deliveryError(err);
        logger.warn({ err: mapped.message, ticket: event.ticketNumber, type: event.type }, 'slack delivery failed');
        throw mapped;
      }
    },
  };
}

/** Metadata event type of our ticket cards (Slack message metadata: event_type + event_payload). */
const CARD_EVENT = 'deskbridge_ticket_card';

/**
 * True when the call had no effect: Slack answered with an error, or it was never made (a
 * RetryLaterError, e.g. a pacer waiting for the allowance). False when the outcome is unknown.
 */
function slackAnswered(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return err instanceof RetryLaterError || code === ErrorCode.PlatformError || code === ErrorCode.RateLimitedError;
}

/** Left on the ticket while its card is being posted (see syncCard). */
interface CardIntent { posting: true; channel: string; at: number; teamId?: string }

/** The ts of a card for `ticket` posted to `channel` since `sinceMs` (a crashed attempt's), or null. */
const findPostedCard = (client: WebClient, channel: string, ticket: number, sinceMs: number) =>
  findByMetadata(client, channel, sinceMs, CARD_EVENT, (p) => Number(p.ticket) === ticket);

/** Metadata event type of an entry mirrored into a card's thread. */
const ENTRY_EVENT = 'deskbridge_entry';

/** The ts of the thread message mirroring `entryId` under the card `threadTs`, or null. */
async function findThreadMessage(client: WebClient, channel: string, threadTs: string, entryId: string): Promise<string | null> {
  let cursor: string | undefined;
  for (let page = 0; page < 10; page++) {
    const res = await client.conversations.replies({ channel, ts: threadTs, limit: 200, include_all_metadata: true, ...(cursor ? { cursor } : {}) } as never) as {
      messages?: { ts?: string; metadata?: { event_type?: string; event_payload?: { entry?: unknown } } }[]; has_more?: boolean; response_metadata?: { next_cursor?: string };
    };
    for (const m of res.messages ?? []) {
      if (m.metadata?.event_type === ENTRY_EVENT && m.metadata.event_payload?.entry === entryId && m.ts) return m.ts;
    }
    cursor = res.response_metadata?.next_cursor || undefined;
    if (!res.has_more || !cursor) return null;
  }
  return null;
}
