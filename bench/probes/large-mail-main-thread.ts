/*
 * What six 5 MB mails at once cost the service's main thread, measured in a way the load of a
 * shared machine does not swamp: the CPU time of the service's main thread alone (utime + stime of
 * /proc/<pid>/task/<pid>, 10 ms ticks) against that of all its threads, next to the event-loop
 * delay (p99/max from /metrics) and the RSS peak. Round 1 runs on the freshly started service (the
 * first large mail starts the parse worker), rounds 2.. on the warm one.
 *
 *   npx tsx bench/probes/large-mail-main-thread.ts            # PROBE_ROUNDS=4, BENCH_SERVICE_BUILT=1 for dist/
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { buildMails, smtpSend } from '../lib/mail.js';
import { startProbeService } from '../lib/probe-service.js';

const ticks = (file: string) => { const f = readFileSync(file, 'utf8').split(') ')[1]!.split(' '); return (Number(f[11]) + Number(f[12])) * 10; };

const { svc, smtpPort: port, close } = await startProbeService();
try {
  for (let round = 1; round <= Number(process.env.PROBE_ROUNDS ?? 4); round++) {
    const mails = await buildMails('large', 6, `probe${round}`);
    await new Promise((r) => setTimeout(r, 1000));
    await svc.api('GET', '/metrics?reset=1');
    const main0 = ticks(`/proc/${svc.pid}/task/${svc.pid}/stat`);
    const all0 = ticks(`/proc/${svc.pid}/stat`);
    let rss = 0;
    const timer = setInterval(() => { void svc.api('GET', '/metrics').then((r) => { rss = Math.max(rss, r.body?.memory?.rss ?? 0); }, () => undefined); }, 200);
    const sent = await smtpSend(port, mails.map((m) => m.raw), 6).finally(() => clearInterval(timer));
    const m = (await svc.api('GET', '/metrics?reset=1')).body;
    const main = ticks(`/proc/${svc.pid}/task/${svc.pid}/stat`) - main0;
    const all = ticks(`/proc/${svc.pid}/stat`) - all0;
    console.log(JSON.stringify({
      round, ok: sent.ok, wallMs: Math.round(sent.ms), mainThreadCpuMs: main, otherThreadsCpuMs: all - main,
      loopP99: m.eventLoopDelayMs?.p99, loopMax: m.eventLoopDelayMs?.max, rssPeakMb: Math.round(Math.max(rss, m.memory?.rss ?? 0) / 2 ** 20),
      load: os.loadavg()[0]!.toFixed(1),
    }));
  }
} finally {
  await close();
}
