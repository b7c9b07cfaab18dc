import { figure, type BenchContext, type Figure, type Scenario } from '../lib/scenario.js';
import { round } from '../lib/stats.js';
import { sleep } from '../lib/service-process.js';

/*
 * Issue 15, "Memory": no growth at steady load. For BENCH_SOAK_SECONDS (default 60; the issue's
 * figure is 600) the service gets a steady stream of work (new tickets, replies, field changes,
 * list and view reads, at BENCH_SOAK_RATE operations/s) while its heap and RSS are sampled from
 * /metrics every 2 s. The first fifth is warm-up (JIT, caches, pools). The rest is cut into a first
 * and a last window: heap is compared by its floor in each window (the lowest sample, i.e. after a
 * collection; the peaks are uncollected garbage), RSS by its mean. Target: last / first ≤ 1.10.
 */

const SECONDS = Number(process.env.BENCH_SOAK_SECONDS ?? 60);
const RATE = Number(process.env.BENCH_SOAK_RATE ?? 10);
const SAMPLE_MS = 2000;

export const memorySoakScenario: Scenario = {
  name: 'memory-soak',
  description: `${SECONDS} s of steady load (${RATE} ops/s): heap floor and RSS of the service, first vs last window`,
  async run(ctx: BenchContext): Promise<Figure[]> {
    const samples: { at: number; heap: number; rss: number }[] = [];
    const started = Date.now();
    const until = started + SECONDS * 1000;
    const sampler = (async () => {
      while (Date.now() < until) {
        const m = await ctx.service.api('GET', '/metrics');
        samples.push({ at: Date.now() - started, heap: m.body.memory.heapUsed, rss: m.body.memory.rss });
        await sleep(SAMPLE_MS);
      }
    })();
    const numbers: number[] = [];
    let ops = 0;
    let failures = 0;
    const step = async (i: number) => {
      const kind = i % 5;
      if (kind === 0 || numbers.length === 0) {
        const r = await ctx.service.api('POST', '/tickets', { title: `Soak ${i}`, description: `steady load ${i}`, requester: { email: `soak${i % 200}@corp.example` } });
        if (r.status === 201) numbers.push(r.body.number); else failures++;
        return;
      }
      // A bounded set of tickets keeps the data the same size class: growth then means a leak, not more data.
      const n = numbers[i % Math.min(numbers.length, 200)]!;
      const r = kind === 1 ? await ctx.service.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: `reply ${i}`, author: { email: 'tech0@it.example' } })
        : kind === 2 ? await ctx.service.api('PATCH', `/tickets/${n}`, { priority: ['Low', 'Medium', 'High'][i % 3] })
        : kind === 3 ? await ctx.service.api('GET', '/tickets?limit=25')
        : await ctx.service.api('GET', `/tickets/${n}`);
      if (r.status >= 300) failures++;
    };
    await ctx.service.api('POST', '/people', { email: 'tech0@it.example', name: 'Tech 0', roles: ['technician'] });
    const interval = 1000 / RATE;
    while (Date.now() < until) {
      const t0 = Date.now();
      await step(ops++).catch(() => { failures++; });
      const wait = interval - (Date.now() - t0);
      if (wait > 0) await sleep(wait);
    }
    await sampler;
    const steady = samples.filter((s) => s.at >= SECONDS * 1000 * 0.2);
    const half = Math.floor(steady.length / 2);
    if (half < 2) throw new Error(`too few samples (${samples.length}) for ${SECONDS} s`);
    const firstW = steady.slice(0, half);
    const lastW = steady.slice(-half);
    const mb = (b: number) => round(b / 2 ** 20, 1);
    const floor = (w: typeof steady) => Math.min(...w.map((s) => s.heap));
    const meanRss = (w: typeof steady) => w.reduce((a, s) => a + s.rss, 0) / w.length;
    ctx.log(`memory soak: ${ops} operations (${failures} failed), ${samples.length} samples; heap floor ${mb(floor(firstW))} → ${mb(floor(lastW))} MB, RSS mean ${mb(meanRss(firstW))} → ${mb(meanRss(lastW))} MB`);
    const S = 'memory-soak';
    return [
      figure(S, `operations in ${SECONDS} s (failed: ${failures})`, ops, 'ops'),
      figure(S, 'heap floor, first window', mb(floor(firstW)), 'MB'),
      figure(S, 'heap floor, last window', mb(floor(lastW)), 'MB'),
      figure(S, 'heap floor, last / first window', round(floor(lastW) / floor(firstW)), 'ratio', { op: '<=', value: 1.1, label: 'flat within 10 %' }),
      figure(S, 'RSS mean, first window', mb(meanRss(firstW)), 'MB'),
      figure(S, 'RSS mean, last window', mb(meanRss(lastW)), 'MB'),
      figure(S, 'RSS mean, last / first window', round(meanRss(lastW) / meanRss(firstW)), 'ratio', { op: '<=', value: 1.1, label: 'flat within 10 %' }),
    ];
  },
};
