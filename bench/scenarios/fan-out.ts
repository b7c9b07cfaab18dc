import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { figure, type BenchContext, type Scenario } from '../lib/scenario.js';
import { sleep, waitFor } from '../lib/service-process.js';
import { summarize } from '../lib/stats.js';
import { startChannelService } from './outbound-pacing.js';

/*
 * Fan-out: a technician's public reply through the API, until the email to the requester is
 * written (outbox .eml under DATA_DIR/outbox) and the reply is in the ticket's Slack thread and
 * Teams thread (calls recorded by the rate-limited stand-ins). Replies go round-robin to tickets in
 * 5 Slack channels, one every 2 s (under the platforms' limits), so the figure is our latency, not a queue or a 429.
 * Internal notes sent in between must never appear in any mail. BENCH_FANOUT_REPLIES (default 30).
 */

const S = 'fan-out';
const CHANNELS = 5;
/** One reply every 2 s: latency of a reply on an otherwise quiet deployment, not a backlog. */
const INTERVAL_MS = 2000;

/** Watches the outbox folder: when did a file containing `marker` appear (mtime, ms since epoch)? */
class OutboxWatch {
  private readonly seen = new Map<string, { mtime: number; text: string }>();
  constructor(private readonly dir: string) {}
  scan(): void {
    if (!existsSync(this.dir)) return;
    for (const f of readdirSync(this.dir)) {
      if (this.seen.has(f)) continue;
      const p = path.join(this.dir, f);
      try {
        // Decoded enough for markers: quoted-printable soft breaks joined.
        this.seen.set(f, { mtime: statSync(p).mtimeMs, text: readFileSync(p, 'utf8').replace(/=\r?\n/g, '') });
      } catch { /* being written; next scan */ }
    }
  }
  find(marker: string): number | null {
    for (const v of this.seen.values()) if (v.text.includes(marker)) return v.mtime;
    return null;
  }
}

export const fanOutScenario: Scenario = {
  name: S,
  description: 'public reply through the API to email written + Slack and Teams calls made (p95); notes never mailed',
  async run(ctx: BenchContext) {
    const replies = Number(process.env.BENCH_FANOUT_REPLIES ?? 30);
    const { svc, slack, teams } = await startChannelService(ctx);
    const outbox = new OutboxWatch(path.join(ctx.tmpDir, 'data', 'outbox'));
    try {
      const tech = await svc.api('POST', '/people', { email: 'fanout-tech@helpdesk.example', name: 'Fan Tech', roles: ['technician'] });
      if (tech.status !== 201 && tech.status !== 200) throw new Error(`technician: ${tech.status} ${JSON.stringify(tech.body)}`);
      const tickets: number[] = [];
      for (let c = 0; c < CHANNELS; c++) {
        const r = await svc.api('POST', '/tickets', { title: `fan-out ${c}`, description: 'please help', customer: `customer${c}`, requester: { email: `fan${c}@customer${c}.example`, name: `Fan User ${c}` } });
        if (r.status !== 201) throw new Error(`create ticket: ${r.status} ${JSON.stringify(r.body)}`);
        tickets.push(r.body.number);
      }
      await waitFor(async () => (await ctx.db.collection('deliveries').countDocuments({ status: 'pending' })) === 0, 120_000, 250);
      await sleep(1100); // let the per-channel postMessage windows of the cards pass

      const results: { email: number | null; slack: number | null; teams: number | null; t0: number; written: number }[] = [];
      const markers: string[] = [];
      const noteMarkers: string[] = [];
      for (let i = 0; i < replies; i++) {
        const n = tickets[i % tickets.length]!;
        const marker = `FANOUT${String(i).padStart(4, '0')}X${Date.now().toString(36)}`;
        markers.push(marker);
        const t0 = Date.now();
        const r = await svc.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: `Hello, ${marker} here is the fix.`, author: { email: 'fanout-tech@helpdesk.example' } });
        if (r.status !== 201) throw new Error(`reply: ${r.status} ${JSON.stringify(r.body)}`);
        // The write is done when the API answers (the entry, its event and deliveries are stored).
        results.push({ email: null, slack: null, teams: null, t0, written: t0 + r.ms });
        if (i % 5 === 4) {
          const note = `SECRETNOTE${i}X${Date.now().toString(36)}`;
          noteMarkers.push(note);
          const rn = await svc.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: `internal: ${note}`, author: { email: 'fanout-tech@helpdesk.example' } });
          if (rn.status !== 201) throw new Error(`note: ${rn.status}`);
        }
        const until = t0 + INTERVAL_MS;
        // Poll for arrivals of earlier replies while waiting for the next slot.
        while (Date.now() < until) { await sleep(25); outbox.scan(); }
      }
      const complete = (k: number) => results[k]!.email !== null && results[k]!.slack !== null && results[k]!.teams !== null;
      const collect = () => {
        outbox.scan();
        results.forEach((res, k) => {
          const m = markers[k]!;
          res.email ??= outbox.find(m);
          res.slack ??= slack.stats.calls.find((c) => JSON.stringify(c.body).includes(m))?.at ?? null;
          res.teams ??= teams.stats.calls.find((c) => JSON.stringify(c.body).includes(m))?.at ?? null;
        });
        return results.every((_, k) => complete(k));
      };
      await waitFor(() => collect(), 30_000, 50).catch(() => undefined);
      const per = (key: 'email' | 'slack' | 'teams') => results.filter((r) => r[key] !== null).map((r) => r[key]! - r.t0);
      const all = results.filter((r) => r.email !== null && r.slack !== null && r.teams !== null).map((r) => Math.max(r.email!, r.slack!, r.teams!) - r.t0);
      const e = summarize(per('email'));
      const s = summarize(per('slack'));
      const t = summarize(per('teams'));
      const a = summarize(all);
      // The first Slack or Teams call of a reply, after the API answered (negative: before the answer arrived).
      const first = summarize(results.filter((r) => r.slack !== null || r.teams !== null)
        .map((r) => Math.min(r.slack ?? Infinity, r.teams ?? Infinity) - r.written));
      outbox.scan();
      const leaked = noteMarkers.filter((m) => outbox.find(m) !== null).length;
      ctx.log(`  ${replies} replies: email p95 ${e.p95} ms (${e.n}), slack p95 ${s.p95} ms (${s.n}), teams p95 ${t.p95} ms (${t.n}), all three p95 ${a.p95} ms (${a.n}); notes in mail: ${leaked}`);
      return [
        figure(S, 'reply → email written p95', e.p95, 'ms', undefined, `p50 ${e.p50} ms, ${e.n}/${replies} arrived`),
        figure(S, 'reply → Slack thread post p95', s.p95, 'ms', undefined, `p50 ${s.p50} ms, ${s.n}/${replies} arrived`),
        figure(S, 'reply → Teams thread post p95', t.p95, 'ms', undefined, `p50 ${t.p50} ms, ${t.n}/${replies} arrived`),
        figure(S, 'reply → all three done p95', a.p95, 'ms', { op: '<=', value: 500, label: '≤ 500 ms' }, `p50 ${a.p50} ms, max ${a.max} ms`),
        figure(S, 'write → first platform call (Slack or Teams) p95', first.p95, 'ms', { op: '<=', value: 50, label: '≤ 50 ms' }, `p50 ${first.p50} ms, max ${first.max} ms; from the API's answer`),
        figure(S, 'replies that reached all three channels', a.n, 'replies', { op: '>=', value: replies, label: `all ${replies}` }),
        figure(S, 'internal notes found in outgoing mail', leaked, 'notes', { op: '<=', value: 0, label: 'never' }, `${noteMarkers.length} notes sent between the replies`),
        figure(S, '429s not honoured (Slack + Teams)', slack.stats.retryAfterIgnored + teams.stats.retryAfterIgnored, 'calls', { op: '<=', value: 0, label: 'none' }, `${slack.stats.rejected + teams.stats.rejected} 429s answered`),
      ];
    } finally {
      await slack.close();
      await teams.close();
    }
  },
};
