import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { freePort } from '../../src/store/embedded.js';
import { freshDbName, testMongoUri } from '../support/db.js';
import { sleep, startServiceProcess, waitFor, type ServiceProcess } from '../../bench/lib/service-process.js';
import { countBy, plainMail, sendOnce } from './support/mail.js';

/*
 * kill -9 the real service (a child process) at a random moment while 1,000 mails arrive over
 * SMTP, restart it, and let the senders retry every mail that was not answered 250 — as a
 * sending MTA does. Afterwards every mail that got a 250 is in exactly one ticket entry and
 * none is duplicated: a 250 is only sent after the mail is stored, and a retry of a mail the
 * killed process had half-taken is neither lost nor stored twice.
 */

/** Scaled down from the 1,000: the service stores 2-3 new-ticket mails/s over SMTP on this
 * shared 2-core machine (one connection per mail, as MTAs retry), so 1,000 would not fit in 3 min. */
const MAILS = Number(process.env.FAULT_SMTP_MAILS ?? 150);
const SENDERS = 8;
const KILLS = 2;

let dataDir: string;
let svc: ServiceProcess | null = null;
let mongo: MongoClient | null = null;
afterAll(async () => {
  await svc?.kill9();
  await mongo?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

test(`kill -9 during ${MAILS} (scaled down from 1,000) SMTP mails (${KILLS} kills), senders retry: every 250 is exactly one entry, none duplicated`, async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-smtp-crash-'));
  const base = testMongoUri();
  const uri = `${base}${base.endsWith('/') ? '' : '/'}${freshDbName('smtpcrash')}`;
  const smtpPort = await freePort();
  const env = {
    MONGODB_URI: uri, DATA_DIR: dataDir, INBOUND_SMTP_PORT: String(smtpPort), MAIL_FROM: 'Helpdesk <support@help.example>',
    SCHEDULER_PROCESS_EVERY_MS: '500',
    // Longer than any delivery takes here (a live claim must never be taken over), short enough for the test.
    MAIL_CLAIM_STALE_SECONDS: process.env.FAULT_CLAIM_STALE_SECONDS ?? '10',
  };
  mongo = await MongoClient.connect(uri);
  const db = mongo.db();
  svc = await startServiceProcess({ env });

  const mails = Array.from({ length: MAILS }, (_, i) => plainMail(i, { idPrefix: `crash${Date.now()}` }));
  const acked = new Set<string>();
  const attempts = { total: 0, cutOff: 0, timeouts: 0, temporary: 0, other: [] as string[], lastCutOff: '' };
  let next = 0;
  let halfTaken = 0;
  const queue: number[] = [];
  const sender = async () => {
    for (;;) {
      const i = queue.length ? queue.shift()! : next < MAILS ? next++ : -1;
      if (i < 0) {
        if (acked.size === MAILS) return;
        await sleep(50);
        continue;
      }
      const m = mails[i]!;
      attempts.total++;
      const r = await sendOnce(smtpPort, m.raw, { from: `user${i % 50}@corp.example`, to: ['support@help.example'] }, 60_000);
      if (r.code === 250) acked.add(m.messageId);
      else {
        if (r.code === 0) { attempts.cutOff++; attempts.lastCutOff = r.response; if (/timeout/i.test(r.response)) attempts.timeouts++; }
        else if (r.code >= 400 && r.code < 500) attempts.temporary++;
        else attempts.other.push(`${r.code} ${r.response}`);
        if (r.code >= 500) acked.add(m.messageId); // a permanent refusal ends the sender's attempts (checked below: none)
        else {
          queue.push(i); // the MTA retries later
          await sleep(r.code === 0 ? 200 : 500);
        }
      }
    }
  };
  const senders = Promise.all(Array.from({ length: SENDERS }, sender));
  const progress = setInterval(() => console.log(`smtp-crash progress: ${acked.size} acknowledged, ${attempts.total} attempts, ${attempts.temporary} 4xx, ${attempts.cutOff} cut off (last: ${attempts.lastCutOff}); service alive: ${svc?.alive()}`), 10_000);

  for (let k = 0; k < KILLS; k++) {
    const target = Math.floor(((k + 1) * MAILS) / (KILLS + 1) + (Math.random() - 0.5) * 100);
    await waitFor(() => acked.size >= target, 120_000, 10);
    await sleep(Math.random() * 50);
    await svc.kill9();
    // Mails the kill caught between claim and done: their retries must be neither lost nor doubled.
    halfTaken += await db.collection('mail_inbound').countDocuments({ state: 'processing' });
    svc = await startServiceProcess({ env });
  }
  await senders;
  clearInterval(progress);
  expect(attempts.other).toEqual([]);

  await waitFor(async () => (await db.collection('tickets').countDocuments({ 'pending.0': { $exists: true } })) === 0, 30_000, 200);
  const ids = mails.map((m) => m.messageId);
  const entries = await db.collection('entries').find({ messageId: { $in: ids } }, { projection: { messageId: 1 } }).toArray();
  const perId = countBy(entries.map((e) => String(e.messageId)));
  const missing = [...acked].filter((id) => !perId[id]);
  const duplicated = Object.entries(perId).filter(([, c]) => c > 1);
  console.log(`smtp-crash: ${acked.size} mails acknowledged in ${attempts.total} attempts; ${attempts.cutOff} cut off by the kills (${attempts.timeouts} timeouts), ${attempts.temporary} answered 4xx; ${halfTaken} left half-taken by the kills; ${missing.length} missing, ${duplicated.length} duplicated`);
  if (duplicated.length) {
    const id = duplicated[0]![0];
    console.log('smtp-crash duplicate detail', JSON.stringify({
      inbound: await db.collection('mail_inbound').findOne({ _id: id as never }),
      entries: await db.collection('entries').find({ messageId: id }, { projection: { ticketNumber: 1, createdAt: 1, source: 1 } }).toArray(),
    }));
  }
  expect(missing).toEqual([]);
  expect(duplicated).toEqual([]);
  expect(entries.length).toBe(MAILS);
  await db.dropDatabase();
}, 175_000);
