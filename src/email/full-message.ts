import { simpleParser } from 'mailparser';
import sanitizeHtml from 'sanitize-html';
import type { AppContext } from '../app.js';
import { DeskbridgeError, notFound } from '../domain/errors.js';
import { htmlToText } from './reply-text.js';
import type { BlobStore } from './store.js';

/** The whole message behind an emailed entry: what stripping left out (quotes, signature) included. */
export interface FullMessage {
  entryId: string;
  ticketNumber: number;
  messageId: string | null;
  subject: string;
  from: string | null;
  date: Date | null;
  /** The visible text the entry shows. */
  visibleText: string;
  /** The full text as received, quotes and signature included. */
  text: string;
  /** The full HTML, sanitised for display (null for plain-text mail). */
  html: string | null;
  attachments: { filename: string; contentType: string; size: number }[];
}

/** The stored raw message of an entry that came in by email. */
async function rawOf(ctx: AppContext, blobs: BlobStore, entryId: string): Promise<{ raw: Buffer; entry: NonNullable<Awaited<ReturnType<AppContext['service']['getEntry']>>> }> {
  if (!/^[0-9a-f]{24}$/i.test(entryId)) throw notFound(`entry ${entryId}`);
  const entry = await ctx.service.getEntry(entryId);
  if (!entry) throw notFound(`entry ${entryId}`);
  const rawId = (entry.external?.email as { rawId?: unknown } | undefined)?.rawId;
  if (typeof rawId !== 'string') throw new DeskbridgeError('NOT_FOUND', `entry ${entryId} did not come in by email: there is no stored message`);
  try {
    return { raw: await blobs.get(rawId), entry };
  } catch (err) {
    // The daily retention job removes raw mail after RETENTION_RAW_MAIL_DAYS; the entry's text stays.
    if (/FileNotFound/.test(String((err as Error)?.message))) {
      throw new DeskbridgeError('NOT_FOUND', `the original message of entry ${entryId} is no longer stored (raw mail is kept for RETENTION_RAW_MAIL_DAYS days); the entry's text is kept`);
    }
    throw err;
  }
}

export async function fullMessage(ctx: AppContext, blobs: BlobStore, entryId: string): Promise<FullMessage> {
  const { raw, entry } = await rawOf(ctx, blobs, entryId);
  const mail = await simpleParser(raw, { skipTextToHtml: true, skipImageLinks: true });
  const html = mail.html ? sanitizeHtml(mail.html, { allowedTags: sanitizeHtml.defaults.allowedTags.concat(['img']), allowedSchemes: ['http', 'https', 'mailto', 'cid'] }) : null;
  return {
    entryId: entry.id, ticketNumber: entry.ticketNumber, messageId: mail.messageId ?? null, subject: mail.subject ?? '',
    from: mail.from?.text ?? null, date: mail.date ?? null, visibleText: entry.text,
    text: mail.text && mail.text.trim() ? mail.text : mail.html ? htmlToText(mail.html) : '',
    html,
    attachments: (mail.attachments ?? []).map((a) => ({ filename: a.filename ?? 'attachment', contentType: a.contentType, size: a.size ?? a.content.length })),
  };
}

export async function rawMessage(ctx: AppContext, blobs: BlobStore, entryId: string): Promise<Buffer> {
  return (await rawOf(ctx, blobs, entryId)).raw;
}

/** GET /api/v1/entries/:id/full (JSON) and /raw (the .eml download), behind the API token. */
export function registerFullMessageRoutes(ctx: AppContext, blobs: BlobStore): void {
  ctx.api.get('/entries/:id/full', async (req, res) => {
    res.json(await fullMessage(ctx, blobs, String(req.params.id)));
  });
  ctx.api.get('/entries/:id/raw', async (req, res) => {
    const id = String(req.params.id);
    const raw = await rawMessage(ctx, blobs, id);
    res.setHeader('Content-Type', 'message/rfc822');
    res.setHeader('Content-Disposition', `attachment; filename="entry-${id}.eml"`);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.send(raw);
  });
}
