import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { freePort, startEmbeddedDatabase, type EmbeddedDatabase } from '../../src/store/embedded.js';
import { ownDatabaseTest } from './support/external-db.js';
import { sleep, startServiceProcess, waitFor, type ServiceProcess } from '../../bench/lib/service-process.js';
import { countBy, plainMail, sendOnce } from './support/mail.js';

/*
 * The database stops (kill -9) for 10 s while mail arrives over SMTP. The listener must answer
 * 4xx so the senders retry (never 250 for a mail it could not store, never 5xx, never a hang),
 * the service must not crash, and it must accept mail again by itself when the database is back.
 * Every mail that got a 250 is exactly one entry. Runs its own FerretDB on a fixed port and data
 * dir so it can be stopped and restarted; with MONGODB_URI set it cannot stop that server.
 */

const { maybe, prefix } = ownDatabaseTest('smtp-database-outage');

const OUTAGE_MS = 10_000;
const SENDERS = 4;
/** An SMTP answer may wait for server selection a few times over, never minutes. */
const MAX_ANSWER_MS = 15_000;

let dataDir: string;
let db: EmbeddedDatabase | null = null;
let svc: ServiceProcess | null = null;
/** Set when the file ends, so a failed test still stops its senders (they would spin forever). */
let aborted = false;
afterAll(async () => {
  aborted = true;
  await svc?.kill9();
  await db?.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

maybe(`${prefix}database down for 10 s under SMTP load: 4xx so senders retry, no crash, recovers alone, every 250 stored once`, async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-smtp-outage-'));
  chmodSync(dataDir, 0o711); // as root the embedded PostgreSQL runs as postgres and must pass through
  const port = await freePort();
  db = await startEmbeddedDatabase({ dataDir: path.join(dataDir, 'db'), port });
  const uri = `${db.uri}smtpoutage`;
  const smtpPort = await freePort();
  svc = await startServiceProcess({
    env: {
      MONGODB_URI: uri, DATA_DIR: path.join(dataDir, 'data'), INBOUND_SMTP_PORT: String(smtpPort), MAIL_FROM: 'Helpdesk <support@help.example>',
      DB_SERVER_SELECTION_TIMEOUT_MS: '1500', SCHEDULER_PROCESS_EVERY_MS: '500', MAIL_CLAIM_STALE_SECONDS: '2',
    },
  });
  const s = svc;
  await waitFor(async () => (await sendOnce(smtpPort, plainMail(-1, { idPrefix: 'warmup' }).raw, { from: 'w@corp.example', to: ['support@help.example'] })).code === 250, 30_000, 200);

  type Outcome = { messageId: string; code: number; ms: number; at: number; response: string };
  const outcomes: Outcome[] = [];
  const acked = new Set<string>();
  let stopLoad = false;
  let seq = 0;
  const sender = async (w: number) => {
    let pending: ReturnType<typeof plainMail> | null = null;
    while ((!stopLoad || pending) && !aborted) {
      const m: ReturnType<typeof plainMail> = pending ?? plainMail(seq++, { idPrefix: `outage-w${w}` });
      const at = Date.now();
      const r = await sendOnce(smtpPort, m.raw, { from: 'load@corp.example', to: ['support@help.example'] }, MAX_ANSWER_MS + 5000);
      outcomes.push({ messageId: m.messageId, code: r.code, ms: Date.now() - at, at, response: r.response.slice(0, 200) });
      if (r.code === 250) { acked.add(m.messageId); pending = null; } else if (r.code >= 400 && r.code < 500) { pending = m; await sleep(200); } else { pending = null; }
      if (stopLoad && Date.now() - at > 60_000) return;
    }
  };
  const load = Promise.all(Array.from({ length: SENDERS }, (_, w) => sender(w)));

  await waitFor(() => acked.size >= 10, 30_000);
  const stopped = db;
  const downAt = Date.now();
  stopped.process.kill('SIGKILL');
  await stopped.stop();
  await sleep(Math.max(0, downAt + OUTAGE_MS - Date.now()));
  expect(s.alive()).toBe(true);
  db = await startEmbeddedDatabase({ dataDir: path.join(dataDir, 'db'), port });
  const upAt = Date.now();

  // Recovers by itself: mail is accepted again without restarting the service.
  // Seen once (1 run in 5) not to recover within 40 s on a quiet machine; the longer wait and the
  // service's log on failure are there to tell a slow recovery from a stuck one next time.
  // A CI run once saw no answer at all for 90 s (not even the senders' 20 s client timeouts), which
  // points at this process rather than the service: its event-loop delay and a probe on a fresh
  // connection are printed with the failure to tell the two apart.
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  await waitFor(() => outcomes.some((o) => o.code === 250 && o.at > upAt), 90_000).catch(async (err: Error) => {
    loop.disable();
    const probe = await sendOnce(smtpPort, plainMail(0, { idPrefix: 'probe' }).raw, { from: 'probe@corp.example', to: ['support@help.example'] }, 10_000);
    throw new Error(`${err.message}; ${outcomes.length} answers in all, last: ${JSON.stringify(outcomes.slice(-4))}; `
      + `test process event-loop delay max ${Math.round(loop.max / 1e6)} ms; a fresh probe now: ${JSON.stringify(probe)}\nservice log:\n${s.logTail()}`);
  });
  loop.disable();
  stopLoad = true;
  await load; // the senders finish their retries: everything ends acknowledged
  expect(s.alive()).toBe(true);

  const during = outcomes.filter((o) => o.at >= downAt && o.at < upAt);
  const codes = countBy(outcomes.map((o) => String(o.code)));
  console.log(`smtp-database-outage: ${outcomes.length} attempts (${JSON.stringify(codes)}), ${during.length} during the outage; ${acked.size} mails acknowledged; slowest answer ${Math.max(...outcomes.map((o) => o.ms))} ms; first 4xx: ${outcomes.find((o) => o.code >= 400)?.response ?? '-'}`);
  // Only 250 or a temporary 4xx: no 5xx (the sender would give up), no dropped connection, no hang.
  expect(outcomes.filter((o) => !(o.code === 250 || (o.code >= 400 && o.code < 500))).slice(0, 5)).toEqual([]);
  expect(during.filter((o) => o.code >= 400 && o.code < 500).length).toBeGreaterThan(0);
  expect(Math.max(...outcomes.map((o) => o.ms))).toBeLessThan(MAX_ANSWER_MS);

  const mongo = await MongoClient.connect(uri);
  try {
    const entries = await mongo.db().collection('entries').find({ messageId: { $in: [...acked] } }, { projection: { messageId: 1 } }).toArray();
    const perId = countBy(entries.map((e) => String(e.messageId)));
    expect([...acked].filter((id) => perId[id] !== 1)).toEqual([]);
  } finally {
    await mongo.close();
  }
}, 175_000);
