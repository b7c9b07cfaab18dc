import { Schema, type Connection } from 'mongoose';
import { createPortalModels, randomToken, sha256 } from '../portal/store.js';

/*
 * The console's collections: sign-in links, sessions and rate rows are the portal's classes over
 * console_* collections (createPortalModels(conn, 'console')); the one-time setup link that
 * creates the first administrator is the console's own. Only hashes of secrets are stored.
 */

const setupLinkSchema = new Schema(
  {
    _id: { type: String }, // sha256(token), hex
    createdAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
    usedAt: { type: Date, default: null },
  },
  { collection: 'console_setup_links', versionKey: false },
);
setupLinkSchema.index({ expiresAt: 1 }, { expireAfterSeconds: 0 });

export function createConsoleModels(conn: Connection) {
  return {
    ...createPortalModels(conn, 'console'),
    SetupLink: conn.models.ConsoleSetupLink ?? conn.model('ConsoleSetupLink', setupLinkSchema),
  };
}
export type ConsoleModels = ReturnType<typeof createConsoleModels>;

export const SETUP_LINK_TTL_MS = 24 * 60 * 60_000;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** The first-run link: single use, 24 hours, stored hashed. */
export class SetupLinks {
  constructor(private readonly models: ConsoleModels, private readonly now: () => Date = () => new Date()) {}

  /** A new link; earlier unused ones stop working (only the link printed last is valid). */
  async issue(): Promise<string> {
    const token = randomToken();
    const at = this.now();
    await this.models.SetupLink.deleteMany({ usedAt: null });
    await this.models.SetupLink.create({ _id: sha256(token), createdAt: at, expiresAt: new Date(at.getTime() + SETUP_LINK_TTL_MS), usedAt: null });
    return token;
  }

  async isValid(token: string): Promise<boolean> {
    if (!TOKEN_SHAPE.test(token)) return false;
    return (await this.models.SetupLink.countDocuments({ _id: sha256(token), usedAt: null, expiresAt: { $gt: this.now() } })) === 1;
  }

  /** Uses the link up; of concurrent redemptions one wins (a single-document conditional update). */
  async redeem(token: string): Promise<boolean> {
    if (!TOKEN_SHAPE.test(token)) return false;
    const at = this.now();
    const res = await this.models.SetupLink.updateOne({ _id: sha256(token), usedAt: null, expiresAt: { $gt: at } }, { $set: { usedAt: at } });
    return res.modifiedCount === 1;
  }
}
