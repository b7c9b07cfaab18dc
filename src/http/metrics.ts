import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { DeskbridgeModule } from '../app.js';

/*
 * GET /api/v1/metrics (behind the API token): event-loop delay percentiles and memory of this
 * process, so the benchmark harness and operators can see whether something blocks the loop.
 * The histogram costs one timer every 10 ms. `?reset=1` starts a new measuring window after
 * answering, so a benchmark scenario can read only its own figures.
 */

const ns = (v: number) => Math.round((v / 1e6) * 100) / 100; // nanoseconds -> ms, 2 decimals

/** Peak resident set size (VmHWM) in bytes, from /proc; null where /proc is missing. */
export function peakRssBytes(pid: number | 'self' = 'self'): number | null {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** How often the histogram's timer fires. */
const LOOP_RESOLUTION_MS = 10;

/**
 * Percentiles of the event-loop delay: how much later than due the histogram's timer ran. Node's
 * histogram records the whole interval between two firings (resolution + delay: an idle loop reads
 * ~10.2 ms), so the resolution is taken off; an idle loop now reads ~0.2 ms.
 */
export function eventLoopSnapshot(h: IntervalHistogram, resolutionMs = LOOP_RESOLUTION_MS) {
  const delay = (v: number) => Math.max(0, ns(v - resolutionMs * 1e6));
  return {
    p50: delay(h.percentile(50)), p95: delay(h.percentile(95)), p99: delay(h.percentile(99)), max: delay(h.max), mean: delay(h.mean),
    samples: h.count,
  };
}

export const metricsModule: DeskbridgeModule = {
  name: 'metrics',
  setup(ctx) {
    const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    loop.enable();
    let windowStart = Date.now();
    ctx.onStop(() => { loop.disable(); });
    ctx.api.get('/metrics', (req, res) => {
      const mem = process.memoryUsage();
      res.json({
        pid: process.pid,
        uptimeSeconds: Math.round(process.uptime()),
        window: { since: new Date(windowStart).toISOString(), ms: Date.now() - windowStart },
        eventLoopDelayMs: eventLoopSnapshot(loop),
        memory: { rss: mem.rss, peakRss: peakRssBytes(), heapUsed: mem.heapUsed, external: mem.external },
        // Database commands by name in this window (DB_COMMAND_COUNTS=1 only).
        ...(ctx.db.commandCounts() ? { dbCommands: ctx.db.commandCounts(req.query.reset === '1') } : {}),
      });
      if (req.query.reset === '1') {
        loop.reset();
        windowStart = Date.now();
      }
    });
  },
};
