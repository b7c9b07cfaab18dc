import {
  CloudAdapter, ConfigurationBotFrameworkAuthentication, type Activity, type ChannelAccount, type ConversationReference, type TurnContext,
} from 'botbuilder';
import type { Config } from '../config/index.js';
import type { Logger } from '../logger.js';
import { PermanentDeliveryError, RetryLaterError } from '../notify/notifier.js';

/** Statuses the Bot Connector documents as "try again" (throttled, precondition, gateway). */
const RETRYABLE = new Set([408, 412, 429, 500, 502, 503, 504]);

export function createAdapter(config: Config, logger: Logger): CloudAdapter {
  const auth = new ConfigurationBotFrameworkAuthentication({
    MicrosoftAppId: config.MicrosoftAppId,
    MicrosoftAppPassword: config.MicrosoftAppPassword,
    MicrosoftAppType: config.MicrosoftAppType,
    MicrosoftAppTenantId: config.MicrosoftAppTenantId,
  });
  const adapter = new CloudAdapter(auth);
  adapter.onTurnError = async (context, err) => {
    logger.error({ err, type: context.activity.type }, 'teams turn failed');
  };
  return adapter;
}

function statusOf(err: unknown): number | undefined {
  const e = err as { statusCode?: number; status?: number; response?: { status?: number } };
  return e?.statusCode ?? e?.response?.status ?? e?.status;
}

function retryAfterMs(err: unknown): number {
  const headers = (err as { response?: { headers?: { get?(n: string): string | undefined } } })?.response?.headers;
  const raw = headers?.get?.('retry-after');
  const secs = raw ? Number(raw) : NaN;
  return Number.isFinite(secs) ? Math.max(0, secs * 1000) : 5_000;
}

/** Turns a connector failure into the delivery worker's language: retry later, or give up. */
export function deliveryError(err: unknown, what: string): Error {
  const status = statusOf(err);
  if (status !== undefined && RETRYABLE.has(status)) return new RetryLaterError(`${what}: Teams answered ${status}`, retryAfterMs(err));
  if (status !== undefined && status >= 400 && status < 500) return new PermanentDeliveryError(`${what}: Teams answered ${status}`);
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Proactive calls to the Bot Connector for one stored conversation reference: post, reply in a
 * thread, update in place, list members. Every call maps failures with deliveryError.
 */
export class TeamsSender {
  constructor(private readonly adapter: CloudAdapter, private readonly appId: string) {}

  private async within<T>(reference: Partial<ConversationReference>, what: string, fn: (ctx: TurnContext) => Promise<T>): Promise<T> {
    let result: T | undefined;
    try {
      // A stored reference must not carry an activity id: that would turn a post into a reply.
      const ref = { ...reference, activityId: undefined };
      await this.adapter.continueConversationAsync(this.appId, ref, async (ctx) => {
        result = await fn(ctx);
      });
    } catch (err) {
      throw deliveryError(err, what);
    }
    return result as T;
  }

  /** Posts a new message (a new thread in a channel); returns its activity id. */
  async post(reference: Partial<ConversationReference>, activity: Partial<Activity>): Promise<string> {
    return this.within(reference, 'post', async (ctx) => {
      const res = await ctx.sendActivity(activity);
      if (!res?.id) throw new Error('the connector returned no activity id');
      return res.id;
    });
  }

  /** Replies in the thread of rootActivityId. */
  async reply(reference: Partial<ConversationReference>, rootActivityId: string, activity: Partial<Activity>): Promise<string> {
    return this.within(reference, 'reply', async (ctx) => {
      const res = await ctx.sendActivity({ ...activity, replyToId: rootActivityId });
      if (!res?.id) throw new Error('the connector returned no activity id');
      return res.id;
    });
  }

  async update(reference: Partial<ConversationReference>, activityId: string, activity: Partial<Activity>): Promise<void> {
    await this.within(reference, 'update', async (ctx) => {
      await ctx.updateActivity({ ...activity, id: activityId, conversation: reference.conversation as never });
    });
  }

  async members(reference: Partial<ConversationReference>): Promise<ChannelAccount[]> {
    return this.within(reference, 'members', async (ctx) => {
      const client = ctx.turnState.get(this.adapter.ConnectorClientKey);
      return client.conversations.getConversationMembers(reference.conversation!.id);
    });
  }
}
