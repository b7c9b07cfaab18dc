/*
 * Pure rules about mail: which messages are automatic (never answered, never reopen a ticket),
 * which addresses never get automatic mail, and how our own addresses and ids look.
 */

export interface HeaderView {
  get(name: string): string | undefined;
  all(name: string): string[];
}

/** Subjects of out-of-office and auto-replies, in several languages. */
const AUTO_SUBJECT = /^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?reply|auto[- ]?response|autoreply|abwesenheit|abwesenheitsnotiz|automatische antwort|réponse automatique|absence du bureau|respuesta automática|fuera de la oficina|afwezigheid|automatisch antwoord|risposta automatica|fuori sede|frånvaro|automatiskt svar|ooo\b|on vacation|vacation reply|undeliverable|undelivered mail|delivery status notification|mail delivery (failed|failure|system)|returned mail|failure notice|non[- ]?delivery)/i;
const BOUNCE_SENDER = /^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@/i;
const NO_AUTOMATIC_MAIL = /^(mailer-daemon|postmaster|mail-daemon|mailerdaemon|no[-_.]?reply|do[-_.]?not[-_.]?reply|bounces?|auto[-_.]?reply|notifications?-noreply)([+@]|$)/i;
/** A message that has passed this many relays is going in circles. */
export const MAX_HOPS = 30;
/** Marks mail we send; seeing it come back in means a loop. */
export const LOOP_HEADER = 'x-deskbridge-loop';

export interface AutomaticVerdict {
  kind: 'auto-reply' | 'bounce' | 'loop';
  reason: string;
}

export interface ClassifyInput {
  headers: HeaderView;
  from: string | null;
  subject: string;
  contentType: string;
  envelopeFrom?: string | null;
  messageId: string | null;
  /** Our own instance marker (compared with the loop header). */
  loopMarker: string;
  isOurMessageId(id: string): boolean;
}

/** Why a message is automatic, or null for mail a person wrote. */
export function classifyAutomatic(m: ClassifyInput): AutomaticVerdict | null {
  const h = m.headers;
  if (m.messageId && m.isOurMessageId(m.messageId)) return { kind: 'loop', reason: 'our own Message-ID came back' };
  if (h.all(LOOP_HEADER).some((v) => v.trim() === m.loopMarker)) return { kind: 'loop', reason: 'our own mail came back (loop header)' };
  if (h.all('received').length > MAX_HOPS) return { kind: 'loop', reason: `more than ${MAX_HOPS} Received hops` };
  if (/multipart\/report/i.test(m.contentType)) return { kind: 'bounce', reason: 'delivery report (multipart/report)' };
  if (m.from && BOUNCE_SENDER.test(m.from)) return { kind: 'bounce', reason: `bounce from ${m.from}` };
  if (m.envelopeFrom === '') return { kind: 'bounce', reason: 'null envelope sender (MAIL FROM:<>)' };
  const auto = (h.get('auto-submitted') ?? '').trim().toLowerCase();
  if (auto && auto !== 'no') return { kind: 'auto-reply', reason: `Auto-Submitted: ${auto}` };
  for (const name of ['x-autoreply', 'x-autorespond', 'x-autoresponder', 'x-auto-response-suppress']) {
    if (h.get(name) !== undefined) return { kind: 'auto-reply', reason: `${name} header` };
  }
  const precedence = (h.get('precedence') ?? '').trim().toLowerCase();
  if (['bulk', 'junk', 'auto_reply', 'auto-reply', 'list'].includes(precedence)) return { kind: 'auto-reply', reason: `Precedence: ${precedence}` };
  if (AUTO_SUBJECT.test(m.subject)) return { kind: 'auto-reply', reason: 'auto-reply subject' };
  return null;
}

/** Addresses that never get automatic mail (robots answer robots). */
export const isNoAutomaticMailAddress = (email: string) => NO_AUTOMATIC_MAIL.test(email.trim());

/** Recipients that failed permanently, from a delivery-status report (RFC 3464). */
export function failedRecipients(deliveryStatus: string): { email: string; status: string; diagnostic: string }[] {
  const out: { email: string; status: string; diagnostic: string }[] = [];
  for (const block of deliveryStatus.replace(/\r\n/g, '\n').split(/\n\s*\n/)) {
    const rcpt = /^(?:final|original)-recipient:\s*[^;]*;\s*<?([^\s>]+@[^\s>]+)>?/im.exec(block);
    const action = /^action:\s*(\S+)/im.exec(block);
    if (!rcpt || !action || action[1]!.toLowerCase() !== 'failed') continue;
    const status = /^status:\s*(\S+)/im.exec(block)?.[1] ?? '5.0.0';
    if (!status.startsWith('5')) continue;
    const diagnostic = /^diagnostic-code:\s*(.+(?:\n[ \t].+)*)/im.exec(block)?.[1]?.replace(/\s+/g, ' ').trim() ?? '';
    out.push({ email: rcpt[1]!.toLowerCase(), status, diagnostic });
  }
  return out;
}

/** Message-IDs without angle brackets and whitespace, as we store them. */
export const normaliseMessageId = (id: string) => id.trim().replace(/^<|>$/g, '').trim();

/** Message-IDs in an In-Reply-To/References value. */
export function messageIdsIn(value: string | string[] | undefined): string[] {
  if (!value) return [];
  const text = Array.isArray(value) ? value.join(' ') : value;
  const ids = text.match(/<[^<>\s]+>/g);
  return ids ? ids.map(normaliseMessageId) : text.split(/\s+/).filter(Boolean).map(normaliseMessageId);
}

/** `[#123]` in a subject. */
export function ticketTagIn(subject: string): number | null {
  const m = /\[#(\d{1,9})\]/.exec(subject);
  return m ? Number(m[1]) : null;
}

/** A subject without reply/forward prefixes and our ticket tag, for a new ticket's title. */
export function cleanSubject(subject: string): string {
  let s = subject.replace(/\[#\d+\]/g, ' ');
  for (let i = 0; i < 5; i++) {
    const next = s.replace(/^\s*(re|aw|antw|sv|vs|fw|fwd|wg|tr|rv|r|enc|odp|ynt)\s*(\[\d+\])?\s*:\s*/i, '');
    if (next === s) break;
    s = next;
  }
  return s.replace(/\s+/g, ' ').trim();
}
