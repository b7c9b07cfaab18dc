import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import { freePort } from '../../src/store/embedded.js';
import { figure, type Figure, type Scenario } from '../lib/scenario.js';
import { buildMails, pipeIngest, smtpSend, type BenchMail, type MailKind } from '../lib/mail.js';
import { round } from '../lib/stats.js';

/*
 * Email ingestion end to end (parse, loop checks, threading, stripping, store) through the pipe
 * command (`deskbridge mail ingest`, its own process) and through the service's SMTP listener,
 * next to mailparser's raw parse rate on the same messages in the same run, then a replay of every
 * message three times that must create no entry. SMTP over BENCH_MAIL_CONNECTIONS connections
 * (default 8); the pipe command works on MAIL_INGEST_CONCURRENCY messages at once (default 8).
 * Sizes: BENCH_MAIL_COUNTS=small,medium,large
 * (default 60,20,4 per path: on FerretDB a small reply takes a few hundred ms end to end).
 */

const S = 'email-ingest';
const TARGET_RATIO: Record<MailKind, number> = { small: 0.15, medium: 0.6, large: 0.6 };
const KINDS: MailKind[] = ['small', 'medium', 'large'];

/** SMTP connections the sender opens at once (a real MTA uses several: Postfix up to 20 per destination). */
const CONNECTIONS = Math.max(1, Number(process.env.BENCH_MAIL_CONNECTIONS ?? 8) || 8);

function counts(): Record<MailKind, number> {
  const [s, m, l] = (process.env.BENCH_MAIL_COUNTS ?? '60,20,4').split(',').map((n) => Math.max(2, Number(n) || 2));
  return { small: s!, medium: m!, large: l! };
}

/** mailparser alone, one message after the other, repeated for at least a second. */
async function rawParseRate(mails: BenchMail[]): Promise<number> {
  for (const m of mails.slice(0, 10)) await simpleParser(m.raw); // warm-up (JIT), not timed
  let n = 0;
  const t0 = performance.now();
  do {
    for (const m of mails) { await simpleParser(m.raw); n++; }
  } while (performance.now() - t0 < 1000);
  return n / ((performance.now() - t0) / 1000);
}

export const emailIngestScenario: Scenario = {
  name: S,
  description: 'mail per second through the pipe command and SMTP next to mailparser\'s raw parse rate; replays create nothing',
  async run(ctx) {
    const n = counts();
    const smtpPort = await freePort();
    await ctx.restartService({ INBOUND_SMTP_PORT: String(smtpPort), MAIL_RATE_LIMIT: '100000', MAIL_FROM: 'Helpdesk <support@helpdesk.example>' });
    const dir = path.join(ctx.tmpDir, 'mail-in');
    mkdirSync(dir, { recursive: true });
    const pipeEnv = { MONGODB_URI: ctx.mongoUri, DATA_DIR: path.join(ctx.tmpDir, 'data') };
    const figures: Figure[] = [];
    const sets: Record<'pipe' | 'smtp', BenchMail[]> = { pipe: [], smtp: [] };
    const files: string[] = [];

    // First, on the fresh service: six 5 MB mails in flight at once (one connection each) and
    // nothing else; its RSS before and at the peak (RSS never shrinks much, so this goes first).
    const six = await buildMails('large', 6, 'rss');
    const rssNow = async () => ((await ctx.service.api('GET', '/metrics')).body?.memory?.rss ?? 0) as number;
    const rssBefore = await rssNow();
    let rssPeak = rssBefore;
    const rssTimer = setInterval(() => { void rssNow().then((r) => { rssPeak = Math.max(rssPeak, r); }, () => undefined); }, 200);
    const sixSent = await smtpSend(smtpPort, six.map((m) => m.raw), six.length).finally(() => clearInterval(rssTimer));
    rssPeak = Math.max(rssPeak, await rssNow());
    ctx.log(`  6 × 5 MB at once over SMTP: ${sixSent.ok}/6 got 250 in ${round(sixSent.ms)} ms; service RSS ${round(rssBefore / 2 ** 20, 1)} MB before, peak ${round(rssPeak / 2 ** 20, 1)} MB`);
    figures.push(
      figure(S, 'service RSS peak with 6 × 5 MB mails in flight (SMTP, nothing else)', round(rssPeak / 2 ** 20, 1), 'MB', { op: '<=', value: 300, label: '≤ 300 MB' },
        `${round(rssBefore / 2 ** 20, 1)} MB before; ${sixSent.ok}/6 got 250${sixSent.failed.length ? `; ${sixSent.failed[0]}` : ''}; service ${process.env.BENCH_SERVICE_BUILT === '1' ? 'compiled (dist/)' : 'from sources through tsx (~60–90 MB more than compiled)'}`),
    );

    for (const kind of KINDS) {
      ctx.log(`  ${kind}: building ${n[kind]} messages per path`);
      const pipeMails = await buildMails(kind, n[kind], 'pipe');
      const smtpMails = await buildMails(kind, n[kind], 'smtp');
      sets.pipe.push(...pipeMails);
      sets.smtp.push(...smtpMails);
      const avgKb = round(pipeMails.reduce((a, m) => a + m.raw.length, 0) / pipeMails.length / 1024, 1);

      const raw = await rawParseRate(pipeMails);
      ctx.log(`  ${kind} (~${avgKb} KB): mailparser raw ${round(raw, 1)}/s`);

      const kindFiles = pipeMails.map((m, i) => {
        const f = path.join(dir, `pipe-${kind}-${i}.eml`);
        writeFileSync(f, m.raw);
        return f;
      });
      files.push(...kindFiles);
      // The first file has no Message-ID, so every message after it waits for it (see the pipe
      // command): its result line marks the start of the work, process start-up excluded.
      const startMark = path.join(dir, `start-${kind}.eml`);
      writeFileSync(startMark, `From: bench-start@customer.example\r\nTo: support@helpdesk.example\r\nSubject: start ${kind}\r\n\r\nstart ${kind} ${Date.now()}\r\n`);
      const piped = await pipeIngest([startMark, ...kindFiles], pipeEnv);
      const results = piped.lines.slice(1);
      const stored = results.filter((l) => l.status === 'created' || l.status === 'appended').length;
      if (stored !== kindFiles.length) ctx.log(`  pipe ${kind}: ${stored}/${kindFiles.length} stored (exit ${piped.code}) ${piped.stderr.slice(-500)}`);
      const span = (results.at(-1)!.at - piped.lines[0]!.at) / 1000;
      const pipeRate = results.length / span;

      const smtp = await smtpSend(smtpPort, smtpMails.map((m) => m.raw), CONNECTIONS);
      if (smtp.failed.length) ctx.log(`  smtp ${kind}: ${smtp.failed.length} failed: ${smtp.failed[0]}`);
      const smtpRate = smtp.ok / (smtp.ms / 1000);
      ctx.log(`  ${kind}: pipe ${round(pipeRate, 1)}/s, smtp ${round(smtpRate, 1)}/s`);

      const target = { op: '>=' as const, value: TARGET_RATIO[kind], label: `≥ ${TARGET_RATIO[kind] * 100} % of raw parse` };
      figures.push(
        figure(S, `${kind} (~${avgKb} KB) mailparser raw parse`, round(raw, 1), 'msg/s'),
        figure(S, `${kind} pipe command end to end`, round(pipeRate, 1), 'msg/s', undefined, `${stored}/${kindFiles.length} stored`),
        figure(S, `${kind} pipe / raw parse`, round(pipeRate / raw, 3), 'ratio', target),
        figure(S, `${kind} SMTP end to end (${CONNECTIONS} connections)`, round(smtpRate, 1), 'msg/s', undefined, `${smtp.ok}/${smtpMails.length} got 250`),
        figure(S, `${kind} SMTP / raw parse`, round(smtpRate / raw, 3), 'ratio', target),
      );
    }

    // Replays: every message again, three times, through the path it came by.
    const count = async () => ({ entries: await ctx.db.collection('entries').countDocuments(), tickets: await ctx.db.collection('tickets').countDocuments() });
    const before = await count();
    ctx.log(`  replaying ${sets.pipe.length + sets.smtp.length} messages three times (${before.tickets} tickets, ${before.entries} entries)`);
    const replay = await pipeIngest([...files, ...files, ...files], pipeEnv);
    const replayStatuses = new Set(replay.lines.map((l) => l.status));
    for (let r = 0; r < 3; r++) await smtpSend(smtpPort, sets.smtp.map((m) => m.raw), CONNECTIONS);
    const after = await count();
    ctx.log(`  after replay: ${after.tickets} tickets, ${after.entries} entries; pipe replay statuses: ${[...replayStatuses].join(', ')}`);
    figures.push(figure(S, 'entries/tickets created by 3 replays of every message', (after.entries - before.entries) + (after.tickets - before.tickets), 'docs',
      { op: '<=', value: 0, label: 'no duplicate' }, `${(sets.pipe.length + sets.smtp.length) * 3} replayed deliveries`));
    return figures;
  },
};
