/**
 * Core write/read path on the embedded database (or MONGODB_URI): N createTicket + N addEntry + N getTicket +
 * N getContactView on a fresh database pre-filled with S tickets (3 entries each, cloned raw so
 * filling is cheap), for a few sizes S. Prints p50/p95 ms, ops/s and database commands per operation and size.
 *
 *   npx tsx bench/core-writes.ts [--sizes 0,10000,100000] [--n 50]
 *
 * Uses MONGODB_URI when set, otherwise starts the embedded database in a temporary folder and stops it after.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Types } from 'mongoose';
import { parseArgs } from 'node:util';
import { createApp } from '../src/app.js';
import { loadConfig } from '../src/config/index.js';
import { createLogger } from '../src/logger.js';
import { startEmbeddedDatabase, type EmbeddedDatabase } from '../src/store/embedded.js';

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '0,10000,100000' }, n: { type: 'string', default: '50' } } });
const sizes = values.sizes!.split(',').map(Number);
const N = Number(values.n);

const counts = { commands: 0 };

function countCommand(ev: { commandName: string }): void {
  if (['find', 'update', 'delete', 'findAndModify', 'insert', 'count', 'aggregate', 'getMore'].includes(ev.commandName)) counts.commands++;
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

async function timed(label: string, size: number, n: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  counts.commands = 0;
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await fn(i);
    times.push(performance.now() - start);
  }
  times.sort((x, y) => x - y);
  const mean = times.reduce((x, y) => x + y, 0) / n;
  console.log(`${String(size).padStart(6)}  ${label.padEnd(16)} ${pct(times, 50).toFixed(1).padStart(8)} ${pct(times, 95).toFixed(1).padStart(8)} ms ${(1000 / mean).toFixed(1).padStart(8)} ops/s ${(counts.commands / n).toFixed(1).padStart(6)} cmds/op`);
}

async function main(): Promise<void> {
  let embedded: EmbeddedDatabase | null = null;
  let dataDir: string | null = null;
  let uri = process.env.MONGODB_URI;
  if (!uri) {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-bench-core-'));
    chmodSync(dataDir, 0o711); // as root the embedded PostgreSQL runs as postgres and must pass through
    embedded = await startEmbeddedDatabase({ dataDir });
    uri = embedded.uri;
  }
  // Command events for the per-operation counts (the URI is the only way into createApp's client).
  uri += (uri.includes('?') ? '&' : (new URL(uri).pathname.length > 1 ? '?' : '/?')) + 'monitorCommands=true';
  console.log(`size    operation             p50      p95         ops/s  commands/op (N=${N}, ${embedded ? 'embedded FerretDB 2 + PostgreSQL/DocumentDB' : 'MONGODB_URI'})`);
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
      tickets.push({ ...ticket, _id: ticketId, number });
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
