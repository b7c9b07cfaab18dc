import { createHash, randomBytes } from 'node:crypto';
import { Schema, Types, type Connection } from 'mongoose';
import { isDuplicateKey } from '../store/models.js';

/*
 * The portal's own collections: sign-in links, sessions and rate-limit windows. Secrets are kept
 * only as SHA-256 hashes, so a copy of the database signs nobody in. Expired rows are deleted by
 * the database (TTL indexes on `expiresAt`); as TTL runs about once a minute, every read still
 * checks expiresAt.
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
signinLinkSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

/**
 * Redemptions, keyed by the link's hash: a duplicate _id is refused by every engine, so inserting
 * this row is what makes a link single-use (kept from the FerretDB 1 days because it also leaves
 * a record of when each link was used, which a guarded update on the link would not).
 */
const signinLinkUseSchema = new Schema(
  {
    _id: { type: String },
    at: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'portal_signin_link_uses', versionKey: false },
);
signinLinkUseSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

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
sessionSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

/** One row per counted sign-in request: a sliding window (rows expire by TTL), not a fixed-window counter. */
const rateHitSchema = new Schema(
  {
    key: { type: String, required: true },
    at: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
  },
  { collection: 'portal_rate_hits', versionKey: false },
);
rateHitSchema.index({ key: 1, at: 1 });
rateHitSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

export function createPortalModels(conn: Connection) {
  return {
    SigninLink: conn.models.PortalSigninLink ?? conn.model('PortalSigninLink', signinLinkSchema),
    SigninLinkUse: conn.models.PortalSigninLinkUse ?? conn.model('PortalSigninLinkUse', signinLinkUseSchema),
    Session: conn.models.PortalSession ?? conn.model('PortalSession', sessionSchema),
    RateHit: conn.models.PortalRateHit ?? conn.model('PortalRateHit', rateHitSchema),
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
   * Uses the link up and returns whom it signs in, or null when unknown, expired or already used.
   * Of concurrent redemptions exactly one succeeds (the unique insert of its use).
   */
  async redeem(token: string): Promise<RedeemedLink | null> {
    if (!TOKEN_SHAPE.test(token)) return null;
    const at = this.now();
    const hash = sha256(token);
    const link = await this.models.SigninLink.findById(hash)
      .lean<{ personId: Types.ObjectId; ticketNumber: number | null; expiresAt: Date; usedAt: Date | null }>();
    if (!link || link.usedAt || link.expiresAt.getTime() <= at.getTime()) return null;
    try {
      await this.models.SigninLinkUse.create({ _id: hash, at, expiresAt: link.expiresAt });
    } catch (err) {
      if (isDuplicateKey(err)) return null;
      throw err;
    }
    // For readers of the links collection; the use row above is what enforces single use.
    await this.models.SigninLink.updateOne({ _id: hash }, { $set: { usedAt: at } });
    return { personId: String(link.personId), ticketNumber: link.ticketNumber ?? null };
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
 * Sliding-window limits kept in the database, so they hold across every instance of the app.
 * Each counted request is its own row: a request is allowed when, after inserting its row, the
 * window holds at most `limit` rows. Concurrent requests can only be refused too eagerly, never
 * let through beyond the limit. Requests refused before counting add no row, so a flood does not
 * grow the collection.
 */
export class RateLimiter {
  constructor(private readonly models: PortalModels, private readonly now: Clock = systemClock) {}

  /** Counts a hit; false when the key has used up its `limit` within the last `windowMs`. */
  async hit(key: string, limit: number, windowMs: number): Promise<boolean> {
    const at = this.now();
    const inWindow = { key, at: { $gt: new Date(at.getTime() - windowMs) } };
    if ((await this.models.RateHit.countDocuments(inWindow)) >= limit) return false;
    await this.models.RateHit.create({ key, at, expiresAt: new Date(at.getTime() + windowMs) });
    return (await this.models.RateHit.countDocuments(inWindow)) <= limit;
  }
}

/** Deletes expired links, sessions and rate-limit rows now (the TTL indexes do it within a minute anyway). */
export async function purgeExpired(models: PortalModels, now: Date = new Date()): Promise<number> {
  const results = await Promise.all([
    models.SigninLink.deleteMany({ expiresAt: { $lt: now } }),
    models.SigninLinkUse.deleteMany({ expiresAt: { $lt: now } }),
    models.Session.deleteMany({ expiresAt: { $lt: now } }),
    models.RateHit.deleteMany({ expiresAt: { $lt: now } }),
  ]);
  return results.reduce((n, r) => n + (r.deletedCount ?? 0), 0);
}
