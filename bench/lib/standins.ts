import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import path from 'node:path';
import type { RateKey, RateLimiter } from '../../src/notify/rate-limit.js';
import { repoRoot } from './service-process.js';

/*
 * Local HTTP stand-ins for the Slack Web API and the Bot Framework connector (Teams) that enforce
 * the platforms' published rate limits and answer 429 + Retry-After like the real ones. For the
 * outbound pacing scenario (and adapter tests): point SLACK_API_URL / the Teams service URL here.
 *
 * Slack: each method's tier comes from the published tier list in
 * ../shared/contracts/slack/web-api-methods-and-tiers.json; chat.postMessage has its special limit
 * of about one message per second per channel, other tiers are per minute per workspace
 * (Tier 1: 1, Tier 2: 20, Tier 3: 50, Tier 4: 100). Teams: per conversation 7 operations per
 * second and 60 per 30 seconds (Bot Framework's per-thread limits for bots).
 *
 * The stand-in records what a pacing client must get right: accepted calls, 429s, and calls made
 * to a key before its Retry-After had passed (an unhonoured 429).
 */

export interface Limit { max: number; windowMs: number }

export interface StandInStats {
  accepted: number;
  rejected: number;
  /** Calls made to a key while a Retry-After it was given had not yet passed. */
  retryAfterIgnored: number;
  perKey: Record<string, { accepted: number; rejected: number; firstAt: number; lastAt: number }>;
  /** Accepted calls, in order (for coalescing checks): key, method, body. */
  calls: { at: number; key: string; method: string; body: unknown }[];
}

export interface StandIn {
  url: string;
  stats: StandInStats;
  close(): Promise<void>;
}

/** A sliding-window limiter per key with several windows (all must allow the call). */
export class SlidingWindowLimiter {
  private readonly hits = new Map<string, number[]>();
  constructor(private readonly limits: Limit[]) {}

  /** 0 when the call is allowed (and recorded), else milliseconds until it would be. */
  take(key: string, now = Date.now()): number {
    const longest = Math.max(...this.limits.map((l) => l.windowMs));
    const list = (this.hits.get(key) ?? []).filter((t) => t > now - longest);
    let wait = 0;
    for (const l of this.limits) {
      const inWindow = list.filter((t) => t > now - l.windowMs);
      if (inWindow.length >= l.max) wait = Math.max(wait, inWindow[inWindow.length - l.max]! + l.windowMs - now);
    }
    if (wait === 0) list.push(now);
    this.hits.set(key, list);
    return wait;
  }
}

const TIER_PER_MINUTE: Record<string, number> = { Tier1: 1, Tier2: 20, Tier3: 50, Tier4: 100 };

/** The published limit of a Slack Web API method, from the contracts' tier list. */
export function slackLimitFor(method: string, contractsDir = defaultContractsDir()): { limits: Limit[]; perChannel: boolean; tier: string } {
  const file = JSON.parse(readFileSync(path.join(contractsDir, 'slack/web-api-methods-and-tiers.json'), 'utf8')) as { methods: { name: string; tier: string | null }[] };
  const tier = file.methods.find((m) => m.name === method)?.tier ?? 'Tier3';
  if (tier === 'SpecialTier_chat_postMessage') return { limits: [{ max: 1, windowMs: 1000 }], perChannel: true, tier };
  return { limits: [{ max: TIER_PER_MINUTE[tier] ?? 50, windowMs: 60_000 }], perChannel: false, tier };
}

export const TEAMS_LIMITS: Limit[] = [{ max: 7, windowMs: 1000 }, { max: 60, windowMs: 30_000 }];

export function defaultContractsDir(): string {
  // Nothing else reads process.env in the app; the bench harness is a tool outside the app.
  return path.join(process.env.DESKBRIDGE_SHARED_DIR ?? path.resolve(repoRoot, '../shared'), 'contracts');
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks).toString('utf8');
  if (!raw) return {};
  if ((req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
  try { return JSON.parse(raw); } catch { return raw; }
}

function emptyStats(): StandInStats {
  return { accepted: 0, rejected: 0, retryAfterIgnored: 0, perKey: {}, calls: [] };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
}

/** Shared bookkeeping: limit, 429 with Retry-After (whole seconds, as both platforms send). */
function gate(stats: StandInStats, blockedUntil: Map<string, number>) {
  return (key: string, limiter: SlidingWindowLimiter, method: string, body: unknown): { ok: true } | { ok: false; retryAfterS: number } => {
    const now = Date.now();
    if ((blockedUntil.get(key) ?? 0) > now) stats.retryAfterIgnored++;
    const per = (stats.perKey[key] ??= { accepted: 0, rejected: 0, firstAt: now, lastAt: now });
    const wait = limiter.take(key, now);
    if (wait > 0) {
      const retryAfterS = Math.max(1, Math.ceil(wait / 1000));
      blockedUntil.set(key, now + retryAfterS * 1000);
      stats.rejected++;
      per.rejected++;
      return { ok: false, retryAfterS };
    }
    stats.accepted++;
    per.accepted++;
    per.lastAt = now;
    stats.calls.push({ at: now, key, method, body });
    return { ok: true };
  };
}

/** Slack Web API stand-in: POST /api/<method>; answers like Slack ({ok, ts...} or 429 ratelimited). */
export async function startSlackStandIn(opts: { contractsDir?: string } = {}): Promise<StandIn> {
  const stats = emptyStats();
  const blocked = new Map<string, number>();
  const check = gate(stats, blocked);
  const limiters = new Map<string, { limiter: SlidingWindowLimiter; perChannel: boolean }>();
  let ts = 1_700_000_000;
  const server = createServer(async (req, res) => {
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0]!;
    const body = (await readBody(req)) as Record<string, unknown>;
    if (!limiters.has(method)) {
      const l = slackLimitFor(method, opts.contractsDir);
      limiters.set(method, { limiter: new SlidingWindowLimiter(l.limits), perChannel: l.perChannel });
    }
    const { limiter, perChannel } = limiters.get(method)!;
    const channel = typeof body.channel === 'string' ? body.channel : '';
    if (method.startsWith('chat.') && !channel) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: false, error: 'channel_not_found' }));
      return;
    }
    const key = perChannel ? `${method}:${channel}` : method;
    const verdict = check(key, limiter, method, body);
    if (!verdict.ok) {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(verdict.retryAfterS) }).end(JSON.stringify({ ok: false, error: 'ratelimited' }));
      return;
    }
    const messageTs = method === 'chat.update' && typeof body.ts === 'string' ? body.ts : `${ts++}.000100`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, channel, ts: messageTs }));
  });
  const url = await listen(server);
  return { url: `${url}/api/`, stats, close: () => new Promise((r) => server.close(() => r())) };
}

/** Bot Framework connector stand-in: POST/PUT /v3/conversations/:id/activities[/:activityId]. */
export async function startTeamsStandIn(): Promise<StandIn> {
  const stats = emptyStats();
  const blocked = new Map<string, number>();
  const check = gate(stats, blocked);
  const limiter = new SlidingWindowLimiter(TEAMS_LIMITS);
  let id = 0;
  const server = createServer(async (req, res) => {
    const m = /^\/v3\/conversations\/([^/]+)\/activities(?:\/([^/?]+))?/.exec(req.url ?? '');
    const body = await readBody(req);
    if (!m || !['POST', 'PUT'].includes(req.method ?? '')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'NotFound', message: 'no such route' } }));
      return;
    }
    const conversation = decodeURIComponent(m[1]!);
    const verdict = check(`conversation:${conversation}`, limiter, `${req.method} activities`, body);
    if (!verdict.ok) {
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(verdict.retryAfterS) })
        .end(JSON.stringify({ error: { code: 'TooManyRequests', message: 'rate limited' } }));
      return;
    }
    res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: m[2] ?? `activity-${++id}` }));
  });
  const url = await listen(server);
  return { url, stats, close: () => new Promise((r) => server.close(() => r())) };
}

/**
 * The reference client: calls paced by the app's own limiter (src/notify/rate-limit.ts) with the
 * stand-in's limits, honouring 429 + Retry-After. It is the yardstick the stand-ins are checked
 * with and the same code the real Slack/Teams notifiers pace with. A call that cannot get a slot
 * within the limiter's wait is retried after it (as the delivery worker does).
 */
export async function limitedCall(limiter: RateLimiter, keys: RateKey[], url: string, init: RequestInit, maxAttempts = 20): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await limiter.run(keys, async () => {
        const res = await fetch(url, init);
        if (res.status === 429 && attempt < maxAttempts) {
          const wait = Number(res.headers.get('retry-after') ?? '1');
          await res.arrayBuffer();
          throw Object.assign(new Error('429'), { retryAfterMs: Math.max(1, wait) * 1000 });
        }
        return res;
      }, (err) => (err as { retryAfterMs?: number }).retryAfterMs);
    } catch (err) {
      const wait = (err as { retryAfterMs?: number }).retryAfterMs;
      if (wait === undefined) throw err;
      await new Promise((r) => setTimeout(r, Math.min(wait, 1000)));
    }
  }
}

/**
 * The most calls a sliding-window limit accepts over `spanMs` from an idle start (the whole
 * allowance at once, then again each time a window has passed): the allowance a pacing figure is
 * measured against.
 */
export function slidingAllowance(limits: Limit[], spanMs: number): number {
  return Math.min(...limits.map((l) => l.max * (Math.floor(spanMs / l.windowMs) + 1)));
}

/**
 * The share of a limit (`max` per `windowMs`) used while work was queued: calls in the whole
 * windows from the first call that ended before the last call, against `max` per window. The final
 * partial window, where the queue ran dry, is left out (it shows how much work was left, not the
 * pacing), and so is any window in which `queuedThroughout` says the queue ran empty. Null when
 * no window is left (the limit never held anything back).
 */
export function wholeWindowShare(times: number[], max: number, windowMs: number, queuedThroughout: (start: number, end: number) => boolean = () => true): { share: number; calls: number; allowed: number; windows: number } | null {
  const sorted = [...times].sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const first = sorted[0]!;
  const whole = Math.floor((sorted.at(-1)! - first) / windowMs);
  let windows = 0;
  let calls = 0;
  for (let w = 0; w < whole; w++) {
    const start = first + w * windowMs;
    const end = start + windowMs;
    // A window where the queue was empty for a while says nothing about pacing.
    if (!queuedThroughout(start, end)) continue;
    windows++;
    calls += sorted.filter((t) => t >= start && t < end).length;
  }
  if (windows === 0) return null;
  return { share: calls / (max * windows), calls, allowed: max * windows, windows };
}
