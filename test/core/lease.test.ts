import type { Db } from 'mongodb';
import { withLease } from '../../src/store/lease.js';
import { testDatabase } from '../support/db.js';
import type { Database } from '../../src/store/database.js';

/* One holder at a time across instances (one IMAP poller per mailbox): live leases are kept alive
 * by their heartbeat, dead ones are taken over once expired. */
let database: Database;
let db: Db;
beforeAll(async () => {
  database = await testDatabase('lease');
  db = database.connection.db as unknown as Db;
});
afterAll(async () => { await database?.close(); });

test('of many contenders exactly one runs, and its heartbeat keeps the lease past its ttl', async () => {
  // A ttl a loaded CI machine's round trips cannot outlast between two heartbeats (ttl / 3 apart).
  const TTL = 1_000;
  let running = 0;
  let maxRunning = 0;
  const work = async () => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    await new Promise((r) => setTimeout(r, 5 * TTL)); // five times the ttl: only the heartbeat keeps it
    running--;
  };
  const first = withLease(db, 'poll:a', TTL, work);
  await new Promise((r) => setTimeout(r, 50));
  const others: Promise<{ ran: boolean }>[] = [];
  for (let i = 0; i < 8; i++) {
    others.push(withLease(db, 'poll:a', TTL, work));
    await new Promise((r) => setTimeout(r, TTL / 4)); // past the ttl, and all eight well before the first is done
  }
  expect((await first).ran).toBe(true);
  expect((await Promise.all(others)).filter((r) => r.ran)).toHaveLength(0);
  expect(maxRunning).toBe(1);
  // Released: the next one runs at once.
  expect((await withLease(db, 'poll:a', 200, async () => 'next')).ran).toBe(true);
});

test('a lease held by a live instance is respected; one left by a dead instance is taken over once expired', async () => {
  await db.collection('leases').insertOne({ _id: 'poll:b' as never, owner: 'other', expiresAt: new Date(Date.now() + 60_000) });
  expect((await withLease(db, 'poll:b', 1000, async () => 1)).ran).toBe(false);
  await db.collection('leases').updateOne({ _id: 'poll:b' as never }, { $set: { expiresAt: new Date(Date.now() - 1) } });
  const res = await withLease(db, 'poll:b', 1000, async () => 2);
  expect(res).toEqual({ ran: true, value: 2 });
});
