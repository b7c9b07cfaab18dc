import { createHash } from 'node:crypto';
import { ErrorCode, WebClient, type WebAPICallResult, type WebClientOptions } from '@slack/web-api';
import { RateLimiter, type RateKey, type RateWindow } from '../notify/rate-limit.js';

/**
 * Slack's published rate tiers (api.slack.com/apis/rate-limits; the method list with tiers is in
 * ../shared/contracts/slack/web-api-methods-and-tiers.json, and test/slack/pacing.test.ts checks
 * this table against it). Tiers are per workspace and method, per minute.
 */
export const TIER_PER_MINUTE = { Tier1: 1, Tier2: 20, Tier3: 50, Tier4: 100 } as const;

/** The methods the notifiers call, by tier. Others are not paced ahead (a 429 still holds them). */
export const NOTIFIER_METHOD_TIERS: Record<string, keyof typeof TIER_PER_MINUTE | 'SpecialTier_chat_postMessage'> = {
  'chat.update': 'Tier3',
  'chat.delete': 'Tier3',
  'chat.postMessage': 'SpecialTier_chat_postMessage',
  'conversations.open': 'Tier3',
  'conversations.history': 'Tier3',
  'conversations.replies': 'Tier3',
  'users.lookupByEmail': 'Tier3',
  'users.info': 'Tier4',
};

/** chat.postMessage: about one message per second per channel (short bursts tolerated, not relied on). */
const POST_MESSAGE_PER_CHANNEL: RateWindow[] = [{ max: 1, windowMs: 1000 }];

/** The buckets a call draws on: the workspace's method bucket, or the channel's for chat.postMessage. */
export function slackRateKeys(workspace: string, method: string, args: Record<string, unknown> | undefined): RateKey[] {
  const tier = NOTIFIER_METHOD_TIERS[method];
  if (!tier) return [];
  if (tier === 'SpecialTier_chat_postMessage') {
    const channel = typeof args?.channel === 'string' ? args.channel : '';
    return [{ key: `slack:${workspace}:chat.postMessage:${channel}`, windows: POST_MESSAGE_PER_CHANNEL }];
  }
  return [{ key: `slack:${workspace}:${method}`, windows: [{ max: TIER_PER_MINUTE[tier], windowMs: 60_000 }] }];
}

function retryAfterMsOf(err: unknown): number | undefined {
  const e = err as { code?: string; retryAfter?: number };
  // rejectRateLimitedCalls: the client hands the 429 to us with Retry-After in seconds.
  return e?.code === ErrorCode.RateLimitedError ? Math.max(1, e.retryAfter ?? 1) * 1000 : undefined;
}

/**
 * A Web API client whose calls wait for their workspace/method (or channel) allowance in the
 * process-wide limiter, and whose 429s hold that bucket until Retry-After.
 */
export class PacedWebClient extends WebClient {
  private readonly workspace: string;

  constructor(token: string, options: WebClientOptions, private readonly limiter: RateLimiter) {
    super(token, options);
    // The token stands for the workspace (one bot token per installation); only a digest is kept as key.
    this.workspace = createHash('sha1').update(token).digest('hex').slice(0, 12);
  }

  override async apiCall(method: string, options?: Record<string, unknown>): Promise<WebAPICallResult> {
    const keys = slackRateKeys(this.workspace, method, options);
    return this.limiter.run(keys, () => super.apiCall(method, options), retryAfterMsOf);
  }
}
