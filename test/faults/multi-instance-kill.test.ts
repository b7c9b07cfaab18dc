import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { freePort } from '../../src/store/embedded.js';
import { freshDbName, testMongoUri } from '../support/db.js';
import { sleep, startServiceProcess, waitFor, type ServiceProcess } from '../../bench/lib/service-process.js';
import { countBy, plainMail, sendOnce } from './support/mail.js';
import { checkMailCopies, readOutboxes } from './support/outbox.js';

/*
 * Issue 15, "Several instances": three real `serve` processes (WORKERS=true on all) on one
 * database, each with its own HTTP port, DATA_DIR (so its own outbox) and inbound SMTP port.
 * API writers create tickets and answer them through all three; senders deliver mail over SMTP to
 * all three and retry elsewhere when an attempt is not answered 250, as an MTA does. Every few
 * seconds one instance (round robin) is killed with -9 and started again. After the deliveries
 * have drained: every acknowledged write exists exactly once, every acknowledged mail is exactly
 * one entry, and every mail to a requester (ticket opened, reply) is in the outboxes of all
 * instances together exactly once — counted by the Message-ID the email notifier derives from the
 * ticket number / entry id (src/email/outbound.ts, `messageIdFor`).
 * Scaled for CI (~2-3 min); bigger: FAULT_MULTI_SECONDS=600 FAULT_MULTI_KILL_EVERY_MS=3000
 * FAULT_MULTI_WRITERS=4 FAULT_MULTI_SENDERS=3.
 */
const INSTANCES = 3;
const LOAD_SECONDS = Number(process.env.FAULT_MULTI_SECONDS ?? 60);
const KILL_EVERY_MS = Number(process.env.FAULT_MULTI_KILL_EVERY_MS ?? 5000);
/** API writers and SMTP senders per instance. */
const WRITERS = Number(process.env.FAULT_MULTI_WRITERS ?? 1);
const SENDERS = Number(process.env.FAULT_MULTI_SENDERS ?? 1);
/** The delivery lease is 60 s: a delivery claimed by a killed instance waits that long to be taken over. */
const DRAIN_MS = 150_000;

const REPLY_DOMAIN = 'help.example';
const svcs: (ServiceProcess | null)[] = [];
const dataDirs: string[] = [];
let mongo: MongoClient | null = null;
afterAll(async () => {
  for (const s of svcs) await s?.kill9();
  await mongo?.close();
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
});

test(`${INSTANCES} serve processes with workers on one database, kill -9 one every ${KILL_EVERY_MS} ms for ${LOAD_SECONDS} s: every acknowledged write and mail once, every requester mail sent once`, async () => {
  const base = testMongoUri();
  const uri = `${base}${base.endsWith('/') ? '' : '/'}${freshDbName('multikill')}`;
  const envs: Record<string, string>[] = [];
  const ports: number[] = [];
  const smtpPorts: number[] = [];
  for (let i = 0; i < INSTANCES; i++) {
    dataDirs.push(mkdtempSync(path.join(os.tmpdir(), `deskbridge-multikill-${i}-`)));
    ports.push(await freePort());
    smtpPorts.push(await freePort());
    envs.push({
      MONGODB_URI: uri, DATA_DIR: dataDirs[i]!, WORKERS: 'true', INBOUND_SMTP_PORT: String(smtpPorts[i]),
      MAIL_FROM: `Helpdesk <support@${REPLY_DOMAIN}>`, MAIL_RATE_LIMIT: '100000', SCHEDULER_PROCESS_EVERY_MS: '500',
      MAIL_CLAIM_STALE_SECONDS: process.env.FAULT_CLAIM_STALE_SECONDS ?? '10',
    });
  }
  mongo = await MongoClient.connect(uri);
  const db = mongo.db();
  // The start budget multi-instance-channels uses: on the shared 2-core machine (load ~20) the default
  // 60 s was not enough for the second instance's first start once (2026-12-07, with the channels test beside it).
  const start = (i: number) => startServiceProcess({ env: envs[i]!, port: ports[i]!, readyTimeoutMs: 180_000 });
  // The first one alone creates the schema; the others then start side by side with it.
  svcs.push(await start(0));
  for (let i = 1; i < INSTANCES; i++) svcs.push(await start(i));
  expect((await svcs[0]!.api('POST', '/people', { email: 'tom@help.example', name: 'Tom', roles: ['technician'] })).status).toBe(201);

  const runId = Date.now().toString(36);
  const ackedTickets: { title: string; requester: string }[] = [];
  const ackedReplies: string[] = [];
  const ackedMails = new Set<string>();
  const stats = { cutOff: 0, otherStatus: [] as string[], smtpAttempts: 0, smtpCutOff: 0, smtpTemporary: 0, smtpOther: [] as string[], kills: 0, halfTakenMail: 0, pendingTickets: 0 };
  let stop = false;

  // API writer: creates a ticket through its instance, answers it through the next one.
  const writer = async (w: number) => {
    let n = 0;
    while (!stop) {
      const id = `${runId}-w${w}-${n++}`;
      const via = svcs[w % INSTANCES]!;
      const requester = `req-${id}@corp.example`;
      let number: number | null = null;
      try {
        const r = await via.api('POST', '/tickets', { title: `mk ${id}`, description: `problem ${id}`, requester: { email: requester } });
        if (r.status === 201) { ackedTickets.push({ title: `mk ${id}`, requester }); number = r.body.number; }
        else stats.otherStatus.push(`create ${r.status}`);
      } catch { stats.cutOff++; await sleep(300); continue; }
      if (number === null) continue;
      const other = svcs[(w + 1) % INSTANCES]!;
      try {
        const r = await other.api('POST', `/tickets/${number}/entries`, { kind: 'reply', text: `answer ${id}`, author: { email: 'tom@help.example' } });
        if (r.status === 201) ackedReplies.push(`answer ${id}`);
        else stats.otherStatus.push(`reply ${r.status}`);
      } catch { stats.cutOff++; await sleep(300); }
    }
  };
  // SMTP sender: one new mail after another; a mail not answered 250 is retried on the next instance.
  const sender = async (s: number) => {
    let i = 0;
    let target = s;
    while (!stop) {
      const m = plainMail(i, { idPrefix: `mk-${runId}-s${s}`, from: `sender-s${s}-${i}@corp.example` });
      for (;;) {
        stats.smtpAttempts++;
        const r = await sendOnce(smtpPorts[target % INSTANCES]!, m.raw, { from: `sender-s${s}-${i}@corp.example`, to: [`support@${REPLY_DOMAIN}`] }, 60_000);
        if (r.code === 250) { ackedMails.add(m.messageId); break; }
        if (r.code === 0) stats.smtpCutOff++;
        else if (r.code >= 400 && r.code < 500) stats.smtpTemporary++;
        else { stats.smtpOther.push(`${r.code} ${r.response}`); break; }
        target++;
        await sleep(200);
      }
      i++;
    }
  };

  const load = Promise.all([
    ...Array.from({ length: WRITERS * INSTANCES }, (_, w) => writer(w)),
    ...Array.from({ length: SENDERS * INSTANCES }, (_, s) => sender(s)),
  ]);
  const progress = setInterval(() => console.log(`multi-instance-kill progress: ${ackedTickets.length} tickets, ${ackedReplies.length} replies, ${ackedMails.size} mails acknowledged; ${stats.kills} kills`), 15_000);
  const loadUntil = Date.now() + LOAD_SECONDS * 1000;
  let victim = 0;
  // A killed instance restarts in the background, so the next kill comes on time even while it is
  // still starting (then two are down at once); an instance is killed again only once it is up.
  const restarting: (Promise<void> | null)[] = Array.from({ length: INSTANCES }, () => null);
  while (Date.now() < loadUntil) {
    await sleep(KILL_EVERY_MS * (0.5 + Math.random()));
    if (Date.now() >= loadUntil) break;
    const k = victim++ % INSTANCES;
    await restarting[k];
    await svcs[k]!.kill9();
    stats.kills++;
    stats.halfTakenMail += await db.collection('mail_inbound').countDocuments({ state: 'processing' });
    stats.pendingTickets += await db.collection('tickets').countDocuments({ 'pending.0': { $exists: true } });
    restarting[k] = start(k).then((s) => { svcs[k] = s; });
  }
  await Promise.all(restarting);
  stop = true;
  await load;
  clearInterval(progress);

  // Drain: no half-done change, no mail half-taken, no delivery pending anywhere.
  const drainStarted = Date.now();
  await waitFor(async () => (await db.collection('tickets').countDocuments({ 'pending.0': { $exists: true } })) === 0
    && (await db.collection('deliveries').countDocuments({ status: 'pending' })) === 0, DRAIN_MS, 500);
  const drainMs = Date.now() - drainStarted;
  expect(stats.otherStatus).toEqual([]);
  expect(stats.smtpOther).toEqual([]);
  expect(await db.collection('deliveries').countDocuments({ channel: 'email', status: { $ne: 'done' } })).toBe(0);

  // Every acknowledged API write exactly once.
  const tickets = await db.collection('tickets').find({ title: { $regex: `^mk ${runId}-` } }, { projection: { title: 1, number: 1 } }).toArray();
  const ticketsPerTitle = countBy(tickets.map((t) => String(t.title)));
  const entries = await db.collection('entries').find({ text: { $regex: `^answer ${runId}-` } }, { projection: { text: 1 } }).toArray();
  const repliesPerText = countBy(entries.map((e) => String(e.text)));
  const ticketsNotOnce = ackedTickets.filter((t) => ticketsPerTitle[t.title] !== 1).map((t) => `${t.title}: ${ticketsPerTitle[t.title] ?? 0}`);
  const repliesNotOnce = ackedReplies.filter((t) => repliesPerText[t] !== 1).map((t) => `${t}: ${repliesPerText[t] ?? 0}`);
  const duplicateWrites = [...Object.entries(ticketsPerTitle), ...Object.entries(repliesPerText)].filter(([, c]) => c > 1);

  // Every acknowledged mail exactly one entry.
  const mailEntries = await db.collection('entries').find({ messageId: { $regex: `^mk-${runId}-` } }, { projection: { messageId: 1, ticketNumber: 1 } }).toArray();
  const entriesPerMail = countBy(mailEntries.map((e) => String(e.messageId)));
  const mailsNotOnce = [...ackedMails].filter((id) => entriesPerMail[id] !== 1).map((id) => `${id}: ${entriesPerMail[id] ?? 0}`);
  const duplicateMailEntries = Object.entries(entriesPerMail).filter(([, c]) => c > 1);

  // Every mail to a requester in the outboxes of all instances together exactly once.
  const outbox = readOutboxes(dataDirs);
  const ticketNumberByTitle = new Map(tickets.map((t) => [String(t.title), Number(t.number)]));
  const replyEntries = await db.collection('entries').find({ text: { $in: ackedReplies } }, { projection: { _id: 1, text: 1 } }).toArray();
  const expectedMails = [
    ...ackedTickets.map((t) => ({ what: `ticket opened: ${t.title}`, id: `deskbridge.t${ticketNumberByTitle.get(t.title)}@${REPLY_DOMAIN}` })),
    ...replyEntries.map((e) => ({ what: `reply: ${e.text}`, id: `deskbridge.e${String(e._id)}@${REPLY_DOMAIN}` })),
    ...mailEntries.map((e) => ({ what: `mail received: ${e.messageId}`, id: `deskbridge.t${e.ticketNumber}@${REPLY_DOMAIN}` })),
  ];
  // A mail may go out again only where its record shows an attempt that died during the hand-over (checkMailCopies).
  const { resent, notOnce: mailedNotOnce, tooMany: sentTwice } = await checkMailCopies(db, outbox, expectedMails);
  console.log(`multi-instance-kill: ${stats.kills} kills over ${LOAD_SECONDS} s; acknowledged ${ackedTickets.length} tickets, ${ackedReplies.length} replies, `
    + `${ackedMails.size} mails (${stats.smtpAttempts} SMTP attempts, ${stats.smtpCutOff} cut off, ${stats.smtpTemporary} 4xx); ${stats.cutOff} API requests failed (instance killed or down); `
    + `kills left ${stats.pendingTickets} tickets with pending writes and ${stats.halfTakenMail} mails half-taken; drained in ${drainMs} ms; `
    + `${outbox.length} mails in the outboxes (${outbox.filter((o) => o.instance === 0).length}/${outbox.filter((o) => o.instance === 1).length}/${outbox.filter((o) => o.instance === 2).length}); `
    + `not exactly once: ${ticketsNotOnce.length} tickets, ${repliesNotOnce.length} replies, ${mailsNotOnce.length} mails, ${mailedNotOnce.length} notifications; `
    + `duplicates: ${duplicateWrites.length} writes, ${duplicateMailEntries.length} mail entries, ${sentTwice.length} sent mails; ${resent} mails sent again after an interrupted hand-over (recorded)`);
  if (sentTwice.length) console.log('multi-instance-kill duplicate mails', sentTwice.slice(0, 10));

  expect(ackedTickets.length).toBeGreaterThan(0);
  expect(ackedMails.size).toBeGreaterThan(0);
  expect(stats.kills).toBeGreaterThan(0);
  expect(ticketsNotOnce).toEqual([]);
  expect(repliesNotOnce).toEqual([]);
  expect(duplicateWrites).toEqual([]);
  expect(mailsNotOnce).toEqual([]);
  expect(duplicateMailEntries).toEqual([]);
  expect(mailedNotOnce).toEqual([]);
  expect(sentTwice).toEqual([]);
  // Recurring jobs are scheduled once, not once per instance or per restart.
  expect(await db.collection('jobs').countDocuments({ name: 'outbox:sweep' })).toBe(1);
  for (const s of svcs) await s?.stop();
  await db.dropDatabase();
}, 400_000);
