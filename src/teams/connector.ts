import {
  CloudAdapter, ConfigurationBotFrameworkAuthentication, type Activity, type ConversationReference,
} from 'botbuilder';
import type { ConnectorClient } from 'botframework-connector';
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
 * Paces proactive calls per conversation ahead of Teams' limits for bots (7 operations per second
 * and 60 per 30 seconds per conversation): calls are spaced evenly at the sustained rate, so the
 * 30-second window never fills, and after a 429 nothing goes to that conversation before its
 * Retry-After has passed. A wait longer than `maxWaitMs` is not slept in the delivery lane: the
 * caller gets RetryLaterError and the delivery worker retries later.
 */
export class ConversationPacer {
  private readonly nextAt = new Map<string, number>();

  constructor(private readonly intervalMs = Math.max(1000 / 7, 30_000 / 60), private readonly maxWaitMs = 10_000) {}

  /** Reserves the next slot of a conversation; resolves when the call may go. */
  async slot(conversationId: string, now = Date.now()): Promise<void> {
    const at = Math.max(now, this.nextAt.get(conversationId) ?? 0);
    if (at - now > this.maxWaitMs) throw new RetryLaterError(`teams: conversation paced for ${at - now} ms`, at - now);
    this.nextAt.set(conversationId, at + this.intervalMs);
    if (this.nextAt.size > 10_000) for (const [k, t] of this.nextAt) if (t < now) this.nextAt.delete(k);
    if (at > now) await new Promise((r) => setTimeout(r, at - now));
  }

  /** Teams answered 429 with this Retry-After: hold the conversation until it has passed. */
  blocked(conversationId: string, retryAfterMs: number, now = Date.now()): void {
    this.nextAt.set(conversationId, Math.max(this.nextAt.get(conversationId) ?? 0, now + retryAfterMs));
  }
}

/**
 * Proactive calls to the Bot Connector for one stored conversation reference: post, reply in a
 * thread, update in place. Every call maps failures with deliveryError.
 */
export class TeamsSender {
  constructor(private readonly adapter: CloudAdapter, private readonly appId: string, private readonly pacer = new ConversationPacer()) {}

  private async within<T>(reference: Partial<ConversationReference>, what: string, fn: (client: ConnectorClient, activityBase: Partial<Activity>) => Promise<T>): Promise<T> {
    const conversationId = reference.conversation?.id ?? '';
    await this.pacer.slot(conversationId);
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
    if (failure) {
      if (statusOf(failure) === 429) this.pacer.blocked(conversationId, retryAfterMs(failure));
      throw deliveryError(failure, what);
    }
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
