import { createHash } from 'node:crypto';
import type { AppContext } from '../app.js';
import { resolveStatus } from '../domain/ticket-rules.js';
import { PermanentDeliveryError, type Notifier } from '../notify/notifier.js';
import type { AttachmentRef, DomainEvent, EntryAddedData, EntryView, FieldChange, TicketView } from '../tickets/types.js';
import type { MailAddresses } from './addresses.js';
import { LOOP_HEADER, isNoAutomaticMailAddress } from './classify.js';
import type { BlobStore, MailModels, ReplyTokens } from './store.js';
import type { MailTransport } from './transport.js';

export interface OutboundDeps {
  ctx: AppContext;
  models: MailModels;
  tokens: ReplyTokens;
  addresses: MailAddresses;
  transport: MailTransport;
  /** Entry attachments (the same GridFS bucket the portal and Slack/Teams uploads use). */
  blobs: BlobStore;
  rateLimit: number;
  rateWindowMs: number;
  /** Total attachment bytes one mail may carry (above: a link to the request instead). */
  maxAttachmentBytes: number;
}

/** One mail to compose for an event: what it says and to whom. */
interface Plan {
  ticket: TicketView;
  recipients: { email: string; personId: string | null }[];
  subject: string;
  /** Plain text of the update; the only content taken from the ticket. */
  body: string;
  heading: string;
  messageId: string;
  /** System notices carry Auto-Submitted: auto-replied. */
  automatic: boolean;
  /** The entry this mail carries, to store its Message-ID. */
  entryId: string | null;
  /** The entry's attachments, sent with the mail (images inline). */
  attachments: AttachmentRef[];
  /** Files the recipient sent us themselves: named in the mail, never sent back to them. */
  received?: AttachmentRef[];
  /** The last public message before this one, quoted under the reply (never an internal note). */
  history: { author: string; at: Date; text: string } | null;
}

const INLINE_IMAGE = /^image\/(png|jpe?g|gif|webp)$/i;

/** The quoted history in text, the way mail clients quote: a header line, then `> ` lines. */
function quotedText(h: NonNullable<Plan['history']>): string {
  return [`On ${h.at.toUTCString()}, ${h.author} wrote:`, ...h.text.split('\n').map((l) => (l ? `> ${l}` : '>'))].join('\n');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/**
 * The "email" notifier: every update the requester may see becomes a threaded mail. It re-reads
 * each entry and sends only public replies and system notices: an internal note never goes out,
 * whatever the event says.
 */
export class EmailNotifier implements Notifier {
  readonly channel = 'email';

  constructor(private readonly d: OutboundDeps) {}

  wants(event: DomainEvent): boolean {
    switch (event.type) {
      case 'ticket.created':
        return true;
      case 'entry.added': {
        const data = event.data as unknown as EntryAddedData;
        return data.visibility === 'public' && (data.kind === 'reply' || data.kind === 'system');
      }
      case 'ticket.updated':
        return ((event.data.changes as FieldChange[] | undefined) ?? []).some((c) => c.field === 'status');
      case 'ticket.merged':
        return event.data.from === event.ticketNumber;
      default:
        return false;
    }
  }

  async deliver(event: DomainEvent): Promise<void> {
    const plan = await this.plan(event);
    if (!plan) return;
    let retryable: Error | null = null;
    for (const r of plan.recipients) {
      try {
        await this.sendOne(event, plan, r);
      } catch (err) {
        if ((err as { permanent?: boolean }).permanent) continue;
        retryable = err as Error;
      }
    }
    if (plan.entryId) await this.d.ctx.service.setEntryMessageId(plan.entryId, plan.messageId);
    if (retryable) throw retryable;
  }

  async onGiveUp(event: DomainEvent, error: Error): Promise<void> {
    await this.d.ctx.service.recordActivity(event.ticketNumber, 'email_failed', { event: event.type, reason: error.message, permanent: false });
  }

  private async plan(event: DomainEvent): Promise<Plan | null> {
    const { ctx, addresses } = this.d;
    const ticket = await ctx.service.getTicket(event.ticketNumber).catch(() => null);
    if (!ticket || !ticket.requester) return null;
    const requester = [{ email: ticket.requester.email, personId: ticket.requester.id }];
    const tag = `[#${ticket.number}]`;
    switch (event.type) {
      case 'ticket.created': {
        const entry = await this.publicEntry(event.data.entryId as string | null);
        const wroteIn = event.actor.kind === 'contact';
        // The acknowledgement to a requester who wrote in names their files instead of mailing them
        // back: they have them, and encoding megabytes of attachments into a mail nobody needs is
        // the costliest part of receiving a large mail (base64 and MIME on the event loop).
        const own = wroteIn && (!event.actor.email || event.actor.email === ticket.requester.email);
        return {
          ticket, recipients: requester, automatic: true, entryId: null, history: null,
          attachments: own ? [] : entry?.attachments ?? [], received: own ? entry?.attachments ?? [] : [],
          subject: `${tag} ${ticket.title}`,
          heading: wroteIn ? `We received your request #${ticket.number}.` : `A request #${ticket.number} was opened for you.`,
          body: entry?.text ?? '',
          messageId: addresses.messageIdFor('ticket', ticket.number),
        };
      }
      case 'entry.added': {
        const entry = await this.publicEntry((event.data as unknown as EntryAddedData).entryId);
        if (!entry) return null;
        // Whoever wrote it does not get it back; people CC'd on an emailed entry already have it.
        const skip = new Set([entry.author.email, ...(entry.source === 'email' ? entry.cc.map((c) => c.email) : [])].filter(Boolean));
        const recipients = [...requester, ...ticket.cc].filter((r) => !skip.has(r.email));
        const status = (event.data as unknown as EntryAddedData).statusChange;
        return {
          ticket, recipients, automatic: entry.kind === 'system', entryId: entry.id, attachments: entry.attachments, history: await this.historyBefore(entry),
          subject: `Re: ${tag} ${ticket.title}`,
          heading: entry.kind === 'system' ? `Update on your request #${ticket.number}` : `${entry.author.name} replied to your request #${ticket.number}${status ? ` and set it to ${String(status.to)}` : ''}:`,
          body: entry.text,
          messageId: addresses.messageIdFor('entry', entry.id),
        };
      }
      case 'ticket.updated': {
        const change = ((event.data.changes as FieldChange[]) ?? []).find((c) => c.field === 'status')!;
        const settings = await ctx.service.settings.get();
        const category = resolveStatus(String(change.to), settings.customStatuses)?.category;
        if (category !== 'Resolved' && category !== 'Closed') return null;
        // A reply that set the status already told the requester.
        const withReply = await ctx.db.models.Event.exists({ ticketNumber: event.ticketNumber, type: 'entry.added', at: event.at, 'data.statusChange.field': 'status' });
        if (withReply) return null;
        return {
          ticket, recipients: requester, automatic: true, entryId: null, attachments: [], history: null,
          subject: `Re: ${tag} ${ticket.title}`,
          heading: `Your request #${ticket.number} is now ${String(change.to)}.`,
          body: category === 'Resolved' ? 'If something is still not right, just reply to this email.' : '',
          messageId: addresses.messageIdFor('event', event.id),
        };
      }
      case 'ticket.merged': {
        const into = Number(event.data.into);
        return {
          ticket, recipients: requester, automatic: true, entryId: null, attachments: [], history: null,
          subject: `Re: ${tag} ${ticket.title}`,
          heading: `Your request #${ticket.number} was merged into request #${into}.`,
          body: `Replies to this email still reach us; the conversation continues in request #${into}.`,
          messageId: addresses.messageIdFor('event', event.id),
        };
      }
      default:
        return null;
    }
  }

  /**
   * The last public message before `entry` on its ticket, read through the public-only query and
   * checked again, so an internal note can never be quoted to an end user.
   */
  private async historyBefore(entry: EntryView): Promise<Plan['history']> {
    const entries = await this.d.ctx.service.publicEntries([entry.ticketNumber]);
    const before = entries.filter((e) => e.id !== entry.id && e.visibility === 'public' && e.kind === 'reply' && e.text.trim()
      && e.createdAt.getTime() <= entry.createdAt.getTime());
    const last = before.at(-1);
    if (!last) return null;
    const text = last.text.length > 4000 ? `${last.text.slice(0, 4000)}\n[…]` : last.text;
    return { author: last.author.name || last.author.email || 'You', at: last.createdAt, text };
  }

  /** Each recipient's copy gets its own Message-ID (the first keeps the entry's, which threads replies). */
  private copyMessageId(plan: Plan, email: string): string {
    if (plan.recipients.length <= 1 || plan.recipients[0]!.email === email) return plan.messageId;
    const tag = createHash('sha256').update(email).digest('hex').slice(0, 10);
    return plan.messageId.replace('@', `.c${tag}@`);
  }

  /** The entry's files as mail parts: images inline (cid), the rest as attachments; none above the size cap. */
  private async mailAttachments(plan: Plan): Promise<{ parts: { filename: string; content: Buffer; contentType: string; cid?: string; contentDisposition?: 'inline' | 'attachment' }[]; skipped: string[] }> {
    const total = plan.attachments.reduce((n, a) => n + (a.size ?? 0), 0);
    if (total > this.d.maxAttachmentBytes) return { parts: [], skipped: plan.attachments.map((a) => a.filename) };
    const parts = [];
    for (const a of plan.attachments) {
      const content = await this.d.blobs.get(a.id);
      const inline = INLINE_IMAGE.test(a.contentType);
      parts.push({
        filename: a.filename, content, contentType: a.contentType,
        ...(inline ? { cid: `att-${a.id}@${this.d.addresses.replyDomain}`, contentDisposition: 'inline' as const } : { contentDisposition: 'attachment' as const }),
      });
    }
    return { parts, skipped: [] };
  }

  /** Re-reads an entry and returns it only when an end user may see it. */
  private async publicEntry(entryId: string | null | undefined): Promise<EntryView | null> {
    if (!entryId) return null;
    const entry = await this.d.ctx.service.getEntry(entryId);
    if (!entry || entry.visibility !== 'public' || (entry.kind !== 'reply' && entry.kind !== 'system')) return null;
    return entry;
  }

  private async sendOne(event: DomainEvent, plan: Plan, r: { email: string; personId: string | null }): Promise<void> {
    const { ctx, models, addresses } = this.d;
    const key = `${event.id}:${r.email}`;
    const done = await models.Outbound.findById(key).lean();
    if (done && done.status !== 'sending') return;
    const messageId = this.copyMessageId(plan, r.email);
    let rendered: string | null = null;
    const record = (status: 'sent' | 'skipped' | 'failed', reason: string | null) =>
      models.Outbound.updateOne(
        { _id: key },
        { $set: { messageId, ticketNumber: plan.ticket.number, email: r.email, status, reason, text: rendered, at: new Date() } },
        { upsert: true },
      );
    if (isNoAutomaticMailAddress(r.email)) return void (await record('skipped', 'robot address (mailer-daemon, postmaster, noreply)'));
    if (await ctx.service.people.isUndeliverable(r.email)) return void (await record('skipped', 'address is undeliverable'));
    const since = new Date(Date.now() - this.d.rateWindowMs);
    const recent = await models.Outbound.countDocuments({ ticketNumber: plan.ticket.number, email: r.email, status: 'sent', at: { $gte: since } });
    if (recent >= this.d.rateLimit) {
      ctx.logger.warn({ ticket: plan.ticket.number, to: r.email }, 'email rate limit reached; not sent');
      return void (await record('skipped', `rate limit: ${this.d.rateLimit} mails in ${Math.round(this.d.rateWindowMs / 1000)} s`));
    }
    const token = await this.d.tokens.tokenFor(plan.ticket.number, r.email, r.personId);
    const url = await ctx.links.ticketUrlFor(r.personId ?? '', plan.ticket.number);
    const references = await this.references(plan);
    const { parts, skipped } = await this.mailAttachments(plan);
    const received = plan.received?.length ? `Files received with your request: ${plan.received.map((a) => a.filename).join(', ')}` : null;
    const skippedLine = skipped.length ? `Attachments too large for email (open the request to download): ${skipped.join(', ')}` : received;
    // The quoted history goes under the signature, as clients put the message being answered.
    const text = [plan.heading, '', plan.body, plan.body ? '' : null, skippedLine, skippedLine ? '' : null, `View your request: ${url}`, '', '-- ', `${addresses.fromName} · reply to this email to answer; keep [#${plan.ticket.number}] in the subject.`,
      ...(plan.history ? ['', quotedText(plan.history)] : [])]
      .filter((l) => l !== null).join('\n');
    rendered = text;
    const images = parts.filter((p) => p.cid).map((p) => `<p><img src="cid:${escapeHtml(p.cid!)}" alt="${escapeHtml(p.filename)}" style="max-width:100%"></p>`).join('');
    const html = `<div><p>${escapeHtml(plan.heading)}</p>${plan.body ? `<div style="white-space:pre-wrap">${escapeHtml(plan.body)}</div>` : ''}${images}`
      + (skippedLine ? `<p>${escapeHtml(skippedLine)}</p>` : '')
      + `<p><a href="${escapeHtml(url)}">View your request #${plan.ticket.number}</a></p>`
      + `<p style="color:#888">-- <br>${escapeHtml(addresses.fromName)} · reply to this email to answer.</p>`
      + (plan.history ? `<div class="deskbridge_quote"><p>On ${escapeHtml(plan.history.at.toUTCString())}, ${escapeHtml(plan.history.author)} wrote:</p>`
        + `<blockquote type="cite" style="margin:0 0 0 .8ex;border-left:1px solid #ccc;padding-left:1ex"><div style="white-space:pre-wrap">${escapeHtml(plan.history.text)}</div></blockquote></div>` : '')
      + '</div>';
    // The intent first: an attempt that dies while handing the mail to the relay leaves 'sending'. The
    // relay cannot be asked whether it took the mail, so the next attempt sends again (a lost reply is
    // worse than a repeated one) and says so: the record counts the attempts.
    const attempt = done?.status === 'sending' ? (done.attempt ?? 1) + 1 : 1;
    if (attempt > 1) ctx.logger.warn({ ticket: plan.ticket.number, to: r.email, attempt }, 'email: an earlier attempt died while handing this mail to the relay; sending it again');
    await models.Outbound.updateOne(
      { _id: key },
      { $set: { messageId, ticketNumber: plan.ticket.number, email: r.email, status: 'sending', attempt, reason: null, text: null, at: new Date() } },
      { upsert: true },
    );
    try {
      const sent = await this.d.transport.send({
        from: { name: addresses.fromName, address: addresses.fromAddress },
        to: r.email,
        replyTo: addresses.replyTo(token),
        subject: plan.subject,
        text, html, attachments: parts,
        messageId: `<${messageId}>`,
        inReplyTo: references.length ? `<${references[references.length - 1]}>` : undefined,
        references: references.map((id) => `<${id}>`),
        headers: {
          [LOOP_HEADER]: addresses.loopMarker,
          'X-Auto-Response-Suppress': 'OOF, AutoReply',
          ...(plan.automatic ? { 'Auto-Submitted': 'auto-replied' } : {}),
        },
      });
      if (sent.rejected.length > 0) throw Object.assign(new Error(`recipient rejected: ${sent.rejected.join(', ')}`), { responseCode: 550 });
      await record('sent', null);
    } catch (err) {
      const code = (err as { responseCode?: number }).responseCode ?? 0;
      if (code >= 500) {
        const reason = `${code} ${(err as Error).message}`.slice(0, 500);
        await record('failed', reason);
        await ctx.service.people.markUndeliverable(r.email, reason);
        await ctx.service.recordActivity(plan.ticket.number, 'email_failed', { email: r.email, reason, permanent: true });
        throw new PermanentDeliveryError(reason);
      }
      // The relay answered (4xx): it did not take this copy, so the retry is no repeat of it. An attempt
      // before it that died during the hand-over may have delivered one: its count is kept, so the copy
      // that finally goes out is counted as the repeat it is (clearing it made that one "attempt 1").
      if (code > 0) {
        const undo = attempt > 1
          ? models.Outbound.updateOne({ _id: key, status: 'sending' }, { $set: { attempt: attempt - 1 } })
          : models.Outbound.deleteOne({ _id: key, status: 'sending' });
        await undo.catch(() => undefined);
      }
      throw err;
    }
  }

  /** The thread: our first mail for the ticket, then the Message-IDs of its public entries. */
  private async references(plan: Plan): Promise<string[]> {
    const root = this.d.addresses.messageIdFor('ticket', plan.ticket.number);
    const entries = await this.d.ctx.service.publicEntries([plan.ticket.number]);
    const ids = entries.map((e) => e.messageId).filter((id): id is string => Boolean(id) && id !== plan.messageId);
    const refs = [root, ...ids.slice(-10)].filter((id) => id !== plan.messageId);
    return [...new Set(refs)];
  }
}
