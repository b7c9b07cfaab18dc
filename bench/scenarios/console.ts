import { randomBytes } from 'node:crypto';
import { Types } from 'mongoose';
import { sha256 } from '../../src/portal/store.js';
import { figure, type BenchContext, type Figure, type Scenario } from '../lib/scenario.js';
import { seedTickets, ticketWithEntries, type SeedPeople } from '../lib/seed.js';
import { round, summarize, timed } from '../lib/stats.js';

/*
 * The web console's pages as a signed-in technician's browser fetches them: the ticket list at the
 * largest BENCH_TICKETS size (default 10k), a ticket page with 200 entries, and how long a change
 * made elsewhere takes to reach another open page (the server-sent event, then the page's refetch).
 * Times are measured at the client over loopback, so they bound the server time from above.
 */

const LIST_P95_TARGET_MS = 50;
const TICKET_P95_TARGET_MS = 100;
const LIVE_P95_TARGET_MS = 1000;

export const consoleScenario: Scenario = {
  name: 'console',
  description: 'console list page, ticket page with 200 entries, change → other open page (SSE + refetch)',
  async run(ctx: BenchContext): Promise<Figure[]> {
    const size = ctx.options.ticketSizes.at(-1)!;
    for (const c of ['tickets', 'entries', 'events', 'deliveries', 'activities']) await ctx.db.collection(c).deleteMany({});
    const people: SeedPeople = { contacts: [], technicians: [] };
    for (let i = 0; i < 3; i++) {
      const r = await ctx.service.api('POST', '/people', { email: `ctech${i}@it.example`, name: `Console Tech ${i}`, roles: ['technician'] });
      people.technicians.push({ _id: new Types.ObjectId(r.body.id as string), name: r.body.name, email: r.body.email });
    }
    for (let i = 0; i < 20; i++) {
      const r = await ctx.service.api('POST', '/people', { email: `cuser${i}@corp.example`, name: `Console User ${i}`, roles: ['contact'] });
      people.contacts.push({ _id: new Types.ObjectId(r.body.id as string), name: r.body.name, email: r.body.email });
    }
    const t0 = performance.now();
    await seedTickets(ctx.db, 0, size, ctx.options.entriesPerTicket, people);
    // One long conversation: 200 entries.
    const long = ticketWithEntries(size + 1, 200, people, new Date());
    await ctx.db.collection('tickets').insertOne(long.ticket as never);
    await ctx.db.collection('entries').insertMany(long.entries as never[]);
    await ctx.db.collection('counters').updateOne({ _id: 'ticket' as never }, { $set: { seq: size + 1 } }, { upsert: true });
    ctx.log(`  console: seeded ${size} tickets + one with 200 entries in ${round((performance.now() - t0) / 1000, 1)} s`);

    // A signed-in technician: a session row as the sign-in link would have made it.
    const cookieValue = randomBytes(32).toString('base64url');
    const now = new Date();
    await ctx.db.collection('console_sessions').insertOne({
      _id: sha256(cookieValue) as never, personId: people.technicians[0]!._id, csrf: randomBytes(32).toString('base64url'),
      createdAt: now, expiresAt: new Date(now.getTime() + 3600_000),
    });
    const headers = { cookie: `deskbridge_console=${cookieValue}`, accept: 'text/html' };
    const get = async (p: string) => {
      const r = await fetch(`${ctx.service.url}${p}`, { headers, redirect: 'manual' });
      const text = await r.text();
      if (r.status !== 200) throw new Error(`GET ${p}: ${r.status} ${text.slice(0, 200)}`);
      return text;
    };
    const n = ctx.options.requests;
    const budget = ctx.options.seriesBudgetMs;
    for (let i = 0; i < 2; i++) await get('/console');
    const list = summarize(await timed(n, 1, async () => { await get('/console'); }, budget));
    const filtered = summarize(await timed(n, 1, async (i) => { await get(`/console?status=${['Open', 'Pending', 'Resolved'][i % 3]}&sort=priority`); }, budget));
    const page = summarize(await timed(n, 1, async () => { await get(`/console/tickets/${size + 1}`); }, budget));

    // Another open page of the same ticket: a change through the API reaches it as an event, then it refetches.
    const controller = new AbortController();
    const stream = await fetch(`${ctx.service.url}/console/events?ticket=${size + 1}`, { headers: { ...headers, accept: 'text/event-stream' }, signal: controller.signal });
    const reader = stream.body!.getReader();
    const waiting: { resolve: (() => void) | null } = { resolve: null };
    void (async () => {
      const decoder = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        if (decoder.decode(value).includes('data:')) waiting.resolve?.();
      }
    })();
    const live: number[] = [];
    const rounds = Math.min(n, 50);
    for (let i = 0; i < rounds; i++) {
      const arrived = new Promise<void>((resolve) => { waiting.resolve = resolve; });
      const start = performance.now();
      const r = await ctx.service.api('PATCH', `/tickets/${size + 1}`, { priority: i % 2 ? 'High' : 'Low' });
      if (r.status !== 200) throw new Error(`PATCH: ${r.status}`);
      await arrived;
      await get(`/console/tickets/${size + 1}`);
      live.push(performance.now() - start);
    }
    controller.abort();
    const liveS = summarize(live);
    const k = size >= 1000 ? `${size / 1000}k` : String(size);
    ctx.log(`  console @${k}: list p95 ${list.p95} ms, ticket(200) p95 ${page.p95} ms, change→other page p95 ${liveS.p95} ms`);
    const S = 'console';
    return [
      figure(S, `list page p50 @${k}`, list.p50, 'ms', undefined, `${list.n} samples`),
      figure(S, `list page p95 @${k}`, list.p95, 'ms', { op: '<=', value: LIST_P95_TARGET_MS, label: `≤ ${LIST_P95_TARGET_MS} ms at 10k` }),
      figure(S, `list page filtered+sorted p95 @${k}`, filtered.p95, 'ms'),
      figure(S, `ticket page (200 entries) p95 @${k}`, page.p95, 'ms', { op: '<=', value: TICKET_P95_TARGET_MS, label: `≤ ${TICKET_P95_TARGET_MS} ms` }),
      figure(S, 'change → other open page p95', liveS.p95, 'ms', { op: '<=', value: LIVE_P95_TARGET_MS, label: '≤ 1 s' }, `${liveS.n} changes`),
    ];
  },
};
