import {
  CloudAdapter, ConfigurationBotFrameworkAuthentication, type Activity, type ConversationReference,
} from 'botbuilder';
import type { ConnectorClient } from 'botframework-connector';
import type { Config } from '../config/index.js';
import type { Logger } from '../logger.js';
import { PermanentDeliveryError, RetryLaterError } from '../notify/notifier.js';
import { isPaced, RateLimiter, type RateKey, type RateWindow } from '../notify/rate-limit.js';

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
    // Someone wrote to us and got nothing: say so rather than stay silent.
    if (context.activity.type === 'message') {
      await context.sendActivity('Sorry, something went wrong on our side. Please try again in a moment.').catch(() => undefined);
    }
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
 * The connector client retries 429/5xx itself, with sleeps of up to a minute inside one call. For
 * proactive sends the delivery worker retries instead (persisted, honouring Retry-After, without
 * holding up other deliveries), so that in-process retry policy is removed.
 */
function withoutInternalRetries(client: ConnectorClient): void {
  const pipeline = (client as unknown as { client?: { pipeline?: { removePolicy(p: { name: string }): unknown } } }).client?.pipeline;
  pipeline?.removePolicy({ name: 'defaultRetryPolicy' });
}

/**
 * Teams' limits for bots (learn.microsoft.com/microsoftteams/platform/bots/how-to/rate-limit): per
 * bot per conversation ("thread") 7 operations per second and 60 per 30 seconds; per app 50
 * requests per second across all conversations. Every proactive call draws on its conversation's
 * bucket and the app's, in the process-wide limiter.
 */
export const TEAMS_CONVERSATION_LIMITS: RateWindow[] = [{ max: 7, windowMs: 1000 }, { max: 60, windowMs: 30_000 }];
export const TEAMS_APP_LIMITS: RateWindow[] = [{ max: 50, windowMs: 1000 }];

export function teamsRateKeys(appId: string, conversationId: string): RateKey[] {
  return [
    { key: `teams:${appId}:conversation:${conversationId}`, windows: TEAMS_CONVERSATION_LIMITS },
    { key: `teams:${appId}:app`, windows: TEAMS_APP_LIMITS },
  ];
}

/**
 * Proactive calls to the Bot Connector for one stored conversation reference: post, reply in a
 * thread, update in place. Every call maps failures with deliveryError.
 */
export class TeamsSender {
  constructor(private readonly adapter: CloudAdapter, private readonly appId: string, readonly limiter = new RateLimiter()) {}

  private async within<T>(reference: Partial<ConversationReference>, what: string, fn: (client: ConnectorClient, activityBase: Partial<Activity>) => Promise<T>): Promise<T> {
    const keys = teamsRateKeys(this.appId, reference.conversation?.id ?? '');
    try {
      return await this.limiter.run(keys, () => this.call(reference, fn), (err) => (statusOf(err) === 429 ? retryAfterMs(err) : undefined));
    } catch (err) {
      // Waiting for the allowance is the worker's business (PacedError); the rest in its language.
      if (isPaced(err)) throw err;
      throw deliveryError(err, what);
    }
  }

  /** One connector call in the conversation's turn context; throws the connector's own error. */
  private async call<T>(reference: Partial<ConversationReference>, fn: (client: ConnectorClient, activityBase: Partial<Activity>) => Promise<T>): Promise<T> {
    let result: T | undefined;
    let failure: unknown = null;
    try {
      await this.adapter.continueConversationAsync(this.appId, { ...reference, activityId: undefined }, async (ctx) => {
        // Errors are caught here: the adapter would hand them to onTurnError and swallow them.
        try {
          const client: ConnectorClient = ctx.turnState.get(this.adapter.ConnectorClientKey);
          withoutInternalRetries(client);
          const base: Partial<Activity> = {
            channelId: reference.channelId ?? 'msteams', serviceUrl: reference.serviceUrl,
            conversation: reference.conversation as Activity['conversation'], from: reference.bot as Activity['from'],
          };
          result = await fn(client, base);
        } catch (err) {
          failure = err;
        }
      });
    } catch (err) {
      failure = err;
    }
    if (failure) throw failure;
    return result as T;
  }

  /** Posts a new message (a new thread in a channel); returns its activity id. */
  async post(reference: Partial<ConversationReference>, activity: Partial<Activity>): Promise<string> {
    return this.within(reference, 'post', async (client, base) => {
      const res = await client.conversations.sendToConversation(reference.conversation!.id, { ...base, ...activity } as Activity);
      if (!res?.id) throw new Error('the connector returned no activity id');
      return res.id;
    });
  }

  /** Replies in the thread of rootActivityId. */
  async reply(reference: Partial<ConversationReference>, rootActivityId: string, activity: Partial<Activity>): Promise<string> {
    return this.within(reference, 'reply', async (client, base) => {
      const res = await client.conversations.replyToActivity(reference.conversation!.id, rootActivityId, { ...base, ...activity, replyToId: rootActivityId } as Activity);
      if (!res?.id) throw new Error('the connector returned no activity id');
      return res.id;
    });
  }

  async update(reference: Partial<ConversationReference>, activityId: string, activity: Partial<Activity>): Promise<void> {
    await this.within(reference, 'update', async (client, base) => {
      await client.conversations.updateActivity(reference.conversation!.id, activityId, { ...base, ...activity, id: activityId } as Activity);
    });
  }
}
