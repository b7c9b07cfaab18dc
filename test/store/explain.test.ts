import { ObjectId, type Document } from 'mongodb';
import { recentRuleRuns } from '../../src/automations/runs.js';
import { eventsStoredSince } from '../../src/console/live.js';
import { startMailApp, eventually, type MailTestApp } from '../email/support.js';

/*
 * Every query the product runs on a large collection must use an index. The queries are not
 * re-typed here (they would drift from the code): the app's own commands are captured while it
 * lists, opens, creates, replies, threads mail and delivers, on collections of 10k documents,
 * and each captured filter is explained on the same database.
 *
 * Reading a plan: on MongoDB a full scan is a COLLSCAN stage. On the embedded engine (FerretDB 2 +
 * DocumentDB) it is a "Seq Scan", or — the disguised form — a scan of the `_id_` index whose only
 * condition is the collection's shard key, which reads every document.
 */

const SIZE = Number(process.env.EXPLAIN_DOCS ?? 10_000);
/** Collections that grow with use; small ones (settings, templates, installations) are read whole on purpose. */
const LARGE = new Set(['tickets', 'entries', 'people', 'deliveries', 'activities', 'events', 'mail_inbound', 'mail_outbound']);
const READS = new Set(['find', 'findOne', 'countDocuments', 'findOneAndUpdate', 'updateOne', 'updateMany', 'deleteOne', 'deleteMany']);

/**
 * Full scans accepted on purpose, each with its reason. People type-ahead is a case-insensitive
 * substring match over name and email: no B-tree index serves a substring, and the read is capped
 * (limit 200, sorted by name); its time at SIZE people is printed below.
 */
const ACCEPTED_SCANS: { what: string; matches: (c: { collection: string; filter: Document }) => boolean }[] = [
  {
    what: 'people type-ahead (substring regex over name/email)',
    matches: (c) => c.collection === 'people' && Array.isArray(c.filter.$or)
      && (c.filter.$or as Document[]).every((clause) => Object.values(clause).every((v) => v instanceof RegExp)),
  },
];

let t: MailTestApp;
const captured: { collection: string; method: string; filter: Document; sort?: Document }[] = [];

function planNodes(plan: unknown, out: Document[] = []): Document[] {
  if (Array.isArray(plan)) { for (const p of plan) planNodes(p, out); return out; }
  if (plan && typeof plan === 'object') {
    out.push(plan as Document);
    for (const v of Object.values(plan as Document)) if (v && typeof v === 'object') planNodes(v, out);
  }
  return out;
}

/** 'index:<name>' when an index narrows the read, 'full scan' otherwise. */
export function accessPath(explain: Document): string {
  const nodes = planNodes(explain.queryPlanner ?? explain);
  if (nodes.some((n) => n.stage === 'COLLSCAN' || String(n['Node Type'] ?? '').includes('Seq Scan'))) return 'full scan';
  const mongo = nodes.find((n) => n.stage === 'IXSCAN' && n.indexName);
  if (mongo) return `index:${mongo.indexName}`;
  const pg = nodes.filter((n) => typeof n['Index Name'] === 'string');
  const narrowing = pg.find((n) => !(n['Index Name'] === '_id_' && /^\(shard_key_value = '\d+'::bigint\)$/.test(String(n['Index Cond'] ?? ''))));
  return narrowing ? `index:${narrowing['Index Name']}` : 'full scan';
}

beforeAll(async () => {
  t = await startMailApp({}, { workers: true });
  const db = t.app.ctx.db.connection.db!;
  await t.api('POST', '/people', { email: 'tom@it.example', name: 'Tom', roles: ['technician'] });
  const seed = (await t.api('POST', '/tickets', { title: 'Printer jams', description: 'It jams on page 2.', requester: { email: 'ann@corp.example' } })).body;
  await t.api('POST', `/tickets/${seed.number}/entries`, { kind: 'note', text: 'Checked the tray.', author: { email: 'tom@it.example' } });
  await t.app.ctx.deliveries.drain();

  // Clone the seed into SIZE tickets, conversations, people, activity and deliveries.
  const stamp = Date.now();
  const clone = async (name: string, make: (d: Document, i: number) => Document) => {
    const docs = await db.collection(name).find({}).toArray();
    if (docs.length === 0) return;
    const batch: Document[] = [];
    for (let i = 0; i < SIZE; i++) batch.push(make({ ...docs[i % docs.length]! }, i));
    for (let i = 0; i < batch.length; i += 2000) await db.collection(name).insertMany(batch.slice(i, i + 2000), { ordered: false });
  };
  const statuses = ['Open', 'Pending', 'Resolved', 'Closed'];
  const number = (i: number) => seed.number + 1000 + i;
  await clone('tickets', (d, i) => ({ ...d, _id: new ObjectId(), number: number(i), status: statuses[i % 4], pending: [], createdAt: new Date(stamp - (SIZE - i) * 60_000), updatedAt: new Date(stamp - (SIZE - i) * 30_000) }));
  // Lists see the clones: tickets are numbered from the counter.
  await db.collection('counters').updateOne({ _id: 'ticket' as never }, { $set: { seq: number(SIZE - 1) } });
  await clone('entries', (d, i) => ({ ...d, _id: new ObjectId(), ticketNumber: number(i), messageId: `<clone-${i}@help.example>` }));
  await clone('activities', (d, i) => ({ ...d, _id: new ObjectId(), ticketNumber: number(i) }));
  await clone('people', (d, i) => ({ ...d, _id: new ObjectId(), primaryEmail: `p${i}@corp.example`, emails: [`p${i}@corp.example`], identities: {} }));
  await clone('events', (d, i) => ({ ...d, _id: new ObjectId(), at: new Date(stamp - i * 1000), storedAt: new Date(stamp - i * 1000) }));
  await clone('deliveries', (d, i) => ({ ...d, _id: new ObjectId(), eventId: `clone-${i}`, status: 'done' }));

  t.app.ctx.db.connection.base.set('debug', (collection: string, method: string, ...args: unknown[]) => {
    if (!LARGE.has(collection) || !READS.has(method)) return;
    const [filter, second] = args as [Document | undefined, Document | undefined];
    captured.push({ collection, method, filter: filter ?? {}, sort: (second as Document | undefined)?.sort });
  });

  // What technicians, end users, mail and workers do all day.
  await t.api('GET', '/tickets');
  const first = (await t.api('GET', '/tickets?status=Open&limit=25')).body;
  await t.api('GET', `/tickets?status=Open&limit=25&cursor=${encodeURIComponent(first.next)}`);
  await t.api('GET', '/tickets?sort=updated');
  await t.api('GET', '/tickets?sort=created&status=Pending');
  await t.api('GET', '/tickets?priority=High');
  await t.api('GET', '/tickets?assignee=none');
  await t.api('GET', `/tickets/${number(4242)}`);
  await t.api('GET', `/tickets/${number(4242)}?view=contact`);
  await t.api('GET', '/people?q=p42@');
  const created = (await t.api('POST', '/tickets', { title: 'VPN down', description: 'Since 9:00.', requester: { email: 'p77@corp.example' } })).body;
  await t.api('PATCH', `/tickets/${created.number}`, { status: 'Pending', actor: { email: 'tom@it.example' } });
  await t.api('POST', `/tickets/${created.number}/entries`, { kind: 'reply', text: 'On it.', author: { email: 'tom@it.example' } });
  await t.app.ctx.deliveries.drain();
  const out = (await eventually(() => t.capture.to('p77@corp.example').at(-1), 15_000))!.mail;
  await t.send({
    from: 'p77@corp.example', to: 'support@help.example', subject: `Re: ${out.subject}`,
    inReplyTo: out.messageId, references: out.messageId, text: 'Thanks, works again.',
  });
  await eventually(async () => (await t.api('GET', `/tickets/${created.number}`)).body.entries.length >= 3, 15_000);
  await t.app.ctx.deliveries.drain();
  // The console's rule page: a rule's recent runs from the activity log.
  await recentRuleRuns(t.app.ctx.db.models.Activity, String(new ObjectId()));
  // The console's tail of events other instances stored.
  await eventsStoredSince(t.app.ctx.db.models.Event, new Date(Date.now() - 5_000));
  // The console's list orders (the JSON API lists by number only): page 1 and 2.
  const service = t.app.ctx.service;
  const updated = await service.listTickets({ sort: 'updated', limit: 25 });
  await service.listTickets({ sort: 'updated', limit: 25, cursor: updated.next! });
  await service.listTickets({ sort: 'created', status: 'Pending', limit: 25 });
  await service.listTickets({ sort: 'priority', status: 'Open', limit: 25 });
}, 300_000);
afterAll(async () => { await t?.close(); });

test(`every query on a large collection uses an index (${SIZE} documents each)`, async () => {
  const db = t.app.ctx.db.connection.db!;
  const seen = new Map<string, string>();
  for (const c of captured) {
    const key = `${c.collection}.${c.method} ${JSON.stringify(c.filter)} sort=${JSON.stringify(c.sort ?? {})}`;
    if (seen.has(key)) continue;
    // Queries by _id are served by the primary key on every engine.
    if (Object.keys(c.filter).length > 0 && Object.keys(c.filter).every((k) => k === '_id')) { seen.set(key, 'index:_id_'); continue; }
    const accepted = ACCEPTED_SCANS.find((a) => a.matches(c));
    if (accepted) { seen.set(key, `accepted scan: ${accepted.what}`); continue; }
    const cursor = db.collection(c.collection).find(c.filter);
    if (c.sort) cursor.sort(c.sort);
    seen.set(key, accessPath(await cursor.limit(50).explain()));
  }
  const report = [...seen].map(([k, v]) => `${v.padEnd(28)} ${k}`.slice(0, 300)).sort();
  console.log(`explain: ${seen.size} distinct queries\n${report.join('\n')}`);
  // The hot paths are all in the capture (a capture that misses them proves nothing).
  const at = performance.now();
  await t.api('GET', '/people?q=p4242');
  console.log(`explain: people type-ahead over ${SIZE + 3} people took ${Math.round(performance.now() - at)} ms`);
  const keys = [...seen.keys()].join('\n');
  for (const expected of ['tickets.find', 'tickets.findOne', 'entries.find', 'people.findOne', 'deliveries.findOneAndUpdate']) {
    expect(keys).toContain(expected);
  }
  expect(keys).toMatch(/messageId/);
  expect(keys).toMatch(/activities\.find \{"meta\.ruleId"/);
  expect(keys).toMatch(/events\.find \{"storedAt"/);
  expect(keys).toMatch(/tickets\.find \{"updatedAt":\{"\$gte"/);
  expect(report.filter((r) => r.startsWith('full scan'))).toEqual([]);
}, 300_000);
