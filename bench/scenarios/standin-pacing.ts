import { RateLimiter } from '../../src/notify/rate-limit.js';
import { figure, type Scenario } from '../lib/scenario.js';
import { limitedCall, slackLimitFor, startSlackStandIn, startTeamsStandIn, TEAMS_LIMITS, wholeWindowShare, type Limit, type StandInStats } from '../lib/standins.js';
import { round } from '../lib/stats.js';

/*
 * Self-check of the rate-limited stand-ins with the reference client (bench/lib/standins.ts
 * limitedCall: the app's own limiter, src/notify/rate-limit.ts, given the stand-in's limits): a
 * client that paces by the published windows and honours Retry-After leaves no 429 unhonoured and
 * uses the whole allowance while it has work: calls in each key's whole windows (the tightest
 * window: 1 s for both) against the window's allowance, the same measure as outbound-pacing.
 */

const SECONDS = 6;
const CHANNELS = 5;
/** Senders per key: work is always queued, as in a burst. */
const SENDERS = 3;

/**
 * Accepted calls against the allowance, summed over keys, in the whole windows of the tightest
 * limit (the final partial window, where the senders stopped, is left out: wholeWindowShare).
 */
function share(stats: StandInStats, limits: Limit[]): { accepted: number; allowed: number } {
  const tightest = [...limits].sort((a, b) => a.windowMs - b.windowMs)[0]!;
  let accepted = 0;
  let allowed = 0;
  for (const key of Object.keys(stats.perKey)) {
    const used = wholeWindowShare(stats.calls.filter((c) => c.key === key).map((c) => c.at), tightest.max, tightest.windowMs);
    if (!used) continue;
    accepted += used.calls;
    allowed += used.allowed;
  }
  return { accepted, allowed };
}

export const standInPacingScenario: Scenario = {
  name: 'standin-pacing',
  description: `stand-ins enforce Slack/Teams limits; the reference client (the app's limiter) over ${CHANNELS} Slack channels and one Teams conversation for ${SECONDS} s each`,
  async run(ctx) {
    const slack = await startSlackStandIn();
    const teams = await startTeamsStandIn();
    try {
      const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const slackLimits = slackLimitFor('chat.postMessage').limits;
      const slackLimiter = new RateLimiter();
      let until = Date.now() + SECONDS * 1000;
      await Promise.all(Array.from({ length: CHANNELS * SENDERS }, async (_, i) => {
        const channel = `C${i % CHANNELS}`;
        while (Date.now() < until) {
          await limitedCall(slackLimiter, [{ key: channel, windows: slackLimits }], `${slack.url}chat.postMessage`, json({ channel, text: 'update' }));
        }
      }));
      const teamsLimiter = new RateLimiter();
      until = Date.now() + SECONDS * 1000;
      await Promise.all(Array.from({ length: SENDERS }, async () => {
        while (Date.now() < until) {
          await limitedCall(teamsLimiter, [{ key: 'conv-1', windows: TEAMS_LIMITS }], `${teams.url}/v3/conversations/conv-1/activities`, json({ type: 'message', text: 'update' }));
        }
      }));
      const s = share(slack.stats, slackLimits);
      const t = share(teams.stats, TEAMS_LIMITS);
      ctx.log(`  slack: ${s.accepted} accepted of ${s.allowed} allowed in whole windows, ${slack.stats.rejected} 429s; teams: ${t.accepted} accepted of ${t.allowed} allowed, ${teams.stats.rejected} 429s`);
      const S = 'standin-pacing';
      return [
        figure(S, 'slack postMessage: 429s not honoured', slack.stats.retryAfterIgnored, 'calls', { op: '<=', value: 0, label: 'no 429 left unhonoured' }, `${slack.stats.rejected} 429s answered`),
        figure(S, 'slack postMessage: share of allowed rate used', round(s.accepted / s.allowed, 3), 'ratio', { op: '>=', value: 0.9, label: '≥ 90 % of the allowed rate' },
          `${s.accepted} calls, ${s.allowed} allowed (1/s per channel, ${CHANNELS} channels)`),
        figure(S, 'teams activities: 429s not honoured', teams.stats.retryAfterIgnored, 'calls', { op: '<=', value: 0, label: 'no 429 left unhonoured' }, `${teams.stats.rejected} 429s answered`),
        figure(S, 'teams activities: share of allowed rate used', round(t.accepted / t.allowed, 3), 'ratio', { op: '>=', value: 0.9, label: '≥ 90 % of the allowed rate' },
          `${t.accepted} calls, ${t.allowed} allowed (7/s, 60/30 s)`),
      ];
    } finally {
      await slack.close();
      await teams.close();
    }
  },
};
