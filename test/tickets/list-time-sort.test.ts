import { ObjectId, type Document } from 'mongodb';
import type { TicketService } from '../../src/tickets/service.js';
import { startTestApp, type TestApp } from '../support/db.js';

/*
 * The `updated` and `created` list orders (the console's default is `updated`) read a page as one
 * bounded window of the time field. The pages must be exactly the plain sorted query, cut into
 * pages by the cursor, ties included; and no window may hold much more than a page, also when the
 * times have a long gap (a year-old backlog and one ticket changed today), which is what made the
 * console's list sort all 10k tickets of the bench.
 */

let t: TestApp;
let s: TicketService;
const SIZE = 600;
const base = Date.UTC(2025, 0, 1);
const windows: Document[] = [];

beforeAll(async () => {
  t = await startTestApp();
  s = t.app.ctx.service;
  const seed = await s.createTicket({ title: 'Seed', description: 'x', requester: { email: 'ann@corp.example' }, source: 'api' });
  const db = t.app.ctx.db.connection.db!;
  const doc = (await db.collection('tickets').findOne({ number: seed.number }))!;
  await db.collection('tickets').deleteMany({});
  const statuses = ['Open', 'Pending', 'Resolved'];
  const docs: Document[] = [];
  for (let n = 1; n <= SIZE; n++) {
    const createdAt = new Date(base + n * 60_000);
    docs.push({ ...doc, _id: new ObjectId(), number: n, status: statuses[n % 3], createdAt, updatedAt: new Date(createdAt.getTime() + 30_000) });
  }
  // Ties: five tickets changed in the same millisecond.
  for (let n = 300; n < 305; n++) docs[n - 1]!.updatedAt = new Date(base + 299 * 60_000 + 45_000);
  // Two old tickets changed today, and the newest ticket created today: a year-long gap.
  const now = Date.now();
  docs[0]!.updatedAt = new Date(now - 5_000);
  docs[1]!.updatedAt = new Date(now - 4_000);
  docs.push({ ...doc, _id: new ObjectId(), number: SIZE + 1, status: 'Open', createdAt: new Date(now - 3_000), updatedAt: new Date(now - 3_000) });
  await db.collection('tickets').insertMany(docs);
  await db.collection('counters').updateOne({ _id: 'ticket' as never }, { $set: { seq: SIZE + 1 } }, { upsert: true });

  t.app.ctx.db.connection.base.set('debug', (collection: string, method: string, filter: Document) => {
    if (collection === 'tickets' && method === 'find' && (filter?.updatedAt?.$gte || filter?.createdAt?.$gte)) windows.push(filter);
  });
});
afterAll(async () => {
  t.app.ctx.db.connection.base.set('debug', false);
  await t.close();
});

async function allPages(filter: { sort: 'updated' | 'created'; status?: string }, limit: number): Promise<number[]> {
  const out: number[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 1000; i++) {
    const page = await s.listTickets({ ...filter, limit, cursor });
    out.push(...page.items.map((x) => x.number));
    if (!page.next) return out;
    cursor = page.next;
  }
  throw new Error('paging did not end');
}

async function plainOrder(field: 'updatedAt' | 'createdAt', status?: string): Promise<number[]> {
  const docs = await s.models.Ticket.find(status ? { status } : {}, { number: 1 }).sort({ [field]: -1, number: -1 }).lean();
  return docs.map((d) => d.number);
}

test.each([
  ['updated', 'updatedAt', undefined],
  ['updated', 'updatedAt', 'Pending'],
  ['created', 'createdAt', undefined],
] as const)('sort=%s (%s, status %s): the pages are the plain sorted query, ties and the gap included', async (sort, field, status) => {
  const expected = await plainOrder(field, status);
  expect(await allPages({ sort, status }, 25)).toEqual(expected);
  // A page size that cuts through the tie group.
  if (!status) expect(await allPages({ sort, status }, 7)).toEqual(expected);
}, 120_000);

test('the first page of the updated list reads a window of about a page, not the backlog', async () => {
  windows.length = 0;
  const page = await s.listTickets({ sort: 'updated', limit: 25 });
  expect(page.items.slice(0, 3).map((x) => x.number)).toEqual([SIZE + 1, 2, 1]);
  expect(windows.length).toBeGreaterThan(0);
  for (const w of windows) {
    // The window: the 25 newest tickets plus the two old ones changed today.
    expect(await s.models.Ticket.countDocuments(w)).toBeLessThanOrEqual(30);
  }
});
