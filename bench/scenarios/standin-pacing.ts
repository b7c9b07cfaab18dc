import { figure, type Scenario } from '../lib/scenario.js';
import { pacedCall, pacer, startSlackStandIn, startTeamsStandIn } from '../lib/standins.js';
import { round } from '../lib/stats.js';

/*
 * Self-check of the rate-limited stand-ins with the reference paced client (bench/lib/standins.ts):
 * a client that honours Retry-After leaves no 429 unhonoured and uses most of the allowed rate.
 * The Slack/Teams outbound pacing scenario (500 ticket updates through the real notifiers) plugs
 * into the same stand-ins once those notifiers are merged; see docs/benchmarks.md.
 */

const SECONDS = 6;
const CHANNELS = 5;

export const standInPacingScenario: Scenario = {
  name: 'standin-pacing',
  description: `stand-ins enforce Slack/Teams limits; a Retry-After-honouring client over ${CHANNELS} channels for ${SECONDS} s`,
  async run(ctx) {
    const slack = await startSlackStandIn();
    const teams = await startTeamsStandIn();
    try {
      const started = Date.now();
      const until = started + SECONDS * 1000;
      // Slack: one sender per channel posting as fast as the stand-in lets it (1/s per channel).
      await Promise.all(Array.from({ length: CHANNELS }, async (_, c) => {
        while (Date.now() < until) {
          await pacedCall(`${slack.url}chat.postMessage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ channel: `C${c}`, text: 'update' }) });
        }
      }));
      const slackSeconds = (Date.now() - started) / 1000;
      const slackAllowed = CHANNELS * Math.floor(slackSeconds + 1); // one per second per channel, first call immediate
      const t0 = Date.now();
      // Teams: one conversation, 7 per second allowed; 3 seconds of sends paced ahead at that rate
      // (plus 429 handling as a safety net).
      // 150 ms = 6.7/s: a little margin so network jitter cannot bunch two calls into one window.
      const pace = pacer(150);
      while (Date.now() < t0 + 3000) {
        await pace();
        await pacedCall(`${teams.url}/v3/conversations/conv-1/activities`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'message', text: 'update' }) });
      }
      const teamsSeconds = (Date.now() - t0) / 1000;
      const teamsAllowed = Math.floor(7 * teamsSeconds) + 1; // 7 per second, the first call immediate
      ctx.log(`  slack: ${slack.stats.accepted} accepted, ${slack.stats.rejected} 429s; teams: ${teams.stats.accepted} accepted, ${teams.stats.rejected} 429s`);
      const S = 'standin-pacing';
      return [
        figure(S, 'slack postMessage: 429s not honoured', slack.stats.retryAfterIgnored, 'calls', { op: '<=', value: 0, label: 'no 429 left unhonoured' }),
        figure(S, 'slack postMessage: share of allowed rate used', round(slack.stats.accepted / slackAllowed, 3), 'ratio', { op: '>=', value: 0.9, label: '≥ 90 % of the allowed rate' }),
        figure(S, 'teams activities: 429s not honoured', teams.stats.retryAfterIgnored, 'calls', { op: '<=', value: 0, label: 'no 429 left unhonoured' }),
        figure(S, 'teams activities: share of allowed rate used', round(teams.stats.accepted / teamsAllowed, 3), 'ratio', { op: '>=', value: 0.9, label: '≥ 90 % of the allowed rate' },
          'paced ahead at one call per 150 ms; one 429 costs a whole Retry-After second'),
      ];
    } finally {
      await slack.close();
      await teams.close();
    }
  },
};
