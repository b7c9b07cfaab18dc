/**
 * Core write/read path on the embedded FerretDB: N createTicket + N addEntry + N getTicket +
 * N getContactView on a fresh database pre-filled with S tickets (3 entries each, cloned raw so
 * filling is cheap), for a few sizes S. Prints ms/op and ops/s per operation and size.
 *
 *   npx tsx bench/core-writes.ts [--sizes 0,2000,10000] [--n 20]
 *
 * Uses MONGODB_URI when set, otherwise starts FerretDB in a temporary folder and stops it after.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Types } from 'mongoose';
import { parseArgs } from 'node:util';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/logger.js';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../src/store/embedded.js';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '0,2000,10000' }, n: { type: 'string', default: '20' } } });
const sizes = values.sizes!.split(',').map(Number);
const N = Number(values.n);

/** Collections that grow with use: a query on them that FerretDB cannot push down decodes them whole. */
const LARGE = new Set(['tickets', 'entries', 'people', 'activities', 'events']);
const counts = { commands: 0, scans: 0 };

/** On FerretDB 1.24 only a filter on `_id` alone, equal to a plain value, is pushed down into SQL. */
function pushedDown(filter: unknown): boolean {
  if (!filter || typeof filter !== 'object') return false;
  const keys = Object.keys(filter);
  const id = (filter as Record<string, unknown>)._id;
  return keys.length === 1 && keys[0] === '_id' && !(id && typeof id === 'object' && Object.keys(id).some((k) => k.startsWith('$')));
}

function countCommand(ev: { commandName: string; command: Record<string, any> }): void {
  const name = ev.commandName;
  if (!['find', 'update', 'delete', 'findAndModify', 'insert', 'count', 'aggregate'].includes(name)) return;
  counts.commands++;
  const collection = String(ev.command[name]);
  if (!LARGE.has(collection) || name === 'insert') return;
  const filter = name === 'find' ? ev.command.filter : name === 'update' ? ev.command.updates?.[0]?.q
    : name === 'delete' ? ev.command.deletes?.[0]?.q : name === 'findAndModify' ? ev.command.query : null;
  if (!pushedDown(filter)) {
    counts.scans++;
    if (process.env.BENCH_DEBUG) console.log(`  scan: ${name} ${collection} ${JSON.stringify(filter)}`);
  }
}

async function timed(label: string, size: number, n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  counts.commands = 0;
  counts.scans = 0;
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn(i);
  const ms = (performance.now() - start) / n;
  console.log(`${String(size).padStart(6)}  ${label.padEnd(16)} ${ms.toFixed(1).padStart(8)} ms/op ${(1000 / ms).toFixed(1).padStart(8)} ops/s ${(counts.commands / n).toFixed(1).padStart(6)} cmds/op ${(counts.scans / n).toFixed(1).padStart(5)} full scans/op`);
}

async function main(): Promise<void> {
  let embedded: EmbeddedDatabase | null = null;
  let dataDir: string | null = null;
  let uri = process.env.MONGODB_URI;
  if (!uri) {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-bench-core-'));
    embedded = await startEmbeddedDatabase({ dataDir });
    uri = embedded.uri;
  }
  // Command events for the per-operation counts (the URI is the only way into createApp's client).
  uri += (uri.includes('?') ? '&' : (new URL(uri).pathname.length > 1 ? '?' : '/?')) + 'monitorCommands=true';
  console.log(`size    operation           ms/op      ops/s    commands  full scans of a growing collection (N=${N}, ${embedded ? 'embedded FerretDB' : 'MONGODB_URI'})`);
  try {
    for (const size of sizes) {
      const config = loadConfig({ NODE_ENV: 'test', DESKBRIDGE_API_TOKEN: 'bench-token-0123456789abcdef', LOG_LEVEL: 'silent', DATA_DIR: dataDir ?? os.tmpdir() });
      const app = await createApp(config, { mongoUri: uri, dbName: `deskbridge_bench_core_${size}_${Date.now()}`, logger: createLogger('silent'), modules: [], workers: false });
      const { service, db } = app.ctx;
      await service.people.register({ email: 'tech@example.com', name: 'Tess Tech', roles: ['technician'] } as never);
      await prefill(app.ctx, size);
      db.connection.getClient().on('commandStarted', countCommand);
      const numbers: number[] = [];
      await timed('createTicket', size, N, async (i) => {
        const t = await service.createTicket({ title: `Printer ${i}`, description: 'It jams.\n'.repeat(40), requester: { email: `user${i % 5}@example.com` }, source: 'email' });
        numbers.push(t.number);
      });
      await timed('addEntry reply', size, N, (i) => service.addEntry(numbers[i]!, { kind: 'reply', text: 'Thanks, it works again.', author: { email: `user${i % 5}@example.com` }, source: 'email' }));
      await timed('addEntry note', size, N, (i) => service.addEntry(numbers[i]!, { kind: 'note', text: 'Checked the toner.', author: { email: 'tech@example.com' }, source: 'api' }));
      await timed('getTicket', size, N, (i) => service.getTicket(numbers[i]!));
      await timed('getContactView', size, N, (i) => service.getContactView(numbers[i]!));
      await timed('updateTicket', size, N, (i) => service.updateTicket(numbers[i]!, { priority: 'High' }));
      await db.connection.db!.dropDatabase();
      await app.stop();
    }
  } finally {
    await embedded?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

/** S tickets with 3 entries each, cloned from one real ticket and inserted in bulk. */
async function prefill(ctx: { service: import('../src/tickets/service.js').TicketService }, size: number): Promise<void> {
  if (size === 0) return;
  const { service } = ctx;
  const models = service.models;
  const seed = await service.createTicket({ title: 'Seed', description: 'seed', requester: { email: 'seed@example.com' }, source: 'email' });
  await service.addEntry(seed.number, { kind: 'reply', text: 'more', author: { email: 'seed@example.com' }, source: 'email' });
  await service.addEntry(seed.number, { kind: 'note', text: 'note', author: { email: 'tech@example.com' }, source: 'api' });
  const ticket = await models.Ticket.findOne({ number: seed.number }).lean();
  const entries = await models.Entry.find({ ticketNumber: seed.number }).lean();
  const batch = 1000;
  for (let from = 0; from < size; from += batch) {
    const tickets: Record<string, unknown>[] = [];
    const rows: Record<string, unknown>[] = [];
    for (let k = from; k < Math.min(size, from + batch); k++) {
      const number = 100_000 + k;
      const ticketId = new Types.ObjectId();
      const ids = entries.map(() => new Types.ObjectId());
      tickets.push({ ...ticket, _id: ticketId, number, entryIds: ids, publicEntryIds: ids.filter((_, j) => entries[j]!.visibility === 'public') });
      entries.forEach((e, j) => rows.push({ ...e, _id: ids[j], ticketId, ticketNumber: number }));
    }
    await models.Ticket.collection.insertMany(tickets as never[]);
    await models.Entry.collection.insertMany(rows as never[]);
  }
  await models.Counter.updateOne({ _id: 'ticket' }, { $set: { seq: 100_000 + size } }, { upsert: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
