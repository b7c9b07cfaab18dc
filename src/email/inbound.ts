import { randomUUID } from 'node:crypto';
import { simpleParser, type AddressObject } from 'mailparser';
import type { AppContext } from '../app.js';
import { DeskbridgeError } from '../domain/errors.js';
import { isEmail, normaliseEmail } from '../domain/ticket-rules.js';
import type { AttachmentRef } from '../tickets/types.js';
import type { MailAddresses } from './addresses.js';
import type { FileBlobs } from './blob-file.js';
import { authResultsOf, failsDmarcFor, type MailAuthResults } from './auth-results.js';
import {
  classifyAutomatic, cleanSubject, failedRecipients, messageIdsIn, normaliseMessageId, ticketTagIn,
  type AutomaticVerdict, type HeaderView,
} from './classify.js';
import { ParserUnavailableError, type MessageParser } from './message-parser.js';
import { attachmentBytes, type ParsedMessage } from './parse.js';
import type { MailSpool, SpooledMail } from './spool.js';
import type { BlobStore, MailModels, ReplyTokens } from './store.js';
import { EarlierMessages, visibleTextWithThread } from './thread-match.js';

export type IngestStatus = 'created' | 'appended' | 'ignored' | 'rejected';

/** The outcome of one message; the pipe command prints exactly this as a JSON line. */
export interface IngestResult {
  status: IngestStatus;
  ticketNumber: number | null;
  entryId: string | null;
  author: { kind: string; email: string } | null;
  visibleText: string | null;
  reason: string | null;
  /** SPF/DKIM/DMARC as our MTA recorded them (Authentication-Results), when it did. */
  auth?: MailAuthResults | null;
}

export interface IngestOptions {
  via: 'smtp' | 'imap' | 'pipe';
  /** SMTP envelope: MAIL FROM ('' for the null sender of bounces) and RCPT TO. */
  envelopeFrom?: string | null;
  envelopeTo?: string[];
}

export interface InboundDeps {
  ctx: AppContext;
  models: MailModels;
  blobs: BlobStore;
  tokens: ReplyTokens;
  addresses: MailAddresses;
  maxBytes: number;
  parser: MessageParser;
  /**
   * Stores large messages' files (the spooled raw message, the attachments the parse worker wrote):
   * the parser's workers when they have a database, so those bytes never reach the main thread.
   * Unset: `blobs`, on this thread.
   */
  files?: FileBlobs;
  spool: MailSpool;
  /** A claim on a Message-ID older than this, with nothing stored, is taken over (its first delivery died mid-way). */
  staleClaimMs: number;
  /** Only Authentication-Results headers with this authserv-id are read (unset: the topmost one). */
  authservId?: string;
  /** Sends the short "too large" notice (rate limited, never to robots). */
  sendRejectionNotice(to: string, subject: string, reason: string): Promise<void>;
}


const result = (status: IngestStatus, rest: Partial<IngestResult> = {}): IngestResult => ({
  status, ticketNumber: null, entryId: null, author: null, visibleText: null, reason: null, ...rest,
});

function headerView(mail: { headerLines?: readonly { key: string; line: string }[] }): HeaderView {
  const lines = mail.headerLines ?? [];
  const all = (name: string) => lines.filter((l) => l.key === name).map((l) => l.line.slice(l.line.indexOf(':') + 1).trim());
  return { all, get: (name) => all(name)[0] };
}

const addressesOf = (v: AddressObject | AddressObject[] | undefined): { address: string; name: string }[] =>
  (v ? (Array.isArray(v) ? v : [v]) : []).flatMap((a) => a.value).flatMap(function flat(x): { address: string; name: string }[] {
    if (x.group) return x.group.flatMap(flat);
    return x.address ? [{ address: normaliseEmail(x.address), name: x.name ?? '' }] : [];
  });

/**
 * The one inbound pipeline (SMTP listener, IMAP poll and the pipe command all call this): size
 * check, one parse, duplicate check, raw kept, automatic mail recognised, threaded, stripped, and
 * written through the ticket service. Throws only when retrying can help (e.g. database down).
 */
export class InboundPipeline {
  constructor(private readonly d: InboundDeps) {}

  private get files(): FileBlobs {
    return this.d.files ?? this.d.blobs;
  }

  /** A message already in memory (IMAP, tests): spooled like SMTP input (large ones to a file). */
  async ingest(raw: Buffer, opts: IngestOptions): Promise<IngestResult> {
    const spooled = await this.d.spool.fromBuffer(raw);
    try {
      return await this.ingestSpooled(spooled, opts);
    } finally {
      await spooled.dispose();
    }
  }

  /** A spooled message (the caller disposes of it afterwards, whatever the outcome). */
  async ingestSpooled(raw: SpooledMail, opts: IngestOptions): Promise<IngestResult> {
    if (raw.oversize || raw.size > this.d.maxBytes) return this.rejectOversize(raw);
    let mail: ParsedMessage;
    try {
      mail = await this.d.parser.parse(raw);
    } catch (err) {
      // A dead worker is not the message's fault: the sender retries (4xx).
      if (err instanceof ParserUnavailableError) throw err;
      // Retrying the same bytes cannot help: refuse it (the SMTP sender gets a 5xx, not a retry loop).
      return result('rejected', { reason: `unparseable message: ${(err as Error).message}` });
    }
    // An empty Message-ID (`<>`) is no identity: fall back to the content hash like a missing one.
    const messageId = (mail.messageId && normaliseMessageId(mail.messageId)) || `sha256:${raw.sha256}`;
    // Each delivery owns its claim and keeps it alive with a heartbeat: a live, slow delivery is
    // never taken over; a dead one (no heartbeat for staleClaimMs) is, by the sender's retry.
    const owner = randomUUID();
    const claim = await this.claim(messageId, opts.via, owner);
    if (claim) return claim;
    const beatEvery = Math.max(100, Math.floor(this.d.staleClaimMs / 3));
    const heartbeat = setInterval(() => {
      this.d.models.Inbound.updateOne({ _id: messageId, state: 'processing', owner }, { $set: { heartbeatAt: new Date() } })
        .catch((err) => this.d.ctx.logger.warn({ err, messageId }, 'inbound claim heartbeat failed'));
    }, beatEvery);
    heartbeat.unref();
    try {
      const outcome = await this.process(raw, mail, messageId, opts);
      const marked = await this.d.models.Inbound.updateOne({ _id: messageId, owner }, {
        $set: {
          state: 'done', status: outcome.status, reason: outcome.reason, ticketNumber: outcome.ticketNumber,
          entryId: outcome.entryId, from: outcome.author?.email ?? null, subject: mail.subject ?? null,
          auth: outcome.auth ?? null,
        },
      });
      if (marked.matchedCount === 0) this.d.ctx.logger.warn({ messageId }, 'inbound claim was taken over while this delivery was still running (heartbeat lost)');
      return outcome;
    } catch (err) {
      // Release the claim so the sender's retry is processed, not taken for a duplicate.
      await this.d.models.Inbound.deleteOne({ _id: messageId, state: 'processing', owner }).catch(() => undefined);
      if (err instanceof DeskbridgeError && (err.code === 'VALIDATION_FAILED' || err.code === 'FORBIDDEN' || err.code === 'NOT_FOUND')) {
        return result('rejected', { reason: err.message });
      }
      throw err;
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Records the Message-ID once; returns the duplicate's result when it was seen before. */
  private async claim(messageId: string, via: string, owner: string): Promise<IngestResult | null> {
    const now = new Date();
    try {
      await this.d.models.Inbound.create({ _id: messageId, state: 'processing', via, at: now, owner, heartbeatAt: now });
      return null;
    } catch (err) {
      if ((err as { code?: number }).code !== 11000) throw err;
    }
    const seen = await this.d.models.Inbound.findById(messageId).lean();
    if (seen?.state === 'processing') {
      // The first delivery may have died (kill -9) after storing its entry but before marking the
      // claim done: then this is a duplicate. If nothing was stored, acknowledging it as a duplicate
      // would lose the mail: answer "try later" until the claim is stale, then take it over.
      const stored = await this.d.ctx.service.findEntryByMessageId(messageId);
      if (stored) {
        await this.d.models.Inbound.updateOne({ _id: messageId, state: 'processing' }, {
          $set: { state: 'done', status: 'created', ticketNumber: stored.ticketNumber, entryId: stored.id },
        });
        return result('ignored', { reason: `duplicate: Message-ID <${messageId}> was already received`, ticketNumber: stored.ticketNumber, entryId: stored.id });
      }
      // Claims written before heartbeats existed carry only `at`.
      const lastSign = seen.heartbeatAt ?? seen.at;
      if (lastSign.getTime() < now.getTime() - this.d.staleClaimMs) {
        // Conditional on the heartbeat we judged: of several retries only one takes over.
        const asSeen = seen.heartbeatAt ? { heartbeatAt: seen.heartbeatAt } : { at: seen.at, heartbeatAt: null };
        const taken = await this.d.models.Inbound.updateOne({ _id: messageId, state: 'processing', ...asSeen }, { $set: { at: now, via, owner, heartbeatAt: now } });
        if (taken.modifiedCount === 1) return null;
      }
      throw new Error(`Message-ID <${messageId}> is being received by another delivery; try again later`);
    }
    return result('ignored', {
      reason: `duplicate: Message-ID <${messageId}> was already received`,
      ticketNumber: seen?.ticketNumber ?? null, entryId: seen?.entryId ?? null,
    });
  }

  private async process(raw: SpooledMail, mail: ParsedMessage, messageId: string, opts: IngestOptions): Promise<IngestResult> {
    const { ctx, addresses } = this.d;
    const headers = headerView(mail);
    const sender = mail.from ?? mail.replyTo;
    const subject = mail.subject;
    const rawMeta = { messageId, via: opts.via };
    // The raw copy is written while the message is classified and threaded (not before: each is a
    // round trip); every path below awaits it before anything refers to it.
    const rawStored = raw.bytes
      ? this.d.blobs.put(raw.bytes, `${messageId}.eml`, 'message/rfc822', rawMeta)
      : this.files.putFile(raw.path!, `${messageId}.eml`, 'message/rfc822', rawMeta);
    rawStored.catch(() => undefined); // awaited below; an early return must not leave it unhandled

    const verdict: AutomaticVerdict | null = sender && addresses.isOurs(sender.address)
      ? { kind: 'loop', reason: `mail from our own address ${sender.address}` }
      : classifyAutomatic({
      headers, from: sender?.address ?? null, subject, contentType: headers.get('content-type') ?? '',
      envelopeFrom: opts.envelopeFrom, messageId: mail.messageId ? messageId : null, loopMarker: addresses.loopMarker,
      isOurMessageId: (id) => addresses.isOurMessageId(id),
    });
    if (verdict) return this.ignoreAutomatic(mail, verdict, messageId, await rawStored, opts, sender?.address ?? null);
    if (!sender || !isEmail(sender.address)) {
      await rawStored;
      return result('rejected', { reason: 'no valid sender address (From)' });
    }

    const auth = authResultsOf(headers.all('authentication-results'), this.d.authservId);
    // Mail that fails DMARC for the address it claims is not from that person: it may start a
    // ticket of its own (visibly marked), but never lands in an existing ticket as them.
    const spoofed = failsDmarcFor(auth, sender.address);
    const threaded = async () => {
      const number = spoofed ? null : await this.thread(mail, opts, sender.address, true);
      return { number, text: number != null ? await this.withoutThreadQuote(mail, number) : mail.visibleText };
    };
    const [{ number: ticketNumber, text }, attachments, rawId] = await Promise.all([threaded(), this.storeAttachments(mail, messageId), rawStored]);
    if (!text.trim() && attachments.length === 0) {
      return result('ignored', { reason: 'empty message: no text and no attachments', ticketNumber, author: { kind: 'contact', email: sender.address }, auth });
    }
    // Kept for display: the new part only (quoted history left out, as in the text), sanitised.
    const html = mail.html;
    const cc = [...mail.to, ...mail.cc]
      .map((a) => a.address)
      .filter((a) => a !== sender.address && !addresses.isOurs(a) && isEmail(a));
    const external = { email: { rawId, messageId, via: opts.via, ...(auth ? { auth: { ...auth, spoofed } } : {}) } };

    if (ticketNumber != null) {
      const { ticket, entry } = await ctx.service.addEntry(ticketNumber, {
        kind: 'reply', text, html, author: { email: sender.address, name: sender.name || undefined }, source: 'email',
        cc, attachments, messageId, external,
      });
      return result('appended', {
        ticketNumber: ticket.number, entryId: entry.id, author: { kind: entry.author.kind, email: sender.address }, visibleText: entry.text, auth,
      });
    }
    const ticket = await ctx.service.createTicket({
      title: (cleanSubject(subject) || '(no subject)').slice(0, 500), description: text, html,
      requester: { email: sender.address, name: sender.name || undefined }, source: 'email', cc, attachments, messageId, external,
    });
    const entry = ticket.entries[0];
    return result('created', {
      ticketNumber: ticket.number, entryId: entry?.id ?? null, author: { kind: entry?.author.kind ?? 'contact', email: sender.address },
      visibleText: entry?.text ?? '', auth, reason: spoofed ? `DMARC failed for ${sender.address}: not threaded into an existing ticket` : null,
    });
  }

  /**
   * The new text, also cut where the mail reproduces one of our mails on the ticket or one of the
   * ticket's public entries (the end user's own earlier mails among them): quote in any layout.
   * Only public entries and what we sent are compared, so no internal note is ever read here.
   */
  private async withoutThreadQuote(mail: ParsedMessage, ticketNumber: number): Promise<string> {
    const [sent, entries] = await Promise.all([
      this.d.models.Outbound.find({ ticketNumber, status: 'sent', text: { $ne: null } }, { text: 1 }).sort({ at: -1 }).limit(50).lean(),
      this.d.ctx.service.publicEntries([ticketNumber]),
    ]);
    const earlier = new EarlierMessages([...new Set([...sent.map((s) => s.text!), ...entries.slice(-50).map((e) => e.text)])]);
    return visibleTextWithThread(mail.fullText, mail.visibleText, earlier);
  }

  /** Strongest first: Reply-To token, In-Reply-To/References, `[#123]` from a participant. */
  private async thread(mail: ParsedMessage, opts: IngestOptions, senderEmail: string | null, allowSubjectTag: boolean): Promise<number | null> {
    const { addresses, tokens, ctx, models } = this.d;
    const headers = headerView(mail);
    const recipients = [
      ...(opts.envelopeTo ?? []), ...mail.to.map((a) => a.address), ...mail.cc.map((a) => a.address),
      ...headers.all('delivered-to'), ...headers.all('x-original-to'),
    ];
    for (const r of recipients) {
      const token = addresses.tokenIn(r.replace(/^<|>$/g, ''));
      if (!token) continue;
      const found = await tokens.lookup(token);
      if (found) return found.ticketNumber;
    }
    const refs = [...messageIdsIn(mail.inReplyTo ?? undefined), ...messageIdsIn(mail.references).reverse()].slice(0, 30);
    if (refs.length > 0) {
      const sent = await models.Outbound.findOne({ messageId: { $in: refs } }).lean();
      if (sent) return sent.ticketNumber;
      for (const id of refs) {
        const entry = await ctx.service.findEntryByMessageId(id);
        if (entry) return entry.ticketNumber;
      }
    }
    const tag = allowSubjectTag ? ticketTagIn(mail.subject) : null;
    if (tag != null && senderEmail) {
      const ticket = await ctx.service.getTicket(tag).catch(() => null);
      if (ticket) {
        const participants = new Set([ticket.requester?.email, ticket.assignee?.email, ...ticket.cc.map((c) => c.email)].filter(Boolean));
        if (participants.has(senderEmail)) return ticket.number;
      }
    }
    return null;
  }

  private async storeAttachments(mail: ParsedMessage, messageId: string): Promise<AttachmentRef[]> {
    const refs: AttachmentRef[] = [];
    for (const a of mail.attachments) {
      const meta = { messageId, cid: a.cid };
      const id = a.content
        ? await this.d.blobs.put(Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength), a.filename, a.contentType, meta)
        : await this.files.putFile(a.path!, a.filename, a.contentType, meta);
      refs.push({ id, filename: a.filename, contentType: a.contentType, size: a.size });
    }
    return refs;
  }

  /** Automatic mail is never answered and never reopens a ticket; it is noted on the ticket it threads to. */
  private async ignoreAutomatic(mail: ParsedMessage, verdict: AutomaticVerdict, messageId: string, rawId: string, opts: IngestOptions, from: string | null): Promise<IngestResult> {
    const { ctx } = this.d;
    const ticketNumber = await this.thread(mail, opts, null, false).catch(() => null);
    const reason = `${verdict.kind}: ${verdict.reason}`;
    if (ticketNumber != null) {
      await ctx.service.recordActivity(ticketNumber, 'email_ignored', { reason, messageId, rawId, from, subject: mail.subject });
    }
    if (verdict.kind === 'bounce') {
      const report = mail.attachments.find((a) => /delivery-status/i.test(a.contentType));
      // mailparser shows a message/delivery-status part inline in the text, or as an attachment.
      for (const failed of failedRecipients(report ? (await attachmentBytes(report)).toString('utf8') : mail.text)) {
        await ctx.service.people.markUndeliverable(failed.email, `${failed.status} ${failed.diagnostic}`.trim());
        if (ticketNumber != null) {
          await ctx.service.recordActivity(ticketNumber, 'email_undeliverable', { email: failed.email, status: failed.status, diagnostic: failed.diagnostic });
        }
      }
    }
    return result('ignored', { reason, ticketNumber, author: from ? { kind: 'automatic', email: from } : null });
  }

  private async rejectOversize(raw: SpooledMail): Promise<IngestResult> {
    const reason = `message too large: ${raw.size} bytes, at most ${this.d.maxBytes} bytes (attachments included)`;
    await this.noticeForOversize(raw.head.subarray(0, headerEnd(raw.head)), reason).catch((err) => this.d.ctx.logger.warn({ err }, 'could not send the too-large notice'));
    return result('rejected', { reason });
  }

  /** One short notice to the sender of an oversize message, unless the message is automatic. */
  async noticeForOversize(headerBytes: Buffer, reason: string, envelopeFrom?: string | null): Promise<void> {
    const head = await simpleParser(Buffer.concat([headerBytes, Buffer.from('\r\n\r\n')]), { skipTextToHtml: true });
    const sender = addressesOf(head.from)[0];
    if (!sender) return;
    const verdict = classifyAutomatic({
      headers: headerView(head), from: sender.address, subject: head.subject ?? '', contentType: head.headers.get('content-type') ? String((head.headers.get('content-type') as { value?: string }).value ?? '') : '',
      envelopeFrom, messageId: head.messageId ? normaliseMessageId(head.messageId) : null, loopMarker: this.d.addresses.loopMarker,
      isOurMessageId: (id) => this.d.addresses.isOurMessageId(id),
    });
    if (verdict) return;
    await this.d.sendRejectionNotice(sender.address, head.subject ?? '', reason);
  }
}

/** Length of the header section (up to the first blank line), capped at 256 KB. */
export function headerEnd(raw: Buffer): number {
  const limit = Math.min(raw.length, 256 * 1024);
  const crlf = raw.subarray(0, limit).indexOf('\r\n\r\n');
  const lf = raw.subarray(0, limit).indexOf('\n\n');
  const ends = [crlf, lf].filter((i) => i >= 0);
  return ends.length ? Math.min(...ends) : limit;
}
