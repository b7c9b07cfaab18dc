import { pruneExpired, type RetentionPolicy } from '../../src/jobs/retention.js';
import { figure, type BenchContext, type Figure, type Scenario } from '../lib/scenario.js';
import { round, summarize } from '../lib/stats.js';
import { sleep } from '../lib/service-process.js';

/*
 * Issue 15, "Long uptimes": collection sizes and per-operation time stay flat over many ticket
 * changes when the retention job runs. Ticket changes (priority and status, through the API) come in
 * rounds; after each round the deliveries drain and the retention job's prune runs with its clock
 * moved a month on (the job is daily; the real one runs in the service, this calls the same
 * function on the same database). Figures: per-change time and the size of the pruned collections
 * (events, deliveries) after the first and the last round.
 * BENCH_RETENTION_CHANGES (default 2,000; the issue's figure is 100,000), BENCH_RETENTION_ROUNDS (5),
 * BENCH_RETENTION_WRITERS (1): writers working at once, each on its own tickets (100k changes one
 * after another take hours on a loaded 2-core machine; the per-change time then includes the wait
 * for the other writers' work, so compare rounds of one run, not runs with different writer counts).
 */

const CHANGES = Number(process.env.BENCH_RETENTION_CHANGES ?? 2000);
const ROUNDS = Math.max(2, Number(process.env.BENCH_RETENTION_ROUNDS ?? 5));
const WRITERS = Math.max(1, Number(process.env.BENCH_RETENTION_WRITERS ?? 1));
const TICKETS = Math.max(20, WRITERS * 5);
/** The shipped defaults (RETENTION_*): events and deliveries are kept 30 days. */
const POLICY: RetentionPolicy = { eventsDays: 30, deliveriesDays: 30, inboundDays: 90, rawMailDays: 180, orphanAttachmentHours: 24 };
const PRIORITIES = ['Low', 'Medium', 'High', 'Critical'];

export const retentionScenario: Scenario = {
  name: 'retention',
  description: `${CHANGES} ticket changes in ${ROUNDS} rounds (${WRITERS} writer${WRITERS > 1 ? 's' : ''} at once), the retention prune after each (clock a month on): sizes and per-change time stay flat`,
  async run(ctx: BenchContext): Promise<Figure[]> {
    const numbers: number[] = [];
    for (let i = 0; i < TICKETS; i++) {
      const r = await ctx.service.api('POST', '/tickets', { title: `Retention ${i}`, description: 'x', requester: { email: `ret${i}@corp.example` } });
      if (r.status !== 201) throw new Error(`create: ${r.status}`);
      numbers.push(r.body.number);
    }
    const perRound = Math.ceil(CHANGES / ROUNDS);
    const rounds: { p50: number; p95: number; before: number; events: number; deliveries: number; activities: number }[] = [];
    let change = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const samples: number[] = [];
      const firstChange = change;
      // Writer w takes the changes whose ticket index ≡ w (mod WRITERS): its tickets are its own.
      const writer = async (w: number) => {
        for (let c = firstChange; c < firstChange + perRound; c++) {
          if ((c % TICKETS) % WRITERS !== w) continue;
          const n = numbers[c % TICKETS]!;
          // Each visit to a ticket changes something (visit k of ticket n is change n + k·TICKETS).
          const k = Math.floor(c / TICKETS);
          const body = c % 3 === 2 ? { status: k % 2 ? 'Pending' : 'Open' } : { priority: PRIORITIES[k % PRIORITIES.length] };
          const res = await ctx.service.api('PATCH', `/tickets/${n}`, body);
          if (res.status !== 200) throw new Error(`PATCH #${n}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
          samples.push(res.ms);
          if (samples.length % 5000 === 0) ctx.log(`retention round ${r + 1}/${ROUNDS}: ${samples.length}/${perRound} changes`);
        }
      };
      await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
      change += perRound;
      const until = Date.now() + 120_000;
      while ((await ctx.db.collection('deliveries').countDocuments({ status: 'pending' })) > 0 && Date.now() < until) await sleep(500);
      const before = (await ctx.db.collection('events').countDocuments({})) + (await ctx.db.collection('deliveries').countDocuments({}));
      await pruneExpired(ctx.db, POLICY, new Date(Date.now() + (r + 1) * 31 * 24 * 3600_000));
      const s = summarize(samples);
      const sizes = {
        events: await ctx.db.collection('events').countDocuments({}),
        deliveries: await ctx.db.collection('deliveries').countDocuments({}),
        activities: await ctx.db.collection('activities').countDocuments({}),
      };
      rounds.push({ p50: s.p50, p95: s.p95, before, ...sizes });
      ctx.log(`retention round ${r + 1}/${ROUNDS}: ${perRound} changes, p50 ${round(s.p50)} ms, p95 ${round(s.p95)} ms; ${before} events + deliveries before the prune, after it ${sizes.events} events, ${sizes.deliveries} deliveries (${sizes.activities} activities, kept)`);
    }
    const first = rounds[0]!;
    const last = rounds.at(-1)!;
    const S = 'retention';
    return [
      figure(S, `change p50, round 1 (${perRound} changes)`, round(first.p50), 'ms'),
      figure(S, `change p50, round ${ROUNDS}`, round(last.p50), 'ms'),
      figure(S, `change p50, round ${ROUNDS} / round 1`, round(last.p50 / first.p50), 'ratio', { op: '<=', value: 1.25, label: 'flat (≤ 1.25)' }),
      figure(S, `change p95, round ${ROUNDS} / round 1`, round(last.p95 / first.p95), 'ratio'),
      figure(S, 'events + deliveries before the prune, round 1', first.before, 'docs'),
      figure(S, `events + deliveries before the prune, round ${ROUNDS}`, last.before, 'docs',
        { op: '<=', value: Math.ceil(first.before * 1.1), label: 'flat: one round\'s worth (≤ round 1 × 1.1)' }),
      figure(S, 'events + deliveries after the prune, round 1', first.events + first.deliveries, 'docs'),
      figure(S, `events + deliveries after the prune, round ${ROUNDS}`, last.events + last.deliveries, 'docs',
        { op: '<=', value: Math.max(10, Math.ceil((first.events + first.deliveries) * 1.1)), label: 'flat (≤ round 1 × 1.1)' }),
      figure(S, `activities after round ${ROUNDS} (never pruned)`, last.activities, 'docs'),
    ];
  },
};
