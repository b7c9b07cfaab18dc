import { createHash } from 'node:crypto';
import { TurnContext, type Activity, type CloudAdapter } from 'botbuilder';
import { convert as htmlToText } from 'html-to-text';
import type { AppContext, ComposeAction } from '../app.js';
import { DeskbridgeError, httpStatusFor, invalid } from '../domain/errors.js';
import { TECH_COMMANDS_HELP, parseTechCommand } from '../domain/tech-commands.js';
import { allStatuses, type Priority, type TicketType, type Impact } from '../domain/ticket-rules.js';
import type { PersonDoc } from '../store/models.js';
import type { PersonRef, TicketPatch } from '../tickets/types.js';
import { emailBridgeOf } from '../email/module.js';
import { cardAttachment, chunkText, composeCard, linesCard, type AdaptiveCard } from './cards.js';
import type { TeamsIdentity } from './identity.js';
import type { TicketCards } from './render.js';
import { firstSighting, type TeamsModels } from './store.js';

/** Teams' channel conversation ids carry the thread as ";messageid=<root activity id>". */
export function splitThread(conversationId: string): { channelId: string; rootId: string | null } {
  const m = /^(.*);messageid=(\d+|[^;]+)$/.exec(conversationId);
  return m ? { channelId: m[1]!, rootId: m[2]! } : { channelId: conversationId, rootId: null };
}

/** Plain text of an incoming message: Teams sends HTML (with <at> mentions) in channels. */
/** The entry key of a message in a channel thread (the same for the message and its later edits). */
export const threadMessageId = (conversationId: string, activityId: string) => `teams:${splitThread(conversationId).channelId}:${activityId}`;

export function messageText(activity: Partial<Activity>, dropMentionsOf?: string): string {
  let raw = activity.text ?? '';
  for (const e of activity.entities ?? []) {
    if (e.type === 'mention' && (e as { mentioned?: { id?: string } }).mentioned?.id === dropMentionsOf && typeof e.text === 'string') raw = raw.split(e.text).join('');
  }
  const looksHtml = activity.textFormat === 'xml' || /<\/?[a-z][^>]*>/i.test(raw);
  const text = looksHtml ? htmlToText(raw.replace(/<at>(.*?)<\/at>/g, '@$1'), { wordwrap: false }) : raw;
  return text.trim();
}

const firstLine = (text: string, max = 120) => {
  const line = text.split('\n').find((l) => l.trim())?.trim() ?? 'Chat from Teams';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
};

const numberFrom = (v: unknown, field: string): number => {
  const n = typeof v === 'number' ? v : Number.parseInt(String(v ?? ''), 10);
  if (!Number.isInteger(n) || n <= 0) throw invalid(field, 'a positive whole number');
  return n;
};

type Data = Record<string, unknown>;

/**
 * The bot: every incoming activity becomes one service call, and the answer is rendered from the
 * service's result. Card actions are Universal Actions (adaptiveCard/action); longer forms are
 * dialogs (task/fetch, task/submit); "Create ticket from message" is a message action.
 */
export class TeamsBot {
  /** Called after a conversation reference is stored (the notifier starts wanting events). */
  onConversationStored: () => void = () => undefined;

  constructor(
    private readonly ctx: AppContext,
    private readonly models: TeamsModels,
    private readonly adapter: CloudAdapter,
    private readonly identity: TeamsIdentity,
    private readonly cards: TicketCards,
  ) {}

  async handle(context: TurnContext): Promise<void> {
    const a = context.activity;
    if ((a.type === 'message' || a.type === 'invoke') && a.id) {
      // Teams retries what it got no answer to; a retried action must not act twice.
      const first = await firstSighting(this.models, `${a.conversation?.id ?? ''}|${a.id}`);
      if (!first) return this.answerDuplicate(context);
    }
    await this.captureReference(context);
    if (a.type === 'message') return this.onMessage(context);
    if (a.type === 'invoke') return this.onInvoke(context);
    if (a.type === 'messageUpdate' || a.type === 'messageDelete') return this.onMessageEdit(context);
  }

  // ------------------------------------------------------------------ references

  private async captureReference(context: TurnContext): Promise<void> {
    const a = context.activity;
    if (!a.conversation?.id || !a.serviceUrl) return;
    const kind = (a.conversation.conversationType ?? 'personal') as 'channel' | 'personal' | 'groupChat';
    const ref = TurnContext.getConversationReference(a);
    delete ref.activityId;
    if (kind === 'channel') {
      const { channelId } = splitThread(a.conversation.id);
      ref.conversation = { ...ref.conversation!, id: channelId };
      const set: Record<string, unknown> = { kind, reference: ref, updatedAt: new Date() };
      // Only adding the app makes a channel the default tickets channel, not any activity in it.
      const botAdded = a.type === 'conversationUpdate' && (a.membersAdded ?? []).some((m) => m.id === a.recipient?.id);
      if (botAdded) set.installedAt = new Date();
      // Graph names a team by its group id; Teams sends it with channel activities (needed by graph.ts).
      const aadGroupId = (a.channelData as { team?: { aadGroupId?: string } } | undefined)?.team?.aadGroupId;
      if (aadGroupId) set.teamAadGroupId = aadGroupId;
      await this.models.Conversation.updateOne({ _id: channelId }, { $set: set }, { upsert: true });
      this.onConversationStored();
      return;
    }
    if (kind === 'personal') {
      const update: Record<string, unknown> = { kind, reference: ref, updatedAt: new Date() };
      const existing = await this.models.Conversation.findById(a.conversation.id).lean();
      if (!existing?.personId && a.from?.id && a.from.role !== 'bot') {
        const person = await this.personForChat(context);
        if (person) update.personId = String(person._id);
      }
      await this.models.Conversation.updateOne({ _id: a.conversation.id }, { $set: update }, { upsert: true });
      this.onConversationStored();
    }
  }

  /** The end user in a 1:1 chat: a known person, or a new contact from their Teams email. */
  private async personForChat(context: TurnContext): Promise<PersonDoc | null> {
    const { person, user } = await this.identity.lookup(context, context.activity.from);
    if (person) return person;
    if (!user.email) return null;
    const created = await this.ctx.service.people.ensureContact(user.email, user.name || undefined);
    await this.identity.link(String(created._id), user);
    return created;
  }

  // ------------------------------------------------------------------ messages

  private async onMessage(context: TurnContext): Promise<void> {
    const a = context.activity;
    const kind = a.conversation.conversationType ?? 'personal';
    if (kind === 'personal') return this.onChatMessage(context);
    if (kind === 'channel') return this.onThreadMessage(context);
  }

  /** An end user writes to the bot 1:1: continue their open chat ticket or open a new one. */
  private async onChatMessage(context: TurnContext): Promise<void> {
    const a = context.activity;
    const text = messageText(a, a.recipient?.id);
    if (!text) return;
    const conv = await this.models.Conversation.findById(a.conversation.id).lean();
    const person = conv?.personId ? await this.ctx.service.people.get(conv.personId) : await this.personForChat(context);
    if (!person) {
      await context.sendActivity('Sorry, Teams did not tell me your email address, so I cannot open a ticket for you yet. Please write to the helpdesk by email, or ask the helpdesk to link your Teams account.');
      return;
    }
    const { service } = this.ctx;
    if ((person.roles ?? []).includes('technician')) return this.onTechnicianCommand(context, person, text);
    if (conv?.chatTicket) {
      const current = await service.followMerges(conv.chatTicket);
      if (current.statusCategory !== 'Resolved' && current.statusCategory !== 'Closed') {
        await service.addEntry(current.number, { kind: 'chat', text, author: { personId: String(person._id) }, source: 'teams', external: { teamsActivityId: a.id } });
        return;
      }
    }
    const ticket = await service.createTicket({
      title: firstLine(text), description: text, requester: { email: person.primaryEmail, name: person.name || undefined },
      source: 'teams', external: { teamsActivityId: a.id },
    });
    await this.bindChat(ticket.number, a.conversation.id, true);
    await context.sendActivity(`Thanks, I opened ticket #${ticket.number} for you. A technician will answer here.`);
  }

  /** A technician's 1:1 message: a command (domain/tech-commands.ts), never a chat ticket of their own. */
  private async onTechnicianCommand(context: TurnContext, tech: PersonDoc, text: string): Promise<void> {
    const { service } = this.ctx;
    const me = String(tech._id);
    const lines = (items: { number: number; title: string; status: string; priority: string }[]) =>
      items.map((t) => `- **#${t.number}** ${t.title} · ${t.status} · ${t.priority}`).join('\n');
    const cmd = parseTechCommand(text);
    try {
      if (cmd.kind === 'mine' || cmd.kind === 'unassigned') {
        const list = await service.listTickets({ assignee: cmd.kind === 'mine' ? me : 'none', limit: 20 });
        const open = list.items.filter((t) => t.statusCategory !== 'Closed' && t.statusCategory !== 'Resolved');
        const heading = cmd.kind === 'mine' ? 'Your open tickets' : 'Unassigned open tickets';
        await context.sendActivity({ type: 'message', textFormat: 'markdown', text: `**${heading}: ${open.length}**\n\n${lines(open) || 'Nothing here.'}` });
      } else if (cmd.kind === 'show') {
        await service.getTicket(cmd.number); // NOT_FOUND before a card is rendered
        await context.sendActivity({ type: 'message', attachments: [cardAttachment(await this.cards.render(cmd.number, { viewerId: me }))] });
      } else if (cmd.kind === 'new') {
        const t = await service.createTicket({ title: cmd.title, description: cmd.description, requester: { email: tech.primaryEmail, name: tech.name || undefined }, source: 'teams', createdBy: { personId: me } });
        await context.sendActivity(`Opened ticket #${t.number}: ${t.title}`);
      } else if (cmd.kind === 'search') {
        const found = await service.searchTickets(cmd.words, { limit: 20 });
        await context.sendActivity({ type: 'message', textFormat: 'markdown', text: `**${found.items.length} tickets match "${cmd.words}"**\n\n${lines(found.items)}` });
      } else {
        await context.sendActivity(cmd.problem ? `${cmd.problem}\n\n${TECH_COMMANDS_HELP}` : TECH_COMMANDS_HELP);
      }
    } catch (err) {
      if (!(err instanceof DeskbridgeError)) throw err;
      await context.sendActivity(`${err.code}: ${err.message}`);
    }
  }

  /** Public replies of this ticket are relayed into the 1:1 conversation from now on. */
  async bindChat(number: number, conversationId: string, asCurrent: boolean): Promise<void> {
    await this.ctx.service.setChannelRef(number, 'teamsChat', { conversationId });
    if (asCurrent) await this.models.Conversation.updateOne({ _id: conversationId }, { $set: { chatTicket: number } });
  }

  /** A technician writes in a ticket card's thread: an internal note (tagged people are notified). */
  private async onThreadMessage(context: TurnContext): Promise<void> {
    const a = context.activity;
    const { rootId } = splitThread(a.conversation.id);
    const root = rootId ?? a.replyToId ?? null;
    if (!root) return;
    const ticket = await this.ctx.service.findTicketByChannelRef('teams', 'activityId', root);
    if (!ticket) return;
    const tech = await this.identity.technician(context).catch(() => null);
    if (!tech) return;
    const text = messageText(a, a.recipient?.id);
    if (!text) return;
    const mentions: PersonRef[] = [];
    for (const e of a.entities ?? []) {
      const id = (e as { mentioned?: { id?: string } }).mentioned?.id;
      if (e.type !== 'mention' || !id || id === a.recipient?.id) continue;
      const p = await this.ctx.service.people.findByIdentity('teams', 'userId', id);
      if (p) mentions.push({ personId: String(p._id) });
    }
    await this.ctx.service.addEntry(ticket.number, {
      kind: 'note', text, author: { personId: String(tech._id) }, source: 'teams', mentions, external: { teamsActivityId: a.id },
      ...(a.id ? { messageId: threadMessageId(a.conversation.id, a.id) } : {}),
    });
    await this.ctx.service.markWorking(ticket.number, String(tech._id), 'teams');
  }

  /**
   * A technician edits or deletes their message in a card's thread (Teams sends messageUpdate with
   * channelData.eventType "editMessage" and messageDelete with "softDeleteMessage", the id being the
   * message's own). What it does is the service's rule (tickets/entry-edits.ts): a note follows.
   */
  private async onMessageEdit(context: TurnContext): Promise<void> {
    const a = context.activity;
    const eventType = (a.channelData as { eventType?: string } | undefined)?.eventType;
    const kind = a.type === 'messageUpdate' && eventType === 'editMessage' ? 'edited'
      : a.type === 'messageDelete' && eventType === 'softDeleteMessage' ? 'deleted' : null;
    if (!kind || !a.id || a.conversation?.conversationType !== 'channel') return;
    const text = kind === 'edited' ? messageText(a, a.recipient?.id) : '';
    if (kind === 'edited' && !text) return;
    // Teams retries unanswered activities; each edit (by its text) and the delete count once.
    const seen = `${a.conversation.id}|${a.type}|${a.id}|${kind === 'edited' ? createHash('sha256').update(text).digest('base64url') : ''}`;
    if (!(await firstSighting(this.models, seen))) return;
    const tech = await this.identity.technician(context).catch(() => null);
    if (!tech) return;
    await this.ctx.service.applyChatEdit({
      messageId: threadMessageId(a.conversation.id, a.id), by: { personId: String(tech._id) }, source: 'teams',
      edit: kind === 'edited' ? { kind, text } : { kind },
    });
  }

  // ------------------------------------------------------------------ invokes

  private async invokeResponse(context: TurnContext, body: unknown, status = 200): Promise<void> {
    await context.sendActivity({ type: 'invokeResponse', value: { status, body } });
  }

  private async answerDuplicate(context: TurnContext): Promise<void> {
    const a = context.activity;
    if (a.type !== 'invoke') return;
    if (a.name === 'adaptiveCard/action') {
      const n = Number((a.value as { action?: { data?: Data } })?.action?.data?.ticket);
      if (Number.isInteger(n) && n > 0) {
        const { person } = await this.identity.lookup(context, a.from);
        const card = await this.cards.render(n, { viewerId: person ? String(person._id) : undefined });
        return this.invokeResponse(context, { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: card });
      }
    }
    return this.invokeResponse(context, {});
  }

  private async onInvoke(context: TurnContext): Promise<void> {
    const a = context.activity;
    try {
      switch (a.name) {
        case 'adaptiveCard/action':
          return await this.onCardAction(context);
        case 'task/fetch':
          return await this.invokeResponse(context, await this.onTaskFetch(context, ((a.value as { data?: Data })?.data ?? {}) as Data));
        case 'task/submit':
          return await this.invokeResponse(context, await this.onTaskSubmit(context, ((a.value as { data?: Data })?.data ?? {}) as Data));
        case 'composeExtension/submitAction':
          return await this.invokeResponse(context, await this.onMessageAction(context));
        case 'composeExtension/query':
          return await this.invokeResponse(context, await this.onSearch(context));
        default:
          return await this.invokeResponse(context, {}, 200);
      }
    } catch (err) {
      const e = err instanceof DeskbridgeError ? err : null;
      if (!e) this.ctx.logger.error({ err, name: a.name }, 'teams invoke failed');
      const code = e?.code ?? 'INTERNAL';
      const message = e?.message ?? 'Something went wrong; please try again.';
      if (a.name === 'adaptiveCard/action') {
        return this.invokeResponse(context, { statusCode: httpStatusFor[code], type: 'application/vnd.microsoft.error', value: { code, message } });
      }
      return this.invokeResponse(context, { task: { type: 'message', value: `${code}: ${message}` } });
    }
  }

  // ---- Universal Actions on the ticket card

  private async onCardAction(context: TurnContext): Promise<void> {
    const value = context.activity.value as { action?: { verb?: string; data?: Data } };
    const verb = value?.action?.verb ?? '';
    const data = value?.action?.data ?? {};
    const n = numberFrom(data.ticket, 'ticket');
    const { service } = this.ctx;
    let notice: string | null = null;

    if (verb === 'refresh') {
      // Someone is looking at the card: a technician is working on it for a few minutes.
      const { person } = await this.identity.lookup(context, context.activity.from);
      const isTech = person && (person.roles ?? []).includes('technician');
      if (isTech) await service.markWorking(n, String(person._id), 'teams');
      const card = await this.cards.render(n, { viewerId: isTech ? String(person._id) : undefined });
      return this.invokeResponse(context, { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: card });
    }

    const tech = await this.identity.technician(context);
    const me: PersonRef = { personId: String(tech._id) };
    await service.markWorking(n, String(tech._id), 'teams');
    switch (verb) {
      case 'fields.save': {
        const t = await service.getTicket(n);
        const patch: TicketPatch = {};
        const str = (k: string) => (typeof data[k] === 'string' ? (data[k] as string).trim() : undefined);
        if (str('status') && str('status') !== t.status) patch.status = str('status');
        if (str('priority') && str('priority') !== t.priority) patch.priority = str('priority') as Priority;
        if (str('type') && str('type') !== t.type) patch.type = str('type') as TicketType;
        if (str('impact') !== undefined && (str('impact') || null) !== t.impact) patch.impact = (str('impact') || null) as Impact | null;
        if (str('productFamily') !== undefined && (str('productFamily') || null) !== t.productFamily) patch.productFamily = str('productFamily') || null;
        if (str('title') && str('title') !== t.title) patch.title = str('title');
        if (Object.keys(patch).length > 0) await service.updateTicket(n, patch, me);
        break;
      }
      case 'status.set':
        await service.updateTicket(n, { status: String(data.status ?? '') }, me);
        break;
      case 'assign': {
        const id = typeof data.assignee === 'string' ? data.assignee.trim() : '';
        await service.updateTicket(n, { assignee: id ? { personId: id } : null }, me);
        break;
      }
      case 'assign.me':
        await service.updateTicket(n, { assignee: me }, me);
        break;
      case 'timer.toggle': {
        const t = await service.getTicket(n);
        const running = t.runningTimers.some((r) => r.technicianId === String(tech._id));
        await service.trackTime(n, running ? { stop: true } : { start: true }, me);
        break;
      }
      case 'time.log':
        await service.trackTime(n, { minutes: Number(data.minutes) }, me);
        break;
      case 'merge':
        await service.merge(n, numberFrom(data.into, 'into'), me);
        break;
      case 'chat.start':
        notice = await this.startChat(n, me);
        break;
      default:
        throw invalid('verb', `unknown action "${verb}"`);
    }
    const card = await this.cards.render(n, { viewerId: String(tech._id), notice });
    return this.invokeResponse(context, { statusCode: 200, type: 'application/vnd.microsoft.card.adaptive', value: card });
  }

  /** Starts a Teams chat with the requester when the app is installed for them; else says so. */
  private async startChat(n: number, me: PersonRef): Promise<string> {
    const t = await this.ctx.service.getTicket(n);
    if (!t.requester) throw invalid('requester', 'the ticket has no requester');
    const conv = await this.models.Conversation.findOne({ kind: 'personal', personId: t.requester.id }).lean();
    if (!conv) {
      return `${t.requester.name} doesn't have the deskbridge app in Teams, so a chat can't be started there. Use Reply to answer by email (${t.requester.email}).`;
    }
    await this.ctx.service.startChat(n, me, 'teams');
    return `Chat started: ${t.requester.name} will get your public replies in Teams.`;
  }

  // ---- dialogs

  private dialog(title: string, card: AdaptiveCard, size: 'medium' | 'large' = 'large') {
    return { task: { type: 'continue', value: { title, height: size, width: size, card: cardAttachment(card) } } };
  }

  private async composeDialog(n: number, kind: 'reply' | 'note', fill: { text?: string; cc?: string; notify?: string; error?: string | null } = {}) {
    const { service } = this.ctx;
    const t = await service.getTicket(n);
    const settings = await service.settings.get();
    const card = composeCard({
      ticket: n, heading: `${kind === 'note' ? 'Internal note on' : 'Reply to'} #${n} ${t.title}`, kind,
      currentStatus: t.status, statuses: allStatuses(settings.customStatuses).map((s) => s.name),
      templates: (await service.settings.listTemplates()).map((x) => ({ id: x.id, name: x.name })),
      technicians: await this.cards.technicians(), ai: this.ctx.ai.isConfigured(), ...fill,
    });
    return this.dialog(`#${n}`, card);
  }

  private async onTaskFetch(context: TurnContext, data: Data): Promise<unknown> {
    const tech = await this.identity.technician(context);
    const verb = String(data.verb ?? '');
    if (verb === 'entry.full') {
      const entry = await this.ctx.service.getEntry(String(data.entryId ?? ''));
      if (!entry) throw new DeskbridgeError('NOT_FOUND', 'comment not found');
      return this.dialog(`Comment on #${entry.ticketNumber}`, linesCard(`${entry.author.name} · ${entry.kind === 'note' ? '🔒 internal note' : entry.kind}`, chunkText(entry.text)));
    }
    if (verb === 'entry.message') {
      const m = await emailBridgeOf(this.ctx).fullMessage(String(data.entryId ?? ''));
      return this.dialog(`Message on #${m.ticketNumber}`, linesCard(`${m.from ?? '—'} · ${m.subject || '—'}`, chunkText(m.text)));
    }
    const n = numberFrom(data.ticket, 'ticket');
    await this.ctx.service.markWorking(n, String(tech._id), 'teams');
    if (verb === 'compose') {
      const settings = await this.ctx.service.settings.get();
      const kind = data.kind === 'note' || data.kind === 'reply' ? data.kind : settings.defaultReplyType;
      return this.composeDialog(n, kind);
    }
    if (verb === 'activity') {
      const items = await this.ctx.service.getActivity(n);
      const lines = items.map((x) => {
        const what = x.field ? `${x.field}: ${String(x.from ?? '—')} → ${String(x.to ?? '—')}` : x.action.replace(/_/g, ' ');
        return `${x.at.toISOString().slice(0, 16).replace('T', ' ')} · ${x.actor.name || 'deskbridge'} · ${what}`;
      });
      return this.dialog(`Activity of #${n}`, linesCard(`Activity of #${n}`, lines.reverse()));
    }
    throw invalid('verb', `unknown dialog "${verb}"`);
  }

  private async onTaskSubmit(context: TurnContext, data: Data): Promise<unknown> {
    const tech = await this.identity.technician(context);
    const me: PersonRef = { personId: String(tech._id) };
    const n = numberFrom(data.ticket, 'ticket');
    const kind = data.kind === 'note' ? 'note' : 'reply';
    const text = typeof data.text === 'string' ? data.text : '';
    const cc = typeof data.cc === 'string' ? data.cc : '';
    const notify = typeof data.notify === 'string' ? data.notify : '';
    const { service } = this.ctx;
    await service.markWorking(n, String(tech._id), 'teams');
    switch (String(data.verb ?? '')) {
      case 'compose.template': {
        if (typeof data.template !== 'string' || !data.template) return this.composeDialog(n, kind, { text, cc, notify, error: 'Pick a template first.' });
        const body = await service.renderTemplate(data.template, n, me);
        return this.composeDialog(n, kind, { text: text ? `${text}\n\n${body}` : body, cc, notify });
      }
      case 'compose.ai': {
        if (!this.ctx.ai.isConfigured()) throw new DeskbridgeError('UNAVAILABLE', 'AI drafts are not configured');
        const action = (['generate', 'rephrase', 'casual', 'formal'].includes(String(data.aiAction)) ? data.aiAction : 'generate') as ComposeAction;
        const draft = await this.ctx.ai.compose({ ticketNumber: n, action, draft: text || undefined, technician: me });
        return this.composeDialog(n, kind, { text: draft.text, cc, notify });
      }
      case 'compose.send': {
        try {
          await service.addEntry(n, {
            kind, text, author: me, source: 'teams',
            status: typeof data.status === 'string' && data.status ? data.status : undefined,
            cc: cc.split(/[,;\s]+/).map((s) => s.trim()).filter(Boolean),
            mentions: notify.split(',').map((s) => s.trim()).filter(Boolean).map((personId) => ({ personId })),
          });
        } catch (err) {
          // Keep what they typed: show the form again with the reason.
          if (err instanceof DeskbridgeError) return this.composeDialog(n, kind, { text, cc, notify, error: err.message });
          throw err;
        }
        return { task: { type: 'message', value: kind === 'note' ? `Note added to #${n}.` : `Reply sent on #${n}.` } };
      }
      default:
        throw invalid('verb', `unknown form "${String(data.verb)}"`);
    }
  }

  // ---- search message extension (searchTickets)

  /**
   * "Search tickets" in the compose box: technicians search every ticket (title and whole
   * conversation); anyone else only their own tickets, matched on public entries only
   * (service.searchTickets with `participant`). The preview shows the latest public message only.
   */
  private async onSearch(context: TurnContext): Promise<unknown> {
    const value = context.activity.value as { commandId?: string; parameters?: { name?: string; value?: unknown }[]; queryOptions?: { count?: number } };
    if (value?.commandId !== 'searchTickets') throw invalid('commandId', `unknown command "${value?.commandId}"`);
    const words = String(value.parameters?.find((p) => p.name === 'q')?.value ?? '').trim().slice(0, 200);
    const result = (attachments: unknown[]) => ({ composeExtension: { type: 'result', attachmentLayout: 'list', attachments } });
    if (!words || value.parameters?.some((p) => p.name === 'initialRun')) return result([]);
    const { person } = await this.identity.lookup(context, context.activity.from);
    if (!person) return result([]);
    const technician = (person.roles ?? []).includes('technician');
    const found = await this.ctx.service.searchTickets(words, { limit: Math.min(Math.max(value.queryOptions?.count ?? 10, 1), 25), ...(technician ? {} : { participant: String(person._id) }) });
    return result(found.items.map((t) => {
      const card = { title: `#${t.number} ${t.title}`, subtitle: `${t.status} · ${t.priority}`, text: t.last?.excerpt ?? '' };
      return { contentType: 'application/vnd.microsoft.card.thumbnail', content: card, preview: { contentType: 'application/vnd.microsoft.card.thumbnail', content: { title: card.title, text: card.subtitle } } };
    }));
  }

  // ---- message action: create a ticket from a Teams message

  private async onMessageAction(context: TurnContext): Promise<unknown> {
    const value = context.activity.value as {
      commandId?: string; data?: { title?: string };
      messagePayload?: { id?: string; body?: { content?: string; contentType?: string }; from?: { user?: { id?: string; displayName?: string; aadObjectId?: string } } };
    };
    if (value?.commandId !== 'createTicket') throw invalid('commandId', `unknown command "${value?.commandId}"`);
    const tech = await this.identity.technician(context);
    const msg = value.messagePayload;
    const content = msg?.body?.content ?? '';
    const text = messageText({ text: content, textFormat: msg?.body?.contentType === 'html' ? 'xml' : 'plain' });
    if (!text) throw invalid('message', 'the message has no text');
    const author = msg?.from?.user;
    let requester: PersonDoc | null = null;
    if (author?.id) {
      const { person, user } = await this.identity.lookup(context, { id: author.id, name: author.displayName ?? '', aadObjectId: author.aadObjectId });
      requester = person;
      if (!requester && user.email) {
        requester = await this.ctx.service.people.ensureContact(user.email, user.name || undefined);
        await this.identity.link(String(requester._id), user);
      }
    }
    requester ??= tech; // a message from a bot or an unknown sender: the technician asks for themselves
    const title = value.data?.title?.trim() || firstLine(text);
    const ticket = await this.ctx.service.createTicket({
      title, description: text, requester: { email: requester.primaryEmail, name: requester.name || undefined },
      source: 'teams', createdBy: { personId: String(tech._id) }, external: { teamsMessageId: msg?.id ?? null },
    });
    // The author has the app: public replies reach them in Teams too (notes never do).
    if (String(requester._id) !== String(tech._id)) {
      const conv = await this.models.Conversation.findOne({ kind: 'personal', personId: String(requester._id) }).lean();
      if (conv) await this.bindChat(ticket.number, conv._id, false);
    }
    return { task: { type: 'message', value: `Created ticket #${ticket.number}: ${ticket.title}` } };
  }
}
