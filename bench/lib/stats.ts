/** Percentile by nearest rank over a copy of the samples (ms). */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

export function summarize(samples: number[]) {
  return { n: samples.length, p50: round(percentile(samples, 50)), p95: round(percentile(samples, 95)), p99: round(percentile(samples, 99)), max: round(Math.max(...samples)) };
}

/**
 * Runs `fn` up to `count` times with `concurrency` in flight, stopping early once `budgetMs` has
 * passed (after at least `minSamples`), so a slow store cannot stall the run; returns each call's
 * latency in ms.
 */
export async function timed(count: number, concurrency: number, fn: (i: number) => Promise<void>, budgetMs = Infinity, minSamples = 5): Promise<number[]> {
  const out: number[] = [];
  let next = 0;
  const deadline = performance.now() + budgetMs;
  const lane = async () => {
    while (next < count && (out.length < minSamples || performance.now() < deadline)) {
      const i = next++;
      const t0 = performance.now();
      await fn(i);
      out.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return out;
}
