import type { KnownBlock } from '@slack/types';
import { ignoreSelf, type AllMiddlewareArgs, type BlockAction, type ViewSubmitAction } from '@slack/bolt';
import { DeskbridgeError } from '../domain/errors.js';
import { excerpt } from '../domain/ticket-rules.js';
import { parseMentions } from '../domain/mentions.js';
import { TECH_COMMANDS_HELP, parseTechCommand } from '../domain/tech-commands.js';
import { isDuplicateKey } from '../store/models.js';
import { emailBridgeOf } from '../email/module.js';
import { ACTIONS, fullMessageModal, ticketList, heldNotice } from './blocks/card.js';
import { CALLBACKS, KEEP_STATUS, activityModal, createTicketModal, fieldsModal, logTimeModal, mergeModal, replyModal } from './blocks/modals.js';
import { homeView } from './blocks/home.js';
import type { SlackDeps } from './index.js';
import type { SlackPerson } from './identity.js';
import type { CardRef, DmRef } from './notifier.js';
import type { Impact, Priority, TicketType } from '../domain/ticket-rules.js';

type Values = Record<string, Record<string, any>>;
const HELP = [
  '*/ticket* commands:',
  '• `/ticket new` — open a new ticket',
  '• `/ticket 42` — show ticket #42\'s card (only to you)',
  '• `/ticket mine` — tickets assigned to you',
  '• `/ticket unassigned` — tickets nobody has',
  '• `/ticket search printer` — find tickets by words in the title or conversation, best first',
  '• `/ticket help` — this help',
].join('\n');

const messageOf = (err: unknown) => (err instanceof DeskbridgeError ? err.message : 'Something went wrong; it was logged.');
const numberFrom = (value: string | undefined) => Number.parseInt(String(value ?? '').split('|')[0]!, 10);

export function registerListeners(d: SlackDeps): void {
  const { bolt, ctx, client, identity, cards, held, models } = d;
  const service = ctx.service;

  // Every event is recorded before processing: Slack's retries (same event_id) are processed once,
  // across restarts, and a failure after the ack is retried from the record (event-log.ts).
  bolt.use(d.events.middleware);
  bolt.use(ignoreSelf);

  /**
   * Real Slack mentions (<@U…>): every mentioned user is looked up first so the core can resolve
   * the technicians among them; a public reply shows them as @Name, since it leaves Slack.
   */
  const withMentions = async (text: string, kind: 'reply' | 'note' | 'chat'): Promise<string> => {
    const ids = parseMentions(text).slackUserIds;
    const names = new Map<string, string>();
    for (const id of ids) {
      const p = await identity.resolve(id).catch(() => null);
      if (p) names.set(id, p.name);
    }
    if (kind === 'note') return text;
    return text.replace(/<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>/g, (_m, id: string) => `@${names.get(id) ?? 'someone'}`);
  };

  const technician = async (userId: string): Promise<SlackPerson> => {
    const p = await identity.resolve(userId);
    if (!p?.technician) throw new DeskbridgeError('FORBIDDEN', 'Only technicians can work tickets from Slack.');
    return p;
  };

  const tell = async (userId: string, channel: string | undefined, text: string) => {
    if (channel) await client.chat.postEphemeral({ channel, user: userId, text });
    else {
      const open = await client.conversations.open({ users: userId });
      await client.chat.postMessage({ channel: open.channel!.id!, text });
    }
  };

  /** Marks the technician as working on the ticket and refreshes the card's presence row. */
  const touch = async (n: number, p: SlackPerson) => {
    // The change's own event refreshes the card; this one only when the technician is newly shown.
    if (await service.markWorking(n, p.personId, 'slack')) await cards.syncCard(n).catch((err) => ctx.logger.warn({ err: String(err) }, 'card refresh failed'));
  };

  /**
   * Runs a card action after the ack; failures become an ephemeral for the user. `fn` answers true
   * when it changed the ticket: that change's event refreshes the card (as every change's does),
   * so the action refreshes it itself only when it made the technician newly shown on it and
   * changed nothing else: one card render per press, none when the card already shows it all.
   */
  const cardAction = (fn: (n: number, p: SlackPerson, value: string, args: AllMiddlewareArgs & { body: BlockAction }) => Promise<boolean | void>) =>
    async (args: any) => {
      await args.ack();
      const body = args.body as BlockAction;
      const action = body.actions[0] as { value?: string; selected_option?: { value: string }; action_id: string };
      const value = action.selected_option?.value ?? action.value ?? '';
      const channel = body.channel?.id ?? body.container?.channel_id;
      try {
        const p = await technician(body.user.id);
        const n = numberFrom(value);
        const ticket = Number.isInteger(n) && n > 0;
        // Before the change, so the change's own card refresh shows the technician too.
        const shown = ticket ? await service.markWorking(n, p.personId, 'slack') : false;
        const changed = await fn(n, p, value.includes('|') ? value.slice(value.indexOf('|') + 1) : value, args);
        if (ticket && shown && changed !== true) await cards.syncCard(n).catch(() => undefined);
      } catch (err) {
        if (!(err instanceof DeskbridgeError)) ctx.logger.error({ err }, 'slack action failed');
        // Through the action's response_url when it has one: it reaches the user also on a card
        // shown by /ticket in a channel the bot is not in.
        const answer = args.respond
          ? args.respond({ response_type: 'ephemeral', replace_original: false, text: messageOf(err) })
          : tell(body.user.id, channel, messageOf(err));
        await answer.catch((e: unknown) => ctx.logger.warn({ err: String(e) }, 'slack action answer failed'));
      }
    };

  /** Reply starts at the admin's default reply type; Internal note always starts as a note. */
  const openReplyModal = (button: 'reply' | 'note') => cardAction(async (n, p, _v, { body }) => {
    const mode = button === 'note' ? 'note' : (await service.settings.get()).defaultReplyType;
    const t = await service.getTicket(n);
    const { model } = await cards.render(t, p.personId);
    const templates = await service.settings.listTemplates();
    await client.views.open({ trigger_id: body.trigger_id, view: replyModal({ model, mode, templates, aiConfigured: ctx.ai.isConfigured() }) });
  });
  bolt.action(ACTIONS.reply, openReplyModal('reply'));
  bolt.action(ACTIONS.note, openReplyModal('note'));
  // The buttons need no answer: the change is written and the ticket is not read back.
  bolt.action(ACTIONS.status, cardAction((n, p, v) => service.changeFields(n, { status: v }, { personId: p.personId })));
  bolt.action(ACTIONS.priority, cardAction((n, p, v) => service.changeFields(n, { priority: v as Priority }, { personId: p.personId })));
  bolt.action(ACTIONS.assign, cardAction((n, p, v) => service.changeFields(n, { assignee: v ? { personId: v } : null }, { personId: p.personId })));
  bolt.action(ACTIONS.assignMe, cardAction((n, p) => service.changeFields(n, { assignee: { personId: p.personId } }, { personId: p.personId })));
  bolt.action(ACTIONS.more, cardAction(async (n, p, v, { body }) => {
    if (v === 'fields') {
      const { model } = await cards.render(await service.getTicket(n), p.personId);
      await client.views.open({ trigger_id: body.trigger_id, view: fieldsModal(model) });
    } else if (v === 'chat') await service.startChat(n, { personId: p.personId }, 'slack');
    else if (v === 'merge') await client.views.open({ trigger_id: body.trigger_id, view: mergeModal(n) });
  }));
  bolt.action(ACTIONS.time, cardAction(async (n, p, v, { body }) => {
    if (v === 'start') await service.trackTime(n, { start: true }, { personId: p.personId });
    else if (v === 'stop') await service.trackTime(n, { stop: true }, { personId: p.personId });
    else if (v === 'log') await client.views.open({ trigger_id: body.trigger_id, view: logTimeModal(n) });
    else if (v === 'activity') await client.views.open({ trigger_id: body.trigger_id, view: activityModal(n, await service.getActivity(n)) });
  }));
  bolt.action(ACTIONS.fullMessage, cardAction(async (_n, _p, entryId, { body }) => {
    const m = await emailBridgeOf(ctx).fullMessage(entryId);
    await client.views.open({ trigger_id: body.trigger_id, view: fullMessageModal(m) as never });
  }));
  bolt.action(new RegExp(`^${ACTIONS.openCard}:`), cardAction(async (n, p, _v, { body }) => {
    const { text, blocks } = await cards.render(await service.getTicket(n), p.personId);
    const channel = body.channel?.id;
    if (channel) await client.chat.postEphemeral({ channel, user: body.user.id, text, blocks });
    else await client.views.open({ trigger_id: body.trigger_id, view: { type: 'modal', title: { type: 'plain_text', text: `Ticket #${n}`.slice(0, 24) }, close: { type: 'plain_text', text: 'Close' }, blocks } });
  }));

  // Quick-reply templates and AI drafts fill the modal's message box (views.update).
  bolt.action('reply_template', async ({ ack, body }) => {
    await ack();
    const b = body as BlockAction;
    const view = b.view!;
    const n = JSON.parse(view.private_metadata).n as number;
    const p = await technician(b.user.id);
    const templateId = (b.actions[0] as { selected_option: { value: string } }).selected_option.value;
    const text = await service.renderTemplate(templateId, n, { personId: p.personId });
    await refillReplyModal(n, p, view, text);
  });
  bolt.action(/^compose_/, async ({ ack, body }) => {
    await ack();
    const b = body as BlockAction;
    const view = b.view!;
    const n = JSON.parse(view.private_metadata).n as number;
    const p = await technician(b.user.id);
    const draft = (view.state.values as Values).message?.text?.value ?? undefined;
    const action = (b.actions[0] as { value: string }).value as 'generate' | 'rephrase' | 'casual' | 'formal';
    const { text } = await ctx.ai.compose({ ticketNumber: n, action, draft, technician: { personId: p.personId } });
    await refillReplyModal(n, p, view, text);
  });
  const refillReplyModal = async (n: number, p: SlackPerson, view: { id: string; hash?: string; state: { values: unknown } }, text: string) => {
    const { model } = await cards.render(await service.getTicket(n), p.personId);
    const kind = (view.state.values as Values).visibility?.kind?.selected_option?.value === 'note' ? 'note' : 'reply';
    const templates = await service.settings.listTemplates();
    await client.views.update({ view_id: view.id, hash: view.hash, view: replyModal({ model, mode: kind, templates, aiConfigured: ctx.ai.isConfigured(), initialText: text.slice(0, 3000) }) });
  };

  // CC: people searched as you type.
  bolt.options({ action_id: 'people' } as never, async ({ ack, options }) => {
    const q = String((options as { value?: string }).value ?? '');
    const people = await service.people.list({ q, limit: 20 });
    await ack({ options: people.map((p) => ({ text: { type: 'plain_text', text: `${p.name || p.email} <${p.email}>`.slice(0, 75) }, value: p.email.slice(0, 150) })) });
  });

  // ------------------------------------------------------------ modal submissions
  const submission = (fn: (meta: any, v: Values, p: SlackPerson, body: ViewSubmitAction) => Promise<void>, errorBlock: string) =>
    async ({ ack, body, view }: any) => {
      const v = view.state.values as Values;
      let p: SlackPerson;
      try {
        p = await technician(body.user.id);
        // The service call is quick; it runs before the ack so a rejected input shows in the modal.
        await fn(JSON.parse(view.private_metadata || '{}'), v, p, body);
      } catch (err) {
        if (!(err instanceof DeskbridgeError)) ctx.logger.error({ err }, 'slack submission failed');
        await ack({ response_action: 'errors', errors: { [errorBlock]: messageOf(err).slice(0, 150) } });
        return;
      }
      await ack();
    };

  bolt.view(CALLBACKS.reply, submission(async (meta, v, p) => {
    const n = meta.n as number;
    const kind = v.visibility?.kind?.selected_option?.value === 'note' ? 'note' : 'reply';
    const raw = String(v.message?.text?.value ?? '').trim();
    if (!raw) throw new DeskbridgeError('VALIDATION_FAILED', 'Write a message first.');
    const text = await withMentions(raw, kind);
    const status = v.status?.status?.selected_option?.value;
    const cc = (v.cc?.people?.selected_options ?? []).map((o: { value: string }) => o.value);
    const notifyUsers: string[] = v.notify?.users?.selected_users ?? [];
    const mentions = [];
    for (const u of notifyUsers) {
      const m = await identity.resolve(u);
      if (m?.technician) mentions.push({ personId: m.personId });
    }
    await service.addEntry(n, {
      kind, text, author: { personId: p.personId }, source: 'slack',
      ...(status && status !== KEEP_STATUS ? { status } : {}),
      ...(kind === 'reply' && cc.length ? { cc } : {}),
      ...(kind === 'note' && mentions.length ? { mentions } : {}),
    });
    await service.markWorking(n, p.personId, 'slack');
  }, 'message'));

  bolt.view(CALLBACKS.fields, submission(async (meta, v, p) => {
    await service.updateTicket(meta.n, {
      title: String(v.title?.v?.value ?? '').trim(),
      type: v.type?.v?.selected_option?.value as TicketType,
      impact: (v.impact?.v?.selected_option?.value ?? null) as Impact | null,
      productFamily: (v.productFamily?.v?.value ?? '').trim() || null,
    }, { personId: p.personId });
  }, 'title'));

  bolt.view(CALLBACKS.merge, submission(async (meta, v, p) => {
    const into = Number.parseInt(String(v.into?.v?.value ?? ''), 10);
    if (!Number.isInteger(into)) throw new DeskbridgeError('VALIDATION_FAILED', 'A ticket number, please.');
    await service.merge(meta.n, into, { personId: p.personId });
  }, 'into'));

  bolt.view(CALLBACKS.logTime, submission(async (meta, v, p) => {
    const minutes = Number(v.minutes?.v?.value);
    await service.trackTime(meta.n, { minutes, note: v.note?.v?.value ?? undefined }, { personId: p.personId });
  }, 'minutes'));

  bolt.view(CALLBACKS.create, submission(async (_meta, v, p) => {
    const t = await service.createTicket({
      title: String(v.title?.v?.value ?? ''), description: String(v.description?.v?.value ?? ''),
      requester: { email: String(v.requester?.v?.value ?? '') }, source: 'slack', createdBy: { personId: p.personId },
    });
    await service.markWorking(t.number, p.personId, 'slack');
  }, 'title'));

  // ------------------------------------------------------------ undo window
  const heldButton = (fn: (id: string) => Promise<unknown>, done: string, late: string) => async ({ ack, body }: any) => {
    await ack();
    const b = body as BlockAction;
    const id = (b.actions[0] as { value: string }).value;
    const ok = await fn(id);
    await tell(b.user.id, b.channel?.id ?? b.container?.channel_id, ok ? done : late).catch(() => undefined);
  };
  bolt.action(ACTIONS.undo, heldButton((id) => held.undo(id), 'Not sent. Your message stays in the thread only.', 'Too late: it was already sent.'));
  bolt.action(ACTIONS.makeNote, heldButton((id) => held.makeNote(id), 'Recorded as an internal note; the requester does not see it.', 'Too late: it was already sent.'));

  // ------------------------------------------------------------ /ticket
  // Answered through the command's response_url (Bolt's respond), never chat.postEphemeral: the
  // response_url works wherever the command was typed, also in private channels and DMs the bot
  // is not a member of, where postEphemeral answers channel_not_found.
  bolt.command('/ticket', async ({ ack, command, respond }) => {
    await ack();
    const [sub = 'help', ...rest] = command.text.trim().split(/\s+/);
    const reply = (text: string, blocks?: KnownBlock[]) => respond({ response_type: 'ephemeral', replace_original: false, text, ...(blocks ? { blocks } : {}) });
    try {
      const p = await technician(command.user_id);
      if (/^#?\d+$/.test(sub)) {
        const n = Number.parseInt(sub.replace('#', ''), 10);
        const { text, blocks } = await cards.render(await service.getTicket(n), p.personId);
        await reply(text, blocks);
      } else if (sub === 'new') {
        await client.views.open({ trigger_id: command.trigger_id, view: createTicketModal() });
      } else if (sub === 'mine' || sub === 'unassigned') {
        const list = await service.listTickets({ assignee: sub === 'mine' ? p.personId : 'none', limit: 20 });
        const open = list.items.filter((t) => t.statusCategory !== 'Closed');
        await reply(`${sub === 'mine' ? 'Your' : 'Unassigned'} tickets: ${open.length}`, ticketList(sub === 'mine' ? 'Your tickets' : 'Unassigned tickets', open));
      } else if (sub === 'search' && rest.length > 0) {
        // Title and conversation of every ticket, best match first (tickets/search.ts).
        const words = rest.join(' ');
        const hits = (await service.searchTickets(words, { limit: 20 })).items;
        await reply(`${hits.length} tickets match "${words}"`, ticketList(`Tickets matching "${words}"`, hits));
      } else {
        await reply(HELP);
      }
    } catch (err) {
      if (!(err instanceof DeskbridgeError)) ctx.logger.error({ err }, 'slack /ticket failed');
      await reply(messageOf(err)).catch((e) => ctx.logger.warn({ err: String(e) }, 'slack /ticket answer failed'));
    }
  });

  // ------------------------------------------------------------ message shortcut
  bolt.shortcut('create_ticket_from_message', async ({ ack, body }) => {
    await ack();
    const b = body as { user: { id: string }; trigger_id: string; message: { text?: string; user?: string }; channel?: { id: string } };
    try {
      await technician(b.user.id);
      const author = b.message.user ? await identity.resolve(b.message.user) : null;
      const text = b.message.text ?? '';
      await client.views.open({ trigger_id: b.trigger_id, view: createTicketModal({ title: excerpt(text, 80), description: text, requesterEmail: author?.email }) });
    } catch (err) {
      await tell(b.user.id, b.channel?.id, messageOf(err)).catch(() => undefined);
    }
  });

  // ------------------------------------------------------------ messages: thread fast path and DMs
  bolt.event('message', async ({ event }) => {
    const e = event as { subtype?: string; bot_id?: string; user?: string; text?: string; ts: string; thread_ts?: string; channel: string; channel_type?: string };
    if (e.subtype === 'message_changed' || e.subtype === 'message_deleted') return editedMessage(event as unknown as EditEvent);
    if (e.subtype || e.bot_id || !e.user) return; // joins, bots (our own mirror posts included)
    if (e.channel_type === 'im') return directMessage(e as Required<Pick<typeof e, 'user' | 'ts' | 'channel'>> & { text?: string });
    if (!e.thread_ts || e.thread_ts === e.ts) return;
    const t = await service.findTicketByChannelRef('slack', 'ts', e.thread_ts);
    if (!t || (t.channelRefs.slack as CardRef).channel !== e.channel) return;
    const p = await identity.resolve(e.user);
    if (!p?.technician) return;
    const raw = (e.text ?? '').trim();
    if (!raw) return;
    await service.markWorking(t.number, p.personId, 'slack');
    const settings = await service.settings.get();
    const text = await withMentions(raw, settings.defaultReplyType);
    const id = `${e.channel}:${e.ts}`;
    if (settings.defaultReplyType === 'note') {
      await service.addEntry(t.number, { kind: 'note', text, author: { personId: p.personId }, source: 'slack', messageId: `slack:${id}`, external: { slackTs: e.ts } });
      return;
    }
    const seconds = ctx.config.SLACK_UNDO_SECONDS;
    await held.hold({ _id: id, ticketNumber: t.number, channel: e.channel, threadTs: e.thread_ts, userId: e.user, personId: p.personId, text }, seconds * 1000);
    if (seconds > 0) {
      const notice = heldNotice(id, seconds, t.requester?.email ?? 'the requester');
      await client.chat.postEphemeral({ channel: e.channel, user: e.user, thread_ts: e.thread_ts, ...notice });
    }
    await cards.syncCard(t.number).catch(() => undefined);
  });

  /**
   * An edit or delete of a message in a card's thread (Events API message_changed /
   * message_deleted). What it does is the service's rule (tickets/entry-edits.ts); here only who,
   * which message, and what to tell the author.
   */
  type EditEvent = {
    subtype: 'message_changed' | 'message_deleted'; channel: string; deleted_ts?: string;
    message?: { user?: string; text?: string; ts: string; thread_ts?: string; bot_id?: string };
    previous_message?: { user?: string; text?: string; ts: string; thread_ts?: string; bot_id?: string };
  };
  const editedMessage = async (e: EditEvent) => {
    const msg = e.subtype === 'message_changed' ? e.message : e.previous_message;
    const ts = e.subtype === 'message_deleted' ? (e.deleted_ts ?? e.previous_message?.ts) : e.message?.ts;
    if (!msg || !ts || msg.bot_id || !msg.user || !msg.thread_ts || msg.thread_ts === ts) return;
    const t = await service.findTicketByChannelRef('slack', 'ts', msg.thread_ts);
    if (!t || (t.channelRefs.slack as CardRef).channel !== e.channel) return;
    const p = await identity.resolve(msg.user);
    if (!p?.technician) return;
    const id = `${e.channel}:${ts}`;
    const raw = (e.message?.text ?? '').trim();
    const { outcome } = await service.applyChatEdit({
      messageId: `slack:${id}`, by: { personId: p.personId }, source: 'slack',
      edit: e.subtype === 'message_changed' ? { kind: 'edited', text: await withMentions(raw, 'note') } : { kind: 'deleted' },
      held: { change: async (text) => held.change(id, await withMentions(text, 'reply')), cancel: async () => Boolean(await held.undo(id)) },
    });
    const notice: Partial<Record<typeof outcome, string>> = {
      held_changed: 'Edited before sending: the new text is what will be sent.',
      held_cancelled: 'Deleted before sending: nothing was sent.',
      sent_unchanged: `That reply had already been sent: the email to ${t.requester?.email ?? 'the requester'} went out unchanged. Your ${e.subtype === 'message_changed' ? 'edit' : 'deletion'} is recorded in the activity log; send a new reply to correct it.`,
    };
    const text = notice[outcome];
    if (text) await client.chat.postEphemeral({ channel: e.channel, user: msg.user, thread_ts: msg.thread_ts, text }).catch(() => undefined);
    await cards.syncCard(t.number).catch(() => undefined);
  };

  /** A technician's DM to the bot: commands (domain/tech-commands.ts), answered in the DM. */
  const technicianCommand = async (p: SlackPerson, channel: string, text: string) => {
    const say = (msg: string, blocks?: KnownBlock[]) => client.chat.postMessage({ channel, text: msg, ...(blocks ? { blocks } : {}), unfurl_links: false });
    const cmd = parseTechCommand(text);
    try {
      if (cmd.kind === 'mine' || cmd.kind === 'unassigned') {
        const list = await service.listTickets({ assignee: cmd.kind === 'mine' ? p.personId : 'none', limit: 20 });
        const open = list.items.filter((t) => t.statusCategory !== 'Closed' && t.statusCategory !== 'Resolved');
        const heading = cmd.kind === 'mine' ? 'Your open tickets' : 'Unassigned open tickets';
        await say(`${heading}: ${open.length}`, ticketList(heading, open));
      } else if (cmd.kind === 'show') {
        const { text: summary, blocks } = await cards.render(await service.getTicket(cmd.number), p.personId);
        await say(summary, blocks);
      } else if (cmd.kind === 'new') {
        const t = await service.createTicket({ title: cmd.title, description: cmd.description, requester: { email: p.email, name: p.name }, source: 'slack', createdBy: { personId: p.personId } });
        await say(`Opened ticket #${t.number}: ${t.title}`);
      } else if (cmd.kind === 'search') {
        const found = await service.searchTickets(cmd.words, { limit: 20 });
        await say(`${found.items.length} tickets match "${cmd.words}"`, ticketList(`Tickets matching "${cmd.words}"`, found.items));
      } else {
        await say(cmd.problem ? `${cmd.problem}

${TECH_COMMANDS_HELP}` : TECH_COMMANDS_HELP);
      }
    } catch (err) {
      if (!(err instanceof DeskbridgeError)) ctx.logger.error({ err }, 'slack technician command failed');
      await say(messageOf(err));
    }
  };

  const directMessage = async (e: { user: string; ts: string; channel: string; text?: string }) => {
    const p = await identity.resolve(e.user);
    const text = (e.text ?? '').trim();
    if (!p || !text) return;
    if (p.technician) return technicianCommand(p, e.channel, text);
    const t = await service.findTicketByChannelRef('slackDm', 'channel', e.channel);
    if (t && t.statusCategory !== 'Closed' && t.statusCategory !== 'Resolved' && t.requester?.id === p.personId) {
      await service.addEntry(t.number, { kind: 'chat', text, author: { personId: p.personId }, source: 'slack', messageId: `slack:${e.channel}:${e.ts}` });
      return;
    }
    // Stored before the offer is shown, so the button always finds it.
    await models.DmOffer.updateOne({ _id: `${e.channel}:${e.ts}` }, { $setOnInsert: { at: new Date(), text, used: false } }, { upsert: true });
    await client.chat.postMessage({
      channel: e.channel, text: 'Want to open a chat with the helpdesk about this?',
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: 'Want to open a chat with the helpdesk about this?' } },
        { type: 'actions', elements: [{ type: 'button', action_id: ACTIONS.startChatOffer, style: 'primary', text: { type: 'plain_text', text: 'Open a chat' }, value: e.ts }] },
      ],
    });
  };

  bolt.action(ACTIONS.startChatOffer, async ({ ack, body }) => {
    await ack();
    const b = body as BlockAction;
    const channel = b.channel?.id ?? b.container?.channel_id;
    const ts = (b.actions[0] as { value: string }).value;
    // One ticket per offer, however often the button is pressed.
    const offer = await models.DmOffer.findOneAndUpdate({ _id: `${channel}:${ts}`, used: false }, { $set: { used: true } }).lean();
    if (!offer || !channel) return;
    const p = await identity.resolve(b.user.id);
    if (!p) return;
    const text = String(offer.text ?? '');
    const t = await service.createTicket({ title: excerpt(text, 80) || 'Chat', description: text, requester: { email: p.email, name: p.name }, source: 'slack' });
    await service.setChannelRef(t.number, 'slackDm', { channel, userId: b.user.id, teamId: b.team?.id ?? null } satisfies DmRef);
    await client.chat.postMessage({ channel, text: `Opened ticket #${t.number}. A technician will answer here.` });
  });

  // ------------------------------------------------------------ reactions
  bolt.event('reaction_added', async ({ event }) => {
    const e = event as { user: string; reaction: string; item: { type: string; channel: string; ts: string } };
    if (e.item.type !== 'message') return;
    const p = await identity.resolve(e.user);
    if (!p?.technician) return;
    try {
      if (e.reaction === 'ticket') {
        type Msg = { user?: string; bot_id?: string; text?: string; thread_ts?: string; ts?: string };
        const h = await client.conversations.history({ channel: e.item.channel, latest: e.item.ts, inclusive: true, limit: 1 });
        let msg = h.messages?.find((m) => m.ts === e.item.ts) as Msg | undefined;
        if (!msg) {
          // Thread replies are not in the channel history.
          const r = await client.conversations.replies({ channel: e.item.channel, ts: e.item.ts, limit: 100 });
          msg = r.messages?.find((m) => m.ts === e.item.ts) as Msg | undefined;
        }
        if (!msg) return;
        // Never turn the bot's own posts (mirrored notes among them) or card-thread messages into a
        // ticket: the description is public and would reach the requester.
        const inCardThread = msg.thread_ts ? Boolean(await service.findTicketByChannelRef('slack', 'ts', msg.thread_ts)) : false;
        if (msg.bot_id || !msg.user || inCardThread || (await service.findTicketByChannelRef('slack', 'ts', e.item.ts))) {
          await tell(e.user, e.item.channel, 'That message belongs to the helpdesk itself; only people\'s messages can become tickets.');
          return;
        }
        const author = await identity.resolve(msg.user);
        if (!author) return;
        const text = msg.text ?? '';
        await service.createTicket({ title: excerpt(text, 80) || 'From Slack', description: text, requester: { email: author.email, name: author.name }, source: 'slack', createdBy: { personId: p.personId } });
        return;
      }
      const t = await service.findTicketByChannelRef('slack', 'ts', e.item.ts);
      if (!t) return;
      if (e.reaction === 'eyes') await service.updateTicket(t.number, { assignee: { personId: p.personId } }, { personId: p.personId });
      else if (e.reaction === 'white_check_mark' || e.reaction === 'heavy_check_mark') await service.updateTicket(t.number, { status: 'Resolved' }, { personId: p.personId });
      else return;
      await touch(t.number, p);
    } catch (err) {
      await tell(e.user, e.item.channel, messageOf(err)).catch(() => undefined);
    }
  });

  // ------------------------------------------------------------ App Home
  bolt.event('app_home_opened', async ({ event }) => {
    const e = event as { user: string; tab?: string };
    if (e.tab && e.tab !== 'home') return;
    const p = await identity.resolve(e.user);
    if (!p) return;
    const mine = p.technician ? (await service.listTickets({ assignee: p.personId, limit: 20 })).items.filter((t) => t.statusCategory !== 'Closed') : [];
    const unassigned = p.technician ? (await service.listTickets({ assignee: 'none', limit: 20 })).items.filter((t) => t.statusCategory !== 'Closed') : [];
    const participant = p.technician ? [] : (await service.listTickets({ participant: p.personId, limit: 20 })).items;
    await client.views.publish({ user_id: e.user, view: homeView({ technician: p.technician, mine, unassigned, participant }) });
  });

}
