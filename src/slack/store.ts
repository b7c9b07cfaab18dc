import { Schema, type Connection } from 'mongoose';

/**
 * Slack's own collections: processed event ids (retries are processed once, across restarts) and
 * thread replies held for the undo window (a restart neither loses nor double-sends them).
 */
export interface SlackEventDoc {
  _id: string; at: Date;
  /** Processing state of the recorded event (see event-log.ts); body kept until done. */
  state?: 'processing' | 'done' | 'failed' | 'gave_up'; attempts?: number; lockedUntil?: Date; nextAttemptAt?: Date;
  lastError?: string | null; body?: string | null;
}
export interface HeldMessageDoc {
  _id: string;
  ticketNumber: number;
  channel: string;
  threadTs: string;
  userId: string;
  personId: string;
  text: string;
  sendAt: Date;
  state: 'held' | 'sending' | 'sent' | 'undone' | 'noted';
  sendingSince?: Date | null;
  entryId: string | null;
  createdAt: Date;
}

/** One workspace's (or org's) installation from the OAuth flow, as @slack/oauth hands it over. */
export interface InstallationDoc { _id: string; installation: Record<string, unknown>; at: Date }

/** An end user's first DM, kept until they accept the offer to open a chat ticket (once). */
export interface DmOfferDoc { _id: string; text: string; used: boolean; at: Date }

export function slackModels(conn: Connection) {
  const SlackEvent = conn.models.SlackEvent ?? conn.model('SlackEvent', new Schema<SlackEventDoc>({ _id: String, at: Date, state: String, attempts: Number, lockedUntil: Date, nextAttemptAt: Date, lastError: String, body: String }, { collection: 'slack_events', versionKey: false }));
  const HeldMessage = conn.models.SlackHeldMessage ?? conn.model('SlackHeldMessage', new Schema<HeldMessageDoc>({
    _id: String, ticketNumber: Number, channel: String, threadTs: String, userId: String, personId: String, text: String,
    sendAt: { type: Date, index: true }, state: { type: String, index: true }, sendingSince: { type: Date, default: null }, entryId: { type: String, default: null }, createdAt: Date,
  }, { collection: 'slack_held_messages', versionKey: false }));
  const DmOffer = conn.models.SlackDmOffer ?? conn.model('SlackDmOffer', new Schema<DmOfferDoc>({ _id: String, text: String, used: Boolean, at: Date }, { collection: 'slack_dm_offers', versionKey: false }));
  const Installation = conn.models.SlackInstallation ?? conn.model('SlackInstallation', new Schema<InstallationDoc>({ _id: String, installation: Schema.Types.Mixed, at: Date }, { collection: 'slack_installations', versionKey: false, minimize: false }));
  return { SlackEvent, HeldMessage, DmOffer, Installation } as {
    Installation: import('mongoose').Model<InstallationDoc>;
    DmOffer: import('mongoose').Model<DmOfferDoc>;
    SlackEvent: import('mongoose').Model<SlackEventDoc>;
    HeldMessage: import('mongoose').Model<HeldMessageDoc>;
  };
}
export type SlackModels = ReturnType<typeof slackModels>;

/** Slack retries for about an hour; a day of event ids is plenty. Finished held replies and offers go after a week. */
export async function expireSlackRecords(models: SlackModels, now = new Date()): Promise<void> {
  await models.SlackEvent.deleteMany({ at: { $lt: new Date(now.getTime() - 24 * 3600_000) } });
  const week = new Date(now.getTime() - 7 * 24 * 3600_000);
  await models.HeldMessage.deleteMany({ state: { $in: ['sent', 'undone', 'noted'] }, createdAt: { $lt: week } });
  await models.DmOffer.deleteMany({ at: { $lt: week } });
}
