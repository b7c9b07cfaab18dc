/*
 * What the service's RSS is made of, idle and at its peak with six 5 MB mails at once over SMTP
 * (issue 16, RSS row). Reads /proc/<pid>/smaps every 100 ms and sorts the resident memory by kind of
 * mapping; the kinds are told apart by where the kernel put them (x86-64 Linux, glibc):
 *   - files: the node binary, shared libraries (mostly shared with other node processes)
 *   - brk: glibc's main malloc arena ([heap]): the main thread's C++ allocations and Buffer memory
 *   - 7f…: anonymous mappings near the libraries: the other threads' malloc arenas (64 MB each,
 *     touched as used), chunks above the mmap threshold (a 1 MB Buffer, freed at once), thread stacks
 *   - V8: anonymous mappings V8 places at random lower addresses: the JavaScript heaps of every
 *     isolate (main thread and workers) and their compiled code
 * Beside it, the main thread's own process.memoryUsage() (/metrics) and the thread count.
 *
 *   npx tsx bench/probes/rss-composition.ts          # PROBE_ROUNDS=2; BENCH_SERVICE_BUILT=1 for dist/
 *   PROBE_WAIT_AFTER_SECONDS=20 MAIL_PARSE_WORKER_IDLE_SECONDS=5 …   # also: the RSS after the rounds and a quiet spell
 */
import { readFileSync, readdirSync } from 'node:fs';
import os from 'node:os';
import { buildMails, smtpSend } from '../lib/mail.js';
import { startProbeService } from '../lib/probe-service.js';

type Kind = 'files' | 'brk' | '7f' | 'v8' | 'other';
interface Mapping { start: bigint; end: bigint; name: string; rssKb: number; kind: Kind }

function readSmaps(pid: number): Mapping[] {
  const out: Mapping[] = [];
  let cur: Mapping | null = null;
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const start = BigInt(`0x${head[1]}`);
      const name = head[3] ?? '';
      const kind: Kind = name.startsWith('/') ? 'files' : name === '[heap]' ? 'brk' : name ? 'other' : start >= 0x7f0000000000n ? '7f' : 'v8';
      cur = { start, end: BigInt(`0x${head[2]}`), name, rssKb: 0, kind };
      out.push(cur);
    } else if (cur && line.startsWith('Rss:')) {
      cur.rssKb = Number(line.split(/\s+/)[1]);
    }
  }
  return out;
}

const summarize = (maps: Mapping[]) => {
  const by: Record<Kind | 'total', number> = { total: 0, files: 0, brk: 0, '7f': 0, v8: 0, other: 0 };
  for (const m of maps) { by[m.kind] += m.rssKb; by.total += m.rssKb; }
  return Object.fromEntries(Object.entries(by).map(([k, v]) => [k, Math.round(v / 1024)]));
};
const threads = (pid: number) => readdirSync(`/proc/${pid}/task`).length;
const mb = (b: number | undefined) => (b === undefined ? undefined : Math.round(b / 2 ** 20));

const { svc, smtpPort: port, close } = await startProbeService();
try {
  await new Promise((r) => setTimeout(r, 3000));
  const idle = (await svc.api('GET', '/metrics')).body;
  console.log(JSON.stringify({
    phase: 'idle', smapsMb: summarize(readSmaps(svc.pid)), threads: threads(svc.pid),
    mainThread: { rss: mb(idle.memory?.rss), heapUsed: mb(idle.memory?.heapUsed), external: mb(idle.memory?.external) },
    load: os.loadavg()[0]!.toFixed(1),
  }));
  for (let round = 1; round <= Number(process.env.PROBE_ROUNDS ?? 2); round++) {
    const mails = await buildMails('large', 6, `comp${round}`);
    await new Promise((r) => setTimeout(r, 1000));
    const before = readSmaps(svc.pid);
    let peak = { total: 0 } as Record<string, number>;
    let peakMaps = before;
    let peakThreads = 0;
    let mainPeak = { heapUsed: 0, external: 0 };
    const sample = () => {
      try {
        const maps = readSmaps(svc.pid);
        const s = summarize(maps);
        peakThreads = Math.max(peakThreads, threads(svc.pid));
        if (s.total! > peak.total!) { peak = s; peakMaps = maps; }
      } catch { /* the process may be between states; next sample */ }
    };
    const timer = setInterval(sample, 100);
    const metrics = setInterval(() => {
      void svc.api('GET', '/metrics').then((r) => {
        mainPeak = { heapUsed: Math.max(mainPeak.heapUsed, r.body?.memory?.heapUsed ?? 0), external: Math.max(mainPeak.external, r.body?.memory?.external ?? 0) };
      }, () => undefined);
    }, 200);
    const sent = await smtpSend(port, mails.map((m) => m.raw), 6).finally(() => { clearInterval(timer); clearInterval(metrics); });
    sample();
    // The mappings that grew most between before the mails and the peak.
    const was = new Map(before.map((m) => [m.start, m.rssKb]));
    const grew = peakMaps.map((m) => ({ at: m.start.toString(16), sizeMb: Number((m.end - m.start) / 1024n) / 1024, kind: m.kind, name: m.name, growKb: m.rssKb - (was.get(m.start) ?? 0) }))
      .sort((a, b) => b.growKb - a.growKb).slice(0, 8)
      .map((m) => `${m.kind} ${m.at} ${m.sizeMb.toFixed(1)}MB +${Math.round(m.growKb / 1024)}MB ${m.name}`);
    const after = (await svc.api('GET', '/metrics')).body;
    console.log(JSON.stringify({
      round, ok: sent.ok, wallMs: Math.round(sent.ms), before: summarize(before), peak, peakThreads,
      mainThreadPeak: { heapUsed: mb(mainPeak.heapUsed), external: mb(mainPeak.external) },
      after: { rss: mb(after.memory?.rss), heapUsed: mb(after.memory?.heapUsed), external: mb(after.memory?.external) },
      grew, load: os.loadavg()[0]!.toFixed(1),
    }));
  }
  const wait = Number(process.env.PROBE_WAIT_AFTER_SECONDS ?? 0);
  if (wait > 0) {
    await new Promise((r) => setTimeout(r, wait * 1000));
    const m = (await svc.api('GET', '/metrics')).body;
    console.log(JSON.stringify({
      phase: `${wait} s after the last round`, smapsMb: summarize(readSmaps(svc.pid)), threads: threads(svc.pid),
      mainThread: { rss: mb(m.memory?.rss), heapUsed: mb(m.memory?.heapUsed), external: mb(m.memory?.external) }, load: os.loadavg()[0]!.toFixed(1),
    }));
  }
} finally {
  await close();
}
