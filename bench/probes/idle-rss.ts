/*
 * The service's idle RSS with the inbound SMTP listener on: a fresh service (from sources unless
 * BENCH_SERVICE_BUILT=1) on the embedded database, no traffic; VmRSS of the process sampled once a
 * second for IDLE_SAMPLES seconds after IDLE_SETTLE_MS, and the median printed (MB).
 *
 *   npx tsx bench/probes/idle-rss.ts
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { startProbeService } from '../lib/probe-service.js';

const vmRss = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const { svc, close } = await startProbeService();
try {
  await new Promise((r) => setTimeout(r, Number(process.env.IDLE_SETTLE_MS ?? 5000)));
  const samples: number[] = [];
  for (let i = 0; i < Number(process.env.IDLE_SAMPLES ?? 10); i++) {
    samples.push(vmRss(svc.pid));
    await new Promise((r) => setTimeout(r, 1000));
  }
  samples.sort((a, b) => a - b);
  const threads = readFileSync(`/proc/${svc.pid}/status`, 'utf8').match(/Threads:\s+(\d+)/)![1];
  console.log(JSON.stringify({ idleRssMb: Math.round(samples[samples.length >> 1]!), min: Math.round(samples[0]!), max: Math.round(samples.at(-1)!), threads: Number(threads), load: os.loadavg()[0]!.toFixed(1) }));
} finally {
  await close();
}
