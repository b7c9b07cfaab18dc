import { simpleParser, type AddressObject } from 'mailparser';
import sanitizeHtml from 'sanitize-html';
import { normaliseEmail } from '../domain/ticket-rules.js';
import { htmlToText, newHtml, visibleText, visibleTextFromHtml } from './reply-text.js';

export interface Address { address: string; name: string }

/**
 * Everything the pipeline needs from a message, computed in one pass: the parse and the CPU-heavy
 * text work (stripping, HTML to text, sanitising). Plain data, so it can cross a worker boundary.
 */
export interface ParsedMessage {
  messageId: string | null;
  subject: string;
  from: Address | null;
  replyTo: Address | null;
  to: Address[];
  cc: Address[];
  inReplyTo: string | null;
  references: string[];
  headerLines: { key: string; line: string }[];
  /** The new text (quotes and signature stripped); the full text when stripping leaves nothing. */
  visibleText: string;
  /** Sanitised HTML of the new part, for display. */
  html: string | null;
  /** Text of the message as parsed (bounce reports are read from it). */
  text: string;
  /** The whole message as text, quotes included (the HTML converted when there is no text part). */
  fullText: string;
  attachments: { filename: string; contentType: string; size: number; cid: string | null; content: Uint8Array }[];
}

const addressesOf = (v: AddressObject | AddressObject[] | undefined): Address[] =>
  (v ? (Array.isArray(v) ? v : [v]) : []).flatMap((a) => a.value).flatMap(function flat(x): Address[] {
    if (x.group) return x.group.flatMap(flat);
    return x.address ? [{ address: normaliseEmail(x.address), name: x.name ?? '' }] : [];
  });

export async function parseMessage(raw: Buffer | Uint8Array): Promise<ParsedMessage> {
  const mail = await simpleParser(Buffer.isBuffer(raw) ? raw : Buffer.from(raw), { skipTextToHtml: true, skipImageLinks: true, skipTextLinks: true });
  let text = '';
  if (mail.text && mail.text.trim()) text = visibleText(mail.text) || mail.text.trim();
  else if (mail.html) text = visibleTextFromHtml(mail.html);
  return {
    messageId: mail.messageId ?? null,
    subject: mail.subject ?? '',
    from: addressesOf(mail.from)[0] ?? null,
    replyTo: addressesOf(mail.replyTo)[0] ?? null,
    to: addressesOf(mail.to),
    cc: addressesOf(mail.cc),
    inReplyTo: mail.inReplyTo ?? null,
    references: mail.references ? ([] as string[]).concat(mail.references) : [],
    headerLines: (mail.headerLines ?? []).map((h) => ({ key: h.key, line: h.line })),
    visibleText: text,
    html: mail.html ? sanitizeHtml(newHtml(mail.html), {
      allowedTags: sanitizeHtml.defaults.allowedTags.concat(['img']),
      allowedSchemes: ['http', 'https', 'mailto', 'cid'],
    }) : null,
    text: mail.text ?? '',
    fullText: mail.text && mail.text.trim() ? mail.text : mail.html ? htmlToText(mail.html) : '',
    attachments: (mail.attachments ?? []).map((a) => ({
      filename: a.filename || (a.contentType === 'message/rfc822' ? 'message.eml' : 'attachment'),
      contentType: a.contentType, size: a.size ?? a.content.length, cid: a.cid ?? null, content: a.content,
    })),
  };
}
