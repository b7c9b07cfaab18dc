import { conversationUpdate, postActivity, teamsUser } from '../../test/teams/kit/activities.js';
import { figure, type BenchContext, type Figure, type Scenario } from '../lib/scenario.js';
import { startSlackStandIn, startTeamsStandIn, wholeWindowShare, type StandIn } from '../lib/standins.js';
import { sleep, waitFor, type ServiceProcess } from '../lib/service-process.js';
import { round } from '../lib/stats.js';

/*
 * Outbound pacing through the real Slack and Teams notifiers against stand-ins that enforce the
 * published limits (bench/lib/standins.ts): tickets of 5 customers routed to 5 Slack channels
 * (settings.extra.slackChannelRoutes) and to the Teams tickets channel, then a burst of ticket
 * updates (title changes) through the API. Measured: 429s left unhonoured, how many platform
 * updates the ticket updates became (coalescing), whether each card ends showing the final state,
 * and the share of the allowed rate used while updates were pending. Bounded by
 * BENCH_PACING_SECONDS (default 150) after the burst; BENCH_PACING_UPDATES (default 500);
 * BENCH_PACING_TICKETS_PER_CHANNEL (default 4).
 */

const S = 'outbound-pacing';
const CHANNELS = 5;
/**
 * Tickets per Slack channel (all of them also go to the one Teams channel). The default, 4, leaves
 * Teams' backlog shorter than its 30-s window; BENCH_PACING_TICKETS_PER_CHANNEL=20 (100 cards in one
 * Teams conversation) keeps it queued for whole windows, so Teams' share of its allowance is measured.
 */
const TICKETS_PER_CHANNEL = Number(process.env.BENCH_PACING_TICKETS_PER_CHANNEL ?? 4);

/** Deliveries still to do (pending) for a channel. */
const pending = (ctx: BenchContext, channel?: string) => ctx.db.collection('deliveries').countDocuments({ status: 'pending', ...(channel ? { channel } : {}) });

function mark(s: StandIn) {
  return { calls: s.stats.calls.length, accepted: s.stats.accepted, rejected: s.stats.rejected, ignored: s.stats.retryAfterIgnored };
}

/** Sliding-window allowance over `ms`: `max` at once, then `max` per window. */
const allowed = (max: number, windowMs: number, ms: number) => max * (Math.floor(ms / windowMs) + 1);

/** The share of the allowance used in the whole windows while work was queued (wholeWindowShare). */
function windowShare(scenario: string, name: string, calls: { at: number }[], max: number, windowMs: number, t0: number, queued: (start: number, end: number) => boolean): Figure {
  const times = calls.map((c) => c.at).filter((t) => t >= t0);
  const used = wholeWindowShare(times, max, windowMs, queued);
  if (!used) {
    return figure(scenario, name, round(times.length / max, 3), 'ratio', undefined,
      `${times.length} calls, no whole window of ${windowMs / 1000} s with deliveries queued throughout (${max} allowed per window): the limit held nothing back, so no target`);
  }
  return figure(scenario, name, round(used.share, 3), 'ratio', { op: '>=', value: 0.9, label: '≥ 90 %' },
    `${used.calls} calls in ${used.windows} whole window(s) of ${windowMs / 1000} s (${used.allowed} allowed) with deliveries queued throughout; ${times.length - used.calls} more calls outside them`);
}

export async function startChannelService(ctx: BenchContext, extraEnv: Record<string, string> = {}): Promise<{ svc: ServiceProcess; slack: StandIn; teams: StandIn }> {
  const slack = await startSlackStandIn();
  const teams = await startTeamsStandIn();
  const svc = await ctx.restartService({
    SLACK_BOT_TOKEN: 'xoxb-bench', SLACK_SIGNING_SECRET: 'bench-signing-secret', SLACK_API_URL: slack.url, SLACK_TICKETS_CHANNEL: 'C0',
    MAIL_RATE_LIMIT: '100000', INBOUND_SMTP_ENABLED: 'false', ...extraEnv,
  });
  const routes = Array.from({ length: CHANNELS }, (_, c) => ({ customer: `customer${c}`, channel: `C${c}` }));
  const settings = await svc.api('PUT', '/settings', { extra: { slackChannelRoutes: routes } });
  if (settings.status !== 200) throw new Error(`settings: ${settings.status} ${JSON.stringify(settings.body)}`);
  // The app is added to the Teams tickets channel; its service URL is the stand-in.
  const added = await postActivity(svc.url, conversationUpdate(teams.url, teamsUser('Bench Tech', 'tech@helpdesk.example'), 'channel'));
  if (added.status >= 300) throw new Error(`teams install: ${added.status}`);
  return { svc, slack, teams };
}

export const outboundPacingScenario: Scenario = {
  name: S,
  description: 'ticket updates across 5 Slack channels and the Teams channel through the real notifiers against rate-limited stand-ins',
  async run(ctx) {
    const updates = Number(process.env.BENCH_PACING_UPDATES ?? 500);
    const budgetMs = Number(process.env.BENCH_PACING_SECONDS ?? 150) * 1000;
    const { svc, slack, teams } = await startChannelService(ctx);
    const figures: Figure[] = [];
    try {
      const tickets: number[] = [];
      for (let c = 0; c < CHANNELS; c++) {
        for (let k = 0; k < TICKETS_PER_CHANNEL; k++) {
          const r = await svc.api('POST', '/tickets', { title: `pacing ${c}-${k}`, description: 'first', customer: `customer${c}`, requester: { email: `user${c}@customer${c}.example` } });
          if (r.status !== 201) throw new Error(`create ticket: ${r.status} ${JSON.stringify(r.body)}`);
          tickets.push(r.body.number);
        }
      }
      ctx.log(`  ${tickets.length} tickets created; waiting for their cards`);
      await waitFor(async () => (await pending(ctx)) === 0, 120_000 + tickets.length * 1_000, 250);
      const slack0 = mark(slack);
      const teams0 = mark(teams);

      // The burst: every update changes the title, so every one changes the card.
      const finalTitle = new Map<number, string>();
      const t0 = Date.now();
      // How many deliveries each channel has pending, every 500 ms until the end (for "while queued").
      const samples: { at: number; slack: number; teams: number }[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling && Date.now() - t0 < budgetMs + 600_000) {
          const at = Date.now();
          samples.push({ at, slack: await pending(ctx, 'slack'), teams: await pending(ctx, 'teams') });
          await sleep(500);
        }
      })().catch(() => undefined);
      const queuedThroughout = (channel: 'slack' | 'teams') => (start: number, end: number) => {
        const inside = samples.filter((x) => x.at >= start && x.at < end);
        return inside.length > 0 && inside.every((x) => x[channel] > 0);
      };
      let next = 0;
      await Promise.all(Array.from({ length: 5 }, async () => {
        while (next < updates) {
          const i = next++;
          const n = tickets[i % tickets.length]!;
          const title = `pacing #${n} update ${String(i).padStart(5, '0')}`;
          const r = await svc.api('PATCH', `/tickets/${n}`, { title });
          if (r.status !== 200) throw new Error(`update: ${r.status} ${JSON.stringify(r.body)}`);
          finalTitle.set(n, title);
        }
      }));
      const burstMs = Date.now() - t0;
      ctx.log(`  ${updates} updates sent in ${round(burstMs / 1000, 1)} s; waiting for deliveries (at most ${budgetMs / 1000} s)`);
      let drained = true;
      let lastReport = Date.now();
      await waitFor(async () => {
        const left = await pending(ctx);
        if (Date.now() - lastReport >= 10_000) {
          lastReport = Date.now();
          ctx.log(`    +${round((Date.now() - t0) / 1000, 0)} s: ${left} deliveries pending; ${slack.stats.calls.length - slack0.calls} Slack and ${teams.stats.calls.length - teams0.calls} Teams calls so far`);
        }
        return left === 0;
      }, budgetMs, 500).catch(() => { drained = false; });
      const doneMs = Date.now() - t0;
      sampling = false;
      await sampler;
      await sleep(200);
      const left = { slack: await pending(ctx, 'slack'), teams: await pending(ctx, 'teams') };
      if (!drained) {
        // Harness clean-up, after measuring: the next scenario must not queue behind this backlog.
        await ctx.db.collection('deliveries').updateMany({ status: 'pending' }, { $set: { status: 'skipped', lastError: 'bench: outbound-pacing budget ran out' } });
      }

      const slackCalls = slack.stats.calls.slice(slack0.calls);
      const teamsCalls = teams.stats.calls.slice(teams0.calls);
      const slackUpdates = slackCalls.filter((c) => c.method === 'chat.update');
      const teamsUpdates = teamsCalls.filter((c) => c.method === 'PUT activities');
      // Does each card's last update show the ticket's final title?
      const finalShown = (calls: typeof slackCalls) => tickets.filter((n) => {
        const mine = calls.filter((c) => JSON.stringify(c.body).includes(`pacing #${n} update`));
        return mine.length > 0 && JSON.stringify(mine.at(-1)!.body).includes(finalTitle.get(n)!);
      }).length;
      const span = (calls: typeof slackCalls) => (calls.length ? calls.at(-1)!.at - t0 : 0);
      const slackSpan = span(slackUpdates);
      // Teams limits count every operation on the conversation (post, reply, update).
      const teamsConversationCalls = teamsCalls.filter((c) => c.key === 'conversation:19:tickets-channel@thread.tacv2');
      const teamsSpan = span(teamsConversationCalls);
      const slackAllowed = allowed(50, 60_000, slackSpan);
      const teamsAllowed = Math.min(allowed(7, 1000, teamsSpan), allowed(60, 30_000, teamsSpan));
      ctx.log(`  slack: ${slackUpdates.length} chat.update (${slack.stats.rejected - slack0.rejected} 429s, ${slack.stats.retryAfterIgnored - slack0.ignored} unhonoured) in ${round(slackSpan / 1000, 1)} s;`
        + ` teams: ${teamsUpdates.length} updates (${teams.stats.rejected - teams0.rejected} 429s, ${teams.stats.retryAfterIgnored - teams0.ignored} unhonoured) in ${round(teamsSpan / 1000, 1)} s; left: ${JSON.stringify(left)}`);
      const note = drained ? `all delivered after ${round(doneMs / 1000, 1)} s` : `budget of ${budgetMs / 1000} s ran out: ${left.slack} slack / ${left.teams} teams deliveries still pending`;
      figures.push(
        figure(S, `ticket updates sent (${tickets.length} tickets, ${CHANNELS} Slack channels + 1 Teams channel)`, updates, 'updates', undefined, `burst took ${round(burstMs / 1000, 1)} s; ${note}`),
        figure(S, 'slack: 429s not honoured', slack.stats.retryAfterIgnored - slack0.ignored, 'calls', { op: '<=', value: 0, label: 'no 429 left unhonoured' }, `${slack.stats.rejected - slack0.rejected} 429s answered`),
        figure(S, 'teams: 429s not honoured', teams.stats.retryAfterIgnored - teams0.ignored, 'calls', { op: '<=', value: 0, label: 'no 429 left unhonoured' }, `${teams.stats.rejected - teams0.rejected} 429s answered`),
        figure(S, 'slack: chat.update calls per ticket update', round(slackUpdates.length / updates, 3), 'ratio', { op: '<=', value: 0.5, label: 'coalesced' }),
        figure(S, 'teams: card updates per ticket update', round(teamsUpdates.length / updates, 3), 'ratio', { op: '<=', value: 0.5, label: 'coalesced' }),
        figure(S, 'slack: cards ending on the final state', finalShown(slackUpdates), 'cards', { op: '>=', value: tickets.length, label: `all ${tickets.length}` }),
        figure(S, 'teams: cards ending on the final state', finalShown(teamsUpdates), 'cards', { op: '>=', value: tickets.length, label: `all ${tickets.length}` }),
        // The share of the allowance used while work was queued: counted over the whole windows
        // (from the first call after the burst started) that ended before the last call, i.e.
        // while deliveries were still waiting. The final partial window, where the queue ran dry,
        // shows only how much work was left, not the pacing. With no whole window the limit never
        // held anything back and the figure has no target.
        windowShare(S, 'slack: share of allowed chat.update rate used while queued (Tier 3, 50/min)', slackUpdates, 50, 60_000, t0, queuedThroughout('slack')),
        windowShare(S, 'teams: share of allowed rate used while queued (7/s, 60/30 s per conversation)', teamsConversationCalls, 60, 30_000, t0, queuedThroughout('teams')),
        figure(S, 'slack: chat.update calls against the allowance over the whole span (old measure)', round(slackUpdates.length / slackAllowed, 3), 'ratio', undefined,
          `${slackUpdates.length} calls in ${round(slackSpan / 1000, 1)} s, ${slackAllowed} allowed; includes the final window after the queue ran dry`),
        figure(S, 'teams: calls against the allowance over the whole span (old measure)', round(teamsConversationCalls.length / teamsAllowed, 3), 'ratio', undefined,
          `${teamsConversationCalls.length} calls (card updates and thread posts) in ${round(teamsSpan / 1000, 1)} s, ${teamsAllowed} allowed; includes the final window`),
      );
      return figures;
    } finally {
      await slack.close();
      await teams.close();
    }
  },
};
