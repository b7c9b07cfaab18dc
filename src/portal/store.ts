import { createHash, randomBytes } from 'node:crypto';
import { Schema, Types, type Connection } from 'mongoose';
import { isDuplicateKey } from '../store/models.js';

/*
 * The portal's own collections: sign-in links, sessions and rate-limit windows. Secrets are kept
 * only as SHA-256 hashes, so a copy of the database signs nobody in. FerretDB has no TTL indexes:
 * every read checks expiresAt, and `purgeExpired` deletes old rows from a scheduled job.
 */

const signinLinkSchema = new Schema(
  {
    _id: { type: String }, // sha256(token), hex
    personId: { type: Schema.Types.ObjectId, required: true },
    /** Open this ticket after signing in (links in ticket emails). */
    ticketNumber: { type: Number, default: null },
    purpose: { type: String, enum: ['signin', 'email'], required: true },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
    usedAt: { type: Date, default: null },
  },
  { collection: 'portal_signin_links', versionKey: false },
);
signinLinkSchema.index({ expiresAt: 1 });

const sessionSchema = new Schema(
  {
    _id: { type: String }, // sha256(session cookie value), hex
    personId: { type: Schema.Types.ObjectId, required: true },
    /** Synchronizer token every form of this session must carry. */
    csrf: { type: String, required: true },
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'portal_sessions', versionKey: false },
);
sessionSchema.index({ expiresAt: 1 });

const rateWindowSchema = new Schema(
  {
    key: { type: String, required: true },
    windowStart: { type: Date, required: true },
    count: { type: Number, default: 0 },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'portal_rate_windows', versionKey: false },
);
rateWindowSchema.index({ key: 1, windowStart: 1 }, { unique: true });
rateWindowSchema.index({ expiresAt: 1 });

export function createPortalModels(conn: Connection) {
  return {
    SigninLink: conn.models.PortalSigninLink ?? conn.model('PortalSigninLink', signinLinkSchema),
    Session: conn.models.PortalSession ?? conn.model('PortalSession', sessionSchema),
    RateWindow: conn.models.PortalRateWindow ?? conn.model('PortalRateWindow', rateWindowSchema),
  };
}
export type PortalModels = ReturnType<typeof createPortalModels>;

export const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
/** 256 bits from the OS CSPRNG, URL-safe. */
export const randomToken = () => randomBytes(32).toString('base64url');
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export type Clock = () => Date;
const systemClock: Clock = () => new Date();

export interface RedeemedLink {
  personId: string;
  ticketNumber: number | null;
}

/** Single-use sign-in links. */
export class SigninLinks {
  constructor(private readonly models: PortalModels, private readonly now: Clock = systemClock) {}

  /** Returns the raw token; only its hash is stored. */
  async issue(personId: string, opts: { ttlMs: number; purpose: 'signin' | 'email'; ticketNumber?: number | null }): Promise<string> {
    const token = randomToken();
    const at = this.now();
    await this.models.SigninLink.create({
      _id: sha256(token), personId: new Types.ObjectId(personId), ticketNumber: opts.ticketNumber ?? null,
      purpose: opts.purpose, createdAt: at, expiresAt: new Date(at.getTime() + opts.ttlMs), usedAt: null,
    });
    return token;
  }

  /**
   * Marks the link used and returns whom it signs in, or null when unknown, expired or already
   * used. One atomic update: of two concurrent redemptions exactly one succeeds.
   */
  async redeem(token: string): Promise<RedeemedLink | null> {
    if (!TOKEN_SHAPE.test(token)) return null;
    const at = this.now();
    const doc = await this.models.SigninLink.findOneAndUpdate(
      { _id: sha256(token), usedAt: null, expiresAt: { $gt: at } },
      { $set: { usedAt: at } },
      { new: true },
    ).lean<{ personId: Types.ObjectId; ticketNumber: number | null }>();
    return doc ? { personId: String(doc.personId), ticketNumber: doc.ticketNumber ?? null } : null;
  }

  /** Whom a link (used or not) was for, so a signed-in user re-opening an old email link lands on the ticket. */
  async peek(token: string): Promise<RedeemedLink | null> {
    if (!TOKEN_SHAPE.test(token)) return null;
    const doc = await this.models.SigninLink.findById(sha256(token)).lean<{ personId: Types.ObjectId; ticketNumber: number | null }>();
    return doc ? { personId: String(doc.personId), ticketNumber: doc.ticketNumber ?? null } : null;
  }
}

export interface PortalSession {
  personId: string;
  csrf: string;
  expiresAt: Date;
}

/** Server-side sessions; the cookie holds a random id whose hash is the key. */
export class Sessions {
  constructor(private readonly models: PortalModels, private readonly now: Clock = systemClock) {}

  async create(personId: string, ttlMs: number): Promise<{ cookieValue: string; session: PortalSession }> {
    const cookieValue = randomToken();
    const at = this.now();
    const session = { personId, csrf: randomToken(), expiresAt: new Date(at.getTime() + ttlMs) };
    await this.models.Session.create({
      _id: sha256(cookieValue), personId: new Types.ObjectId(personId), csrf: session.csrf, createdAt: at, expiresAt: session.expiresAt,
    });
    return { cookieValue, session };
  }

  async get(cookieValue: string | undefined): Promise<PortalSession | null> {
    if (!cookieValue || !TOKEN_SHAPE.test(cookieValue)) return null;
    const doc = await this.models.Session.findOne({ _id: sha256(cookieValue), expiresAt: { $gt: this.now() } })
      .lean<{ personId: Types.ObjectId; csrf: string; expiresAt: Date }>();
    return doc ? { personId: String(doc.personId), csrf: doc.csrf, expiresAt: doc.expiresAt } : null;
  }

  async destroy(cookieValue: string | undefined): Promise<void> {
    if (!cookieValue || !TOKEN_SHAPE.test(cookieValue)) return;
    await this.models.Session.deleteOne({ _id: sha256(cookieValue) });
  }
}

/**
 * Fixed-window counters in the database, so a limit holds across every instance of the app.
 * One upsert with $inc per hit: atomic in one document.
 */
export class RateLimiter {
  constructor(private readonly models: PortalModels, private readonly now: Clock = systemClock) {}

  /** Counts a hit; false when the key has used up its `limit` in the current window. */
  async hit(key: string, limit: number, windowMs: number): Promise<boolean> {
    const at = this.now().getTime();
    const windowStart = new Date(at - (at % windowMs));
    const expiresAt = new Date(windowStart.getTime() + windowMs);
    const update = { $inc: { count: 1 }, $setOnInsert: { expiresAt } };
    let doc: { count: number } | null;
    try {
      doc = await this.models.RateWindow.findOneAndUpdate({ key, windowStart }, update, { upsert: true, new: true }).lean<{ count: number }>();
    } catch (err) {
      // Two first hits raced to insert the window; the loser increments the winner's row.
      if (!isDuplicateKey(err)) throw err;
      doc = await this.models.RateWindow.findOneAndUpdate({ key, windowStart }, update, { new: true }).lean<{ count: number }>();
    }
    return (doc?.count ?? 1) <= limit;
  }
}

/** Deletes expired links, sessions and rate windows (FerretDB has no TTL indexes). */
export async function purgeExpired(models: PortalModels, now: Date = new Date()): Promise<number> {
  const results = await Promise.all([
    models.SigninLink.deleteMany({ expiresAt: { $lt: now } }),
    models.Session.deleteMany({ expiresAt: { $lt: now } }),
    models.RateWindow.deleteMany({ expiresAt: { $lt: now } }),
  ]);
  return results.reduce((n, r) => n + (r.deletedCount ?? 0), 0);
}
