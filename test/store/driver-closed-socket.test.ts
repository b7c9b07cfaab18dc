import { testDatabase } from '../support/db.js';
import type { Database } from '../../src/store/database.js';

/*
 * When the database dies, Node destroys each client socket after the server's FIN and emits its
 * 'close' a moment later. A command written in between (the driver's server monitor is woken by
 * the first connection that reports the failure) used to wait for a 'drain' that a destroyed
 * socket never emits: the command hung for ever, the monitor with it, and the service answered
 * "database unavailable" long after the database was back (CI: SMTP 451 for 90 s after a restart).
 * patches/mongodb+*.patch and patches/mongoose++mongodb+*.patch make such a write fail as a
 * network error. The moment is made here directly: destroy a socket, then use its connection in
 * the same tick, before Node emits its 'close'. Reaching into the driver's internals is the only
 * way to hit that window on purpose; without the patch both tests time out.
 */

type Monitor = { connection: { socket: { destroy(): void } } | null; requestCheck(): void };
type Server = { monitor: Monitor; pool: { connections: Iterable<{ socket: { destroy(): void } }> } };

let db: Database;
beforeAll(async () => { db = await testDatabase('closedsocket'); });
afterAll(async () => { await db.close(); });

const serverOf = (d: Database): Server => {
  const topology = (d.connection.getClient() as unknown as { topology: { s: { servers: Map<string, Server> } } }).topology;
  return [...topology.s.servers.values()][0];
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the server monitor reports a heartbeat outcome after its socket was destroyed mid-close (it hung for ever)', async () => {
  await db.connection.db!.admin().command({ ping: 1 });
  const server = serverOf(db);
  await sleep(700); // past the monitor's 500 ms minimum between checks, so the wake runs a check now
  expect(server.monitor.connection).not.toBeNull();
  const outcomes: string[] = [];
  const client = db.connection.getClient();
  const ok = () => outcomes.push('succeeded');
  const failed = () => outcomes.push('failed');
  client.on('serverHeartbeatSucceeded', ok);
  client.on('serverHeartbeatFailed', failed);
  try {
    server.monitor.connection!.socket.destroy();
    server.monitor.requestCheck();
    const until = Date.now() + 5000;
    while (!outcomes.length && Date.now() < until) await sleep(50);
    expect(outcomes[0]).toBe('failed');
    // And the monitor goes on: the next check reaches the (running) server again.
    await db.connection.db!.admin().command({ ping: 1 });
  } finally {
    client.off('serverHeartbeatSucceeded', ok);
    client.off('serverHeartbeatFailed', failed);
  }
}, 20_000);

test('an operation on a pooled connection whose socket was destroyed mid-close fails over instead of hanging', async () => {
  const coll = db.connection.db!.collection('closed_socket_probe');
  await coll.insertOne({ n: 0 });
  const server = serverOf(db);
  const idle = [...server.pool.connections];
  expect(idle.length).toBeGreaterThan(0);
  for (const c of idle) c.socket.destroy();
  // Same tick: the pool still counts these connections as open and hands one out.
  const outcome = await Promise.race([
    coll.findOneAndUpdate({ n: 0 }, { $inc: { n: 1 } }).then(() => 'answered', (err: Error) => `error: ${err.message}`),
    sleep(5000).then(() => 'hung'),
  ]);
  expect(outcome).not.toBe('hung');
  // A retryable write is retried on a fresh connection: the increment landed once.
  const after = await coll.findOne({});
  expect(after?.n).toBe(outcome === 'answered' ? 1 : 0);
}, 20_000);
