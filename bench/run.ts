/*
 * `npm run bench`: starts the real service as a separate process (`src/cli.ts serve`) on the
 * embedded database (or MONGODB_URI), drives it over loopback with each scenario of
 * bench/scenarios/index.ts, and prints a readable table and one JSON report with every target
 * marked met or not. Progress goes to stderr. Options (environment):
 *   BENCH_TICKETS=10000,100000   ticket counts for the list/view scenario (ascending)
 *   BENCH_ENTRIES=10             entries per generated ticket
 *   BENCH_REQUESTS=300           requests per measured series
 *   BENCH_SERIES_SECONDS=20      time budget per series (stops early, at least 5 samples)
 *   BENCH_SCENARIOS=a,b          run only these scenarios
 *   BENCH_REPORT=path.json       also write the JSON report there
 *   BENCH_KEEP=1                 keep the temporary folder (database and logs)
 *   BENCH_SERVICE_BUILT=1        run the compiled service (dist/; `npm run build` first) instead of
 *                                the sources through tsx: RSS as the production image has it
 */
import { appendFileSync, chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../src/store/embedded.js';
import { peakRssBytes } from '../src/http/metrics.js';
import { startServiceProcess, type ServiceProcess } from './lib/service-process.js';
import type { BenchContext, BenchOptions, Figure } from './lib/scenario.js';
import { round } from './lib/stats.js';
import { scenarios } from './scenarios/index.js';

const RSS_TARGET_MB = 300;
const log = (m: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

function options(env = process.env): BenchOptions {
  // The issue's sizes on every engine; generating 100k tickets through the real service takes a
  // while on a small machine (set BENCH_TICKETS=1000,10000 for a quick run).
  const sizes = (env.BENCH_TICKETS ?? '10000,100000').split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0).sort((a, b) => a - b);
  return {
    ticketSizes: sizes.length ? sizes : [10_000, 100_000],
    entriesPerTicket: Number(env.BENCH_ENTRIES ?? 10),
    requests: Number(env.BENCH_REQUESTS ?? 300),
    seriesBudgetMs: Number(env.BENCH_SERIES_SECONDS ?? 20) * 1000,
    only: env.BENCH_SCENARIOS ? env.BENCH_SCENARIOS.split(',').map((s) => s.trim()) : null,
  };
}

function machine() {
  const mem = os.totalmem();
  return {
    date: new Date().toISOString(), node: process.version, nproc: os.availableParallelism(), cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryTotalGiB: round(mem / 2 ** 30, 1), memoryFreeGiB: round(os.freemem() / 2 ** 30, 1), loadAverage: os.loadavg().map((l) => round(l)),
    platform: `${os.type()} ${os.release()}`,
  };
}

function judge(f: Figure): Figure {
  if (!f.target || !Number.isFinite(f.value)) return f;
  return { ...f, met: f.target.op === '<=' ? f.value <= f.target.value : f.value >= f.target.value };
}

function table(figures: Figure[]): string {
  const rows = figures.map((f) => [
    f.scenario, f.name, `${f.value} ${f.unit}`,
    f.target ? `${f.target.op} ${f.target.value}${f.target.label ? ` (${f.target.label})` : ''}` : '',
    f.met === undefined ? '' : f.met ? 'met' : 'NOT MET',
  ]);
  const head = ['scenario', 'figure', 'value', 'target', ''];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * Proportional set size of the embedded PostgreSQL (postmaster and every backend) plus FerretDB:
 * PSS shares PostgreSQL's shared buffers fairly among its processes, where RSS counts them in each.
 */
function embeddedDatabasePssMb(dbDir: string, ferretPid: number | undefined): number | null {
  const pssKb = (pid: number) => {
    try { return Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0); } catch { return 0; }
  };
  let postmaster: number;
  try { postmaster = Number(readFileSync(path.join(dbDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]); } catch { return null; }
  let kb = pssKb(postmaster) + (ferretPid ? pssKb(ferretPid) : 0);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmaster) kb += pssKb(Number(entry));
    } catch { /* gone meanwhile */ }
  }
  return round(kb / 1024, 1);
}

async function main() {
  const opts = options();
  const tmpDir = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-bench-'));
  chmodSync(tmpDir, 0o711); // as root the embedded PostgreSQL runs as postgres and must pass through
  let embedded: EmbeddedDatabase | null = null;
  let service: ServiceProcess | null = null;
  let mongo: MongoClient | null = null;
  const started = Date.now();
  try {
    let baseUri = process.env.MONGODB_URI;
    if (!baseUri) {
      log('starting the embedded database (FerretDB 2 + PostgreSQL/DocumentDB)');
      const dbLog = path.join(tmpDir, 'db.log');
      embedded = await startEmbeddedDatabase({ dataDir: path.join(tmpDir, 'db'), onLog: (line) => appendFileSync(dbLog, `${line}\n`) });
      // A crash of the database during the run is a finding: say so with its last log lines.
      embedded.events.on('down', (component: string, code: number | null, signal: string | null) => {
        const tail = readFileSync(dbLog, 'utf8').trim().split('\n').slice(-25).join('\n');
        log(`embedded database: ${component} exited (code ${code}, signal ${signal}); last log lines:\n${tail}`);
      });
      baseUri = embedded.uri;
    }
    const dbName = `deskbridge_bench_${randomBytes(4).toString('hex')}`;
    const u = new URL(baseUri);
    u.pathname = `/${dbName}`;
    const mongoUri = u.toString();
    const serviceEnv = { MONGODB_URI: mongoUri, DATA_DIR: path.join(tmpDir, 'data'), LOG_LEVEL: 'warn' };
    log(`starting the service (${embedded ? 'embedded database' : 'MONGODB_URI'}, database ${dbName})`);
    service = await startServiceProcess({ env: serviceEnv });
    mongo = await MongoClient.connect(mongoUri);
    let peakRss = 0;
    const sampleRss = () => { peakRss = Math.max(peakRss, peakRssBytes(service!.pid) ?? 0); };
    const rssTimer = setInterval(sampleRss, 1000);
    const ctx: BenchContext = {
      service, db: mongo.db(), mongoUri, tmpDir, log, options: opts,
      async restartService(extraEnv = {}) {
        sampleRss();
        await ctx.service.stop();
        ctx.service = service = await startServiceProcess({ env: { ...serviceEnv, ...extraEnv } });
        return ctx.service;
      },
    };
    await service.api('GET', '/metrics?reset=1');

    const figures: Figure[] = [];
    for (const s of scenarios) {
      if (opts.only && !opts.only.includes(s.name)) continue;
      log(`scenario ${s.name}: ${s.description}`);
      const t0 = Date.now();
      try {
        figures.push(...(await s.run(ctx)));
      } catch (err) {
        log(`scenario ${s.name} failed: ${(err as Error).stack ?? err}`);
        // A PostgreSQL backend that crashes takes the whole cluster through crash recovery without
        // the postmaster exiting; its own log says which process died and why.
        if (embedded) {
          const crashes = readFileSync(path.join(tmpDir, 'db.log'), 'utf8').split('\n').filter((l) => /terminated by signal|PANIC|TRAP|was terminated|crash/i.test(l));
          if (crashes.length) log(`embedded database log:\n${crashes.slice(-10).join('\n')}`);
        }
        figures.push({ scenario: s.name, name: 'completed', value: 0, unit: 'bool', target: { op: '>=', value: 1, label: 'scenario ran' }, note: String(err).slice(0, 300) });
      }
      log(`scenario ${s.name} done in ${round((Date.now() - t0) / 1000, 1)} s`);
    }

    const metrics = (await ctx.service.api('GET', '/metrics')).body;
    clearInterval(rssTimer);
    sampleRss();
    figures.push({ scenario: 'service', name: 'peak RSS (VmHWM)', value: round(peakRss / 2 ** 20, 1), unit: 'MB', target: { op: '<=', value: RSS_TARGET_MB, label: `≤ ${RSS_TARGET_MB} MB` } });
    if (embedded) {
      const pss = embeddedDatabasePssMb(path.join(tmpDir, 'db'), embedded.process.pid);
      if (pss !== null) figures.push({ scenario: 'database', name: 'memory (PSS of PostgreSQL + FerretDB) after the run', value: pss, unit: 'MB', target: { op: '<=', value: 300, label: '≤ 300 MB' } });
    }
    figures.push({ scenario: 'service', name: 'event-loop delay p99 (whole run)', value: metrics.eventLoopDelayMs.p99, unit: 'ms' });
    figures.push({ scenario: 'service', name: 'event-loop delay max (whole run)', value: metrics.eventLoopDelayMs.max, unit: 'ms' });

    const judged = figures.map(judge);
    const report = {
      machine: machine(), options: opts, database: embedded ? 'embedded FerretDB 2.5 + PostgreSQL 15/DocumentDB 0.106' : 'MONGODB_URI',
      durationSeconds: round((Date.now() - started) / 1000, 1),
      summary: { targets: judged.filter((f) => f.target).length, met: judged.filter((f) => f.met === true).length, notMet: judged.filter((f) => f.met === false).map((f) => `${f.scenario}: ${f.name}`) },
      figures: judged,
    };
    process.stdout.write(`\n${table(judged)}\n\n${JSON.stringify(report, null, 2)}\n`);
    if (process.env.BENCH_REPORT) writeFileSync(process.env.BENCH_REPORT, JSON.stringify(report, null, 2));
  } finally {
    await service?.stop().catch(() => undefined);
    await mongo?.close().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    if (process.env.BENCH_KEEP) log(`kept ${tmpDir}`);
    else rmSync(tmpDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});

