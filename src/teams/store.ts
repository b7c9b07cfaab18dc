import { Schema, type Connection, type Model } from 'mongoose';
import type { ConversationReference } from 'botbuilder';

/**
 * The Teams adapter's own collections. Conversation references are captured from incoming
 * activities (the only way to learn a channel's or user's serviceUrl); inbound activity ids are
 * kept to drop Teams' retries; `teams_sent` records every proactive message we created so a
 * replayed delivery never posts twice.
 */
export interface TeamsConversationDoc {
  _id: string;
  kind: 'channel' | 'personal' | 'groupChat';
  reference: Partial<ConversationReference>;
  /** personal scope: the person the 1:1 is with, and their open chat ticket. */
  personId: string | null;
  chatTicket: number | null;
  /** When the app was added here (conversationUpdate); the default tickets channel is the latest. */
  installedAt: Date | null;
  /** channel scope: the team's Microsoft 365 group id (channelData.team.aadGroupId), Graph's team id. */
  teamAadGroupId?: string | null;
  updatedAt: Date;
}

export interface TeamsInboundDoc { _id: string; at: Date }
/** `posting` (with the attempt number) while the message is being sent; `activityId` once it is. */
export interface TeamsSentDoc { _id: string; activityId?: string; at: Date; posting?: boolean; attempt?: number; since?: Date; foundWithGraph?: boolean }

export interface TeamsModels {
  Conversation: Model<TeamsConversationDoc>;
  Inbound: Model<TeamsInboundDoc>;
  Sent: Model<TeamsSentDoc>;
}

export function teamsModels(connection: Connection): TeamsModels {
  const conversation = new Schema<TeamsConversationDoc>(
    {
      _id: String,
      kind: { type: String, enum: ['channel', 'personal', 'groupChat'], required: true },
      reference: { type: Schema.Types.Mixed, required: true },
      personId: { type: String, default: null },
      chatTicket: { type: Number, default: null },
      installedAt: { type: Date, default: null },
      teamAadGroupId: { type: String, default: null },
      updatedAt: { type: Date, default: () => new Date() },
    },
    { minimize: false, versionKey: false },
  );
  conversation.index({ kind: 1, installedAt: -1 });
  conversation.index({ personId: 1 });
  const inbound = new Schema<TeamsInboundDoc>({ _id: String, at: Date }, { versionKey: false });
  inbound.index({ at: 1 });
  const sent = new Schema<TeamsSentDoc>({ _id: String, activityId: String, at: Date, posting: Boolean, attempt: Number, since: Date, foundWithGraph: Boolean }, { versionKey: false });
  const get = <T>(name: string, schema: Schema<T>, collection: string): Model<T> =>
    (connection.models[name] as Model<T> | undefined) ?? connection.model<T>(name, schema, collection);
  return {
    Conversation: get('TeamsConversation', conversation, 'teams_conversations'),
    Inbound: get('TeamsInbound', inbound, 'teams_inbound'),
    Sent: get('TeamsSent', sent, 'teams_sent'),
  };
}

/** True the first time an activity id is seen; Teams retries invokes it got no answer to in ~5 s. */
export async function firstSighting(models: TeamsModels, activityId: string): Promise<boolean> {
  try {
    await models.Inbound.create({ _id: activityId, at: new Date() });
    return true;
  } catch (err) {
    if ((err as { code?: number }).code === 11000) return false;
    throw err;
  }
}
