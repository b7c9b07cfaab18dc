import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Schema, type Connection } from 'mongoose';
import { GridFSBucket, ObjectId, type Db } from 'mongodb';
import { isDuplicateKey } from '../store/models.js';
import { blobBucket, putFileInBucket, type FileBlobs } from './blob-file.js';

/*
 * The email bridge's own collections. Nothing here writes tickets or entries: those go through
 * the TicketService. FerretDB-safe: single-document updates, expiry by query.
 */

/** Per-ticket, per-recipient Reply-To tokens (support+TOKEN@domain). */
const replyTokenSchema = new Schema(
  {
    _id: { type: String, required: true },
    ticketNumber: { type: Number, required: true },
    email: { type: String, required: true },
    personId: { type: String, default: null },
    createdAt: { type: Date, default: () => new Date() },
  },
  { versionKey: false },
);
replyTokenSchema.index({ ticketNumber: 1, email: 1 }, { unique: true });

/** Every inbound message once (by Message-ID): duplicates and the outcome of each. */
const inboundSchema = new Schema(
  {
    _id: { type: String, required: true },
    state: { type: String, enum: ['processing', 'done'], required: true },
    status: { type: String, default: null },
    reason: { type: String, default: null },
    from: { type: String, default: null },
    subject: { type: String, default: null },
    ticketNumber: { type: Number, default: null },
    entryId: { type: String, default: null },
    rawId: { type: String, default: null },
    via: { type: String, default: null },
    /** The delivery processing this message, and its last sign of life (see InboundPipeline.ingest). */
    owner: { type: String, default: null },
    heartbeatAt: { type: Date, default: null },
    /** SPF/DKIM/DMARC verdicts from our MTA's Authentication-Results header. */
    auth: { type: Schema.Types.Mixed, default: null },
    at: { type: Date, required: true },
  },
  { versionKey: false },
);
inboundSchema.index({ at: -1 });

/** Every outbound mail per event and recipient: idempotency, rate limit, loop detection. */
const outboundSchema = new Schema(
  {
    _id: { type: String, required: true },
    messageId: { type: String, required: true },
    ticketNumber: { type: Number, required: true },
    email: { type: String, required: true },
    /** 'sending' while the mail is handed to the relay (an intent: see EmailNotifier.sendOne). */
    status: { type: String, enum: ['sending', 'sent', 'skipped', 'failed'], required: true },
    /** Attempts that reached the relay hand-over; above 1 the mail may have gone out more than once. */
    attempt: { type: Number, default: 1 },
    reason: { type: String, default: null },
    /** The rendered text of the mail, so a reply that quotes it can be recognised (thread-match.ts). */
    text: { type: String, default: null },
    at: { type: Date, required: true },
  },
  { versionKey: false },
);
outboundSchema.index({ messageId: 1 });
outboundSchema.index({ ticketNumber: 1, email: 1, at: -1 });

export function createMailModels(conn: Connection) {
  return {
    ReplyToken: conn.models.MailReplyToken ?? conn.model('MailReplyToken', replyTokenSchema, 'mail_reply_tokens'),
    Inbound: conn.models.MailInbound ?? conn.model('MailInbound', inboundSchema, 'mail_inbound'),
    Outbound: conn.models.MailOutbound ?? conn.model('MailOutbound', outboundSchema, 'mail_outbound'),
  };
}
export type MailModels = ReturnType<typeof createMailModels>;

export async function ensureMailIndexes(m: MailModels): Promise<void> {
  for (const model of Object.values(m)) await model.createIndexes();
}

/** Stored raw messages and attachments (GridFS: chunked, so nothing is capped at 16 MB). */
export class BlobStore implements FileBlobs {
  private readonly bucket: GridFSBucket;

  constructor(db: Db) {
    // 1 MB chunks, the bucket the portal serves attachments from (blob-file.ts).
    this.bucket = blobBucket(db, GridFSBucket);
  }

  async put(data: Buffer, filename: string, contentType: string, metadata: Record<string, unknown> = {}): Promise<string> {
    const id = new ObjectId();
    const upload = this.bucket.openUploadStreamWithId(id, filename, { metadata: { ...metadata, contentType } });
    await pipeline(Readable.from([data]), upload);
    return String(id);
  }

  /** Streams a file into GridFS (read 256 KB at a time: never the whole file in memory). */
  putFile(file: string, filename: string, contentType: string, metadata: Record<string, unknown> = {}): Promise<string> {
    return putFileInBucket(this.bucket, file, filename, contentType, metadata);
  }

  async get(id: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of this.bucket.openDownloadStream(new ObjectId(id))) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }
}

export class ReplyTokens {
  constructor(private readonly m: MailModels) {}

  /** The recipient's token for this ticket (created once; unguessable: 96 random bits). */
  async tokenFor(ticketNumber: number, email: string, personId: string | null): Promise<string> {
    const existing = await this.m.ReplyToken.findOne({ ticketNumber, email }).lean();
    if (existing) return existing._id;
    const token = randomBytes(12).toString('base64url').replace(/[-_]/g, 'x').toLowerCase();
    try {
      await this.m.ReplyToken.create({ _id: token, ticketNumber, email, personId });
      return token;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      const again = await this.m.ReplyToken.findOne({ ticketNumber, email }).lean();
      if (!again) throw err;
      return again._id;
    }
  }

  async lookup(token: string): Promise<{ ticketNumber: number; email: string } | null> {
    const t = await this.m.ReplyToken.findById(token.toLowerCase()).lean();
    return t ? { ticketNumber: t.ticketNumber, email: t.email } : null;
  }
}

export const mailDb = (conn: Connection) => conn.db as unknown as Db;
