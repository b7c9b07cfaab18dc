import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { MailParser, simpleParser, type AddressObject, type AttachmentStream, type Headers, type MessageText } from 'mailparser';
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
  /** Each attachment in memory (small messages, parsed inline) or in a file of the message's work folder. */
  attachments: { filename: string; contentType: string; size: number; cid: string | null; content: Uint8Array | null; path: string | null }[];
}

const addressesOf = (v: AddressObject | AddressObject[] | undefined): Address[] =>
  (v ? (Array.isArray(v) ? v : [v]) : []).flatMap((a) => a.value).flatMap(function flat(x): Address[] {
    if (x.group) return x.group.flatMap(flat);
    return x.address ? [{ address: normaliseEmail(x.address), name: x.name ?? '' }] : [];
  });

type Attachment = ParsedMessage['attachments'][number];

/** Small messages, in memory, on the calling thread (mailparser's one-shot parse). */
export async function parseMessage(raw: Buffer | Uint8Array): Promise<ParsedMessage> {
  const mail = await simpleParser(Buffer.isBuffer(raw) ? raw : Buffer.from(raw), PARSER_OPTIONS);
  return assemble({
    headers: mail.headers, headerLines: mail.headerLines ?? [], text: mail.text, html: mail.html || undefined,
    attachments: (mail.attachments ?? []).map((a) => ({
      filename: attachmentName(a.filename, a.contentType), contentType: a.contentType, size: a.size ?? a.content.length,
      cid: a.cid ?? null, content: a.content, path: null,
    })),
  });
}

/**
 * A message on disk, parsed as it streams (on the parse worker): each attachment is decoded
 * straight into its own file under `outDir`, so neither the message nor an attachment is ever
 * whole in memory. On failure the caller removes `outDir` (see SpooledMail.dispose).
 */
export async function parseMessageFile(file: string, outDir: string): Promise<ParsedMessage> {
  const parser = new MailParser(PARSER_OPTIONS);
  const attachments: Attachment[] = [];
  let headers: Headers = new Map();
  let headerLines: { key: string; line: string }[] = [];
  let text: string | undefined;
  let html: string | undefined;
  parser.on('headers', (h: Headers) => { headers = h; headerLines = (parser.headerLines || []).map((l) => ({ key: l.key, line: l.line })); });
  const writes: Promise<void>[] = [];
  const files: WriteStream[] = [];
  parser.on('data', (data: AttachmentStream | MessageText) => {
    if (data.type === 'text') {
      text = data.text;
      html = typeof data.html === 'string' ? data.html : undefined;
      return;
    }
    const out = path.join(outDir, `attachment-${attachments.length}`);
    const entry: Attachment = { filename: attachmentName(data.filename, data.contentType), contentType: data.contentType, size: 0, cid: data.cid ?? null, content: null, path: out };
    attachments.push(entry);
    const sink = createWriteStream(out);
    files.push(sink);
    writes.push(pipeline(data.content, sink).then(() => {
      entry.size = data.size ?? 0;
      data.release?.();
    }));
  });
  try {
    await pipeline(createReadStream(file), parser);
    await Promise.all(writes);
  } catch (err) {
    for (const f of files) f.destroy();
    throw err;
  }
  return assemble({ headers, headerLines, text, html, attachments });
}

const PARSER_OPTIONS = { skipTextToHtml: true, skipImageLinks: true, skipTextLinks: true } as const;

const attachmentName = (filename: string | undefined, contentType: string) =>
  filename || (contentType === 'message/rfc822' ? 'message.eml' : 'attachment');

function assemble(m: { headers: Headers; headerLines: readonly { key: string; line: string }[]; text?: string; html?: string; attachments: Attachment[] }): ParsedMessage {
  const h = <T>(key: string) => m.headers.get(key) as T | undefined;
  let text = '';
  if (m.text && m.text.trim()) text = visibleText(m.text) || m.text.trim();
  else if (m.html) text = visibleTextFromHtml(m.html);
  const references = h<string | string[]>('references');
  return {
    messageId: h<string>('message-id') ?? null,
    subject: h<string>('subject') ?? '',
    from: addressesOf(h<AddressObject>('from'))[0] ?? null,
    replyTo: addressesOf(h<AddressObject>('reply-to'))[0] ?? null,
    to: addressesOf(h<AddressObject | AddressObject[]>('to')),
    cc: addressesOf(h<AddressObject | AddressObject[]>('cc')),
    inReplyTo: h<string>('in-reply-to') ?? null,
    references: references ? ([] as string[]).concat(references) : [],
    headerLines: m.headerLines.map((l) => ({ key: l.key, line: l.line })),
    visibleText: text,
    html: m.html ? sanitizeHtml(newHtml(m.html), {
      allowedTags: sanitizeHtml.defaults.allowedTags.concat(['img']),
      allowedSchemes: ['http', 'https', 'mailto', 'cid'],
    }) : null,
    text: m.text ?? '',
    fullText: m.text && m.text.trim() ? m.text : m.html ? htmlToText(m.html) : '',
    attachments: m.attachments,
  };
}

/** An attachment's bytes, from memory or from its file (small ones only: bounce reports). */
export async function attachmentBytes(a: Attachment): Promise<Buffer> {
  if (a.content) return Buffer.from(a.content.buffer, a.content.byteOffset, a.content.byteLength);
  return readFile(a.path!);
}
