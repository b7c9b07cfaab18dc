import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MongoClient } from 'mongodb';
import { freePort } from '../../src/store/embedded.js';
import { freshDbName, testMongoUri } from '../support/db.js';
import { sleep, startServiceProcess, waitFor, type ServiceProcess } from '../../bench/lib/service-process.js';
import { SlackWebApiStub } from '../slack/kit/index.js';
import { contractsAvailable } from '../slack/kit/contracts.js';
import { ConnectorStandIn } from '../teams/kit/connector.js';
import { conversationUpdate, memberOf, postActivity, teamsUser, TEAMS_CHANNEL_ID } from '../teams/kit/activities.js';
import { entryPostKey } from '../../src/teams/cards.js';
import { postMarker } from '../../src/teams/graph.js';
import { countBy, plainMail, sendOnce } from './support/mail.js';
import { checkMailCopies, readOutboxes } from './support/outbox.js';

/*
 * Issue 15, "every event delivered exactly once per channel": the sibling of multi-instance-kill
 * with Slack and Teams wired in. Three real `serve` processes (WORKERS=true on all) on one database
 * post to one Slack Web API stand-in and one Bot Connector stand-in (both validated against
 * ../shared/contracts); API writers create and answer tickets through all three, SMTP senders mail
 * all three, and a time-based automation rule (run by the agenda job on whichever instance holds
 * its lock) adds a note to every open ticket. One instance is killed with -9 every few seconds and
 * started again. After draining:
 * - Slack: each ticket's card posted once (message metadata with the ticket number), each entry
 *   (reply, mail, the rule's note) mirrored into its card's thread once (metadata with the entry id);
 * - Teams: each ticket has its card and each entry its thread reply; a second copy only where the
 *   record shows an attempt that died during its connector call (attempt ≥ 2: the Bot Connector
 *   cannot read messages back, docs/faults.md), never more copies than attempts;
 * - email: every mail to a requester once in all outboxes together, every acknowledged mail one entry;
 * - the job: the rule ran (activity `automation_ran`) exactly once per ticket, and its note exists once.
 * Scaled for CI (~3 min): FAULT_CHANNELS_SECONDS (30), FAULT_CHANNELS_KILL_EVERY_MS (5000),
 * FAULT_CHANNELS_PAUSE_MS (pause of each writer/sender between items, 2500).
 * Teams paces each conversation to 2 calls/s per process and every card lives in one channel, so
 * more load mostly lengthens the drain.
 */
const INSTANCES = 3;
const LOAD_SECONDS = Number(process.env.FAULT_CHANNELS_SECONDS ?? 30);
const KILL_EVERY_MS = Number(process.env.FAULT_CHANNELS_KILL_EVERY_MS ?? 5000);
const PAUSE_MS = Number(process.env.FAULT_CHANNELS_PAUSE_MS ?? 2500);
/** Delivery leases are 60 s; Teams drains at ~2 calls/s per instance into the one channel. */
const DRAIN_MS = Number(process.env.FAULT_CHANNELS_DRAIN_MS ?? 200_000);

const REPLY_DOMAIN = 'help.example';
const SLACK_CHANNEL = 'C0TICKETS';
const RULE_NOTE = 'Escalated by the open-ticket time rule';
const svcs: (ServiceProcess | null)[] = [];
const dataDirs: string[] = [];
let mongo: MongoClient | null = null;
let slack: SlackWebApiStub | null = null;
let teams: ConnectorStandIn | null = null;
/** Every 30 s: where the test is, so a run that times out on a loaded machine says in which phase. */
let progress: NodeJS.Timeout | null = null;
afterAll(async () => {
  if (progress) clearInterval(progress);
  for (const s of svcs) await s?.kill9();
  await mongo?.close();
  await slack?.stop();
  await teams?.stop();
  for (const d of dataDirs) rmSync(d, { recursive: true, force: true });
});

/*
 * Runs in `npm run test:faults` (CI) at the scaled numbers above; its findings so far and the run figures
 * that decided it gates CI are in docs/faults.md ("Several `serve` processes with Slack and Teams"):
 * deliveries given up while waiting for a killed instance's posting claim; a time rule's note added twice
 * by a resumed run; Teams thread replies "not matched" after the kills (an event recorded by a restarted
 * instance before its Teams module knew Teams was in use got no Teams delivery, now known at setup; a
 * refused or paced retry after a dead attempt cleared that attempt's intent, now put back); a requester
 * mail sent twice after a kill during the relay hand-over, the documented window, allowed only where the
 * record shows that attempt (checkMailCopies, shared with multi-instance-kill).
 */
const maybe = contractsAvailable() ? test : test.skip;
if (!contractsAvailable()) console.warn('SKIPPED multi-instance-channels: ../shared/contracts not found (set DESKBRIDGE_SHARED_DIR)');

maybe(`${INSTANCES} serve processes with Slack and Teams, kill -9 one every ${KILL_EVERY_MS} ms for ${LOAD_SECONDS} s: each card and thread message once per channel, each mail once, the time rule run once per ticket`, async () => {
  const testStarted = Date.now();
  let phase = 'starting the instances';
  let report = () => '';
  progress = setInterval(() => console.log(`multi-instance-channels progress at ${Math.round((Date.now() - testStarted) / 1000)} s: ${phase}${report()}`), 30_000);
  slack = new SlackWebApiStub();
  await slack.start();
  teams = await new ConnectorStandIn().start();
  const tom = teamsUser('Tom', 'tom@help.example');
  teams.directory.push(memberOf(tom));

  const base = testMongoUri();
  const uri = `${base}${base.endsWith('/') ? '' : '/'}${freshDbName('multichan')}`;
  const envs: Record<string, string>[] = [];
  const ports: number[] = [];
  const smtpPorts: number[] = [];
  for (let i = 0; i < INSTANCES; i++) {
    dataDirs.push(mkdtempSync(path.join(os.tmpdir(), `deskbridge-multichan-${i}-`)));
    ports.push(await freePort());
    smtpPorts.push(await freePort());
    envs.push({
      MONGODB_URI: uri, DATA_DIR: dataDirs[i]!, WORKERS: 'true', INBOUND_SMTP_PORT: String(smtpPorts[i]),
      MAIL_FROM: `Helpdesk <support@${REPLY_DOMAIN}>`, MAIL_RATE_LIMIT: '100000', SCHEDULER_PROCESS_EVERY_MS: '500',
      MAIL_CLAIM_STALE_SECONDS: '10', AUTOMATIONS_INTERVAL: '2 seconds',
      SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: 'test-signing-secret-0123456789', SLACK_TICKETS_CHANNEL: SLACK_CHANNEL, SLACK_API_URL: slack.url,
    });
  }
  mongo = await MongoClient.connect(uri);
  const db = mongo.db();
  // A generous start budget: on the shared 2-core machine (load 20 at times) a restart took over 60 s once.
  const start = (i: number) => startServiceProcess({ env: envs[i]!, port: ports[i]!, readyTimeoutMs: 180_000 });
  svcs.push(await start(0));
  expect((await svcs[0]!.api('POST', '/people', { email: tom.email, name: 'Tom', roles: ['technician'] })).status).toBe(201);
  // The bot is added to the tickets channel before the others start, so every instance wants Teams deliveries.
  expect((await postActivity(svcs[0]!.url, conversationUpdate(teams.url, tom, 'channel'))).status).toBeLessThan(300);
  const rule = await svcs[0]!.api('POST', '/automations', {
    name: 'Escalate open tickets', trigger: { type: 'time.status', status: 'Open', hours: 0.0005 }, actions: [{ type: 'addNote', text: RULE_NOTE }],
  });
  expect(rule.status).toBe(201);
  for (let i = 1; i < INSTANCES; i++) svcs.push(await start(i));

  const runId = Date.now().toString(36);
  const ackedTickets: { title: string }[] = [];
  const ackedReplies: string[] = [];
  const ackedMails = new Set<string>();
  const stats = { cutOff: 0, otherStatus: [] as string[], smtpOther: [] as string[], kills: 0 };
  let stop = false;

  const writer = async (w: number) => {
    let n = 0;
    while (!stop) {
      const id = `${runId}-w${w}-${n++}`;
      let number: number | null = null;
      try {
        const r = await svcs[w % INSTANCES]!.api('POST', '/tickets', { title: `mc ${id}`, description: `problem ${id}`, requester: { email: `req-${id}@corp.example` } });
        if (r.status === 201) { ackedTickets.push({ title: `mc ${id}` }); number = r.body.number; } else stats.otherStatus.push(`create ${r.status}`);
      } catch { stats.cutOff++; }
      if (number !== null) {
        try {
          const r = await svcs[(w + 1) % INSTANCES]!.api('POST', `/tickets/${number}/entries`, { kind: 'reply', text: `answer ${id}`, author: { email: tom.email } });
          if (r.status === 201) ackedReplies.push(`answer ${id}`); else stats.otherStatus.push(`reply ${r.status}`);
        } catch { stats.cutOff++; }
      }
      await sleep(PAUSE_MS);
    }
  };
  const sender = async (s: number) => {
    let i = 0;
    let target = s;
    while (!stop) {
      const m = plainMail(i, { idPrefix: `mc-${runId}-s${s}`, from: `sender-s${s}-${i}@corp.example` });
      for (;;) {
        const r = await sendOnce(smtpPorts[target % INSTANCES]!, m.raw, { from: `sender-s${s}-${i}@corp.example`, to: [`support@${REPLY_DOMAIN}`] }, 60_000);
        if (r.code === 250) { ackedMails.add(m.messageId); break; }
        if (r.code !== 0 && (r.code < 400 || r.code >= 500)) { stats.smtpOther.push(`${r.code} ${r.response}`); break; }
        target++;
        await sleep(200);
      }
      i++;
      await sleep(PAUSE_MS);
    }
  };

  const startedMs = Date.now() - testStarted;
  phase = 'load and kills';
  report = () => `; ${stats.kills} kills, ${ackedTickets.length} tickets, ${ackedReplies.length} replies, ${ackedMails.size} mails acknowledged, instances up: ${svcs.map((s) => (s?.alive() ? 1 : 0)).join('')}`;
  const load = Promise.all([...Array.from({ length: INSTANCES }, (_, w) => writer(w)), ...Array.from({ length: INSTANCES }, (_, s) => sender(s))]);
  const loadUntil = Date.now() + LOAD_SECONDS * 1000;
  let victim = 0;
  const restarting: (Promise<void> | null)[] = Array.from({ length: INSTANCES }, () => null);
  while (Date.now() < loadUntil) {
    await sleep(KILL_EVERY_MS * (0.5 + Math.random()));
    if (Date.now() >= loadUntil) break;
    const k = victim++ % INSTANCES;
    await restarting[k];
    await svcs[k]!.kill9();
    stats.kills++;
    restarting[k] = start(k).then((s) => { svcs[k] = s; });
  }
  const restartsFrom = Date.now();
  phase = 'waiting for the last restarts';
  await Promise.all(restarting);
  const lastRestartMs = Date.now() - restartsFrom;
  stop = true;
  await load;

  // Drain: no half-done change, no delivery pending, and the rule has run for every ticket.
  const drainStarted = Date.now();
  phase = 'draining';
  report = () => '';
  const ruleRuns = () => db.collection('activities').countDocuments({ action: 'automation_ran' });
  await waitFor(async () => (await db.collection('tickets').countDocuments({ 'pending.0': { $exists: true } })) === 0
    && (await db.collection('deliveries').countDocuments({ status: 'pending' })) === 0
    && (await ruleRuns()) >= (await db.collection('tickets').countDocuments({})), DRAIN_MS, 1000);
  // The rule's notes were added after the check above could see their deliveries: drain once more.
  await waitFor(async () => (await db.collection('deliveries').countDocuments({ status: 'pending' })) === 0, DRAIN_MS, 1000);
  const drainMs = Date.now() - drainStarted;
  phase = 'checking';
  expect(stats.otherStatus).toEqual([]);
  expect(stats.smtpOther).toEqual([]);
  expect(slack.violations).toEqual([]);
  expect(teams.problems()).toEqual([]);
  const notDone = await db.collection('deliveries').find({ status: { $ne: 'done' } }, { projection: { channel: 1, status: 1, lastError: 1 } }).toArray();
  expect(notDone).toEqual([]);

  const tickets = await db.collection('tickets').find({}, { projection: { number: 1, title: 1, channelRefs: 1 } }).toArray();
  const entries = await db.collection('entries').find({}, { projection: { _id: 1, ticketNumber: 1, text: 1, kind: 1, messageId: 1, external: 1 } }).toArray();
  const problems: string[] = [];
  // An entry that opens a ticket (its description or first mail) is shown on the card, not in the thread.
  const added = new Set((await db.collection('events').find({ type: 'entry.added' }, { projection: { 'data.entryId': 1 } }).toArray()).map((e) => String(e.data?.entryId)));
  const threaded = entries.filter((e) => added.has(String(e._id)));

  // API writes and mails once.
  const perTitle = countBy(tickets.map((t) => String(t.title)));
  for (const t of ackedTickets) if (perTitle[t.title] !== 1) problems.push(`ticket ${t.title}: ${perTitle[t.title] ?? 0}`);
  const perText = countBy(entries.map((e) => String(e.text)));
  for (const r of ackedReplies) if (perText[r] !== 1) problems.push(`reply ${r}: ${perText[r] ?? 0}`);
  const perMail = countBy(entries.filter((e) => e.messageId).map((e) => String(e.messageId)));
  for (const id of ackedMails) if (perMail[id] !== 1) problems.push(`mail ${id}: ${perMail[id] ?? 0} entries`);

  // The job: run once per ticket, its note once per ticket.
  const runsPerTicket = countBy((await db.collection('activities').find({ action: 'automation_ran' }, { projection: { ticketNumber: 1 } }).toArray()).map((a) => String(a.ticketNumber)));
  const notesPerTicket = countBy(entries.filter((e) => e.text === RULE_NOTE).map((e) => String(e.ticketNumber)));
  for (const t of tickets) {
    if (runsPerTicket[String(t.number)] !== 1) problems.push(`rule runs on #${t.number}: ${runsPerTicket[String(t.number)] ?? 0}`);
    if (notesPerTicket[String(t.number)] !== 1) problems.push(`rule notes on #${t.number}: ${notesPerTicket[String(t.number)] ?? 0}`);
  }

  // Slack: one card per ticket, one thread message per entry.
  const meta = (m: { metadata?: unknown }) => (m.metadata ?? {}) as { event_type?: string; event_payload?: { ticket?: number; entry?: string } };
  const slackCards = countBy(slack.messages.filter((m) => m.channel === SLACK_CHANNEL && !m.thread_ts && meta(m).event_type === 'deskbridge_ticket_card').map((m) => String(meta(m).event_payload?.ticket)));
  const slackMirrors = countBy(slack.messages.filter((m) => m.thread_ts && meta(m).event_type === 'deskbridge_entry').map((m) => String(meta(m).event_payload?.entry)));
  for (const t of tickets) if (slackCards[String(t.number)] !== 1) problems.push(`slack cards of #${t.number}: ${slackCards[String(t.number)] ?? 0}`);
  for (const e of threaded) if (slackMirrors[String(e._id)] !== 1) problems.push(`slack thread messages of entry ${String(e._id)} (#${e.ticketNumber}): ${slackMirrors[String(e._id)] ?? 0}`);

  // Teams: each card and thread reply at least once, and more only where an interrupted attempt was recorded.
  const posts = teams.callsOf('Conversations_SendToConversation', TEAMS_CHANNEL_ID).filter((c) => c.status < 300).map((c) => JSON.stringify(c.body));
  const replies = teams.callsOf('Conversations_ReplyToActivity', TEAMS_CHANNEL_ID).filter((c) => c.status < 300).map((c) => JSON.stringify(c.body));
  let teamsRepeats = 0;
  for (const t of tickets) {
    const copies = posts.filter((b) => new RegExp(`"ticket":${t.number}[,}]`).test(b)).length;
    const attempts = Number((t.channelRefs?.teams as { attempt?: number } | undefined)?.attempt ?? 1);
    if (!(t.channelRefs?.teams as { activityId?: string } | undefined)?.activityId) problems.push(`teams card of #${t.number}: no activity id stored`);
    if (copies < 1 || copies > attempts) problems.push(`teams cards of #${t.number}: ${copies} (attempts ${attempts})`);
    teamsRepeats += Math.max(0, copies - 1);
  }
  // A thread reply is matched to its entry by the marker its card carries (`deskbridge-post:entry:<id>`,
  // markCard in src/teams/graph.ts), not by heading and text: two entries of one ticket may say the same.
  // Two causes of the misses this test reported ("2 of ~50 unmatched") were found and fixed: a time
  // rule's note recorded by a restarted instance before its Teams module knew Teams was in use got no
  // Teams delivery at all (0 copies, nothing pending; seen here once: test/teams/active-before-start),
  // and a refused or paced retry after a dead attempt cleared that attempt's intent, so a second copy
  // was recorded as attempt 1 (test/teams/post-once). A miss prints its counts and its Teams delivery.
  for (const e of threaded) {
    const marker = `"id":"${postMarker(entryPostKey(String(e._id)))}"`;
    const copies = replies.filter((b) => b.includes(marker)).length;
    const attempts = Number((e.external?.teamsMirror as { attempt?: number } | undefined)?.attempt ?? 1);
    if (copies < 1 || copies > attempts) {
      const heading = ` on #${e.ticketNumber}"`;
      const byText = replies.filter((b) => b.includes(heading) && b.includes(`"text":"${JSON.stringify(String(e.text)).slice(1, -1)}"`)).length;
      const underTicket = replies.filter((b) => b.includes(heading)).length;
      const eventIds = (await db.collection('events').find({ type: 'entry.added', 'data.entryId': String(e._id) }, { projection: { _id: 1 } }).toArray()).map((x) => x._id);
      const delivery = await db.collection('deliveries').findOne({ eventId: { $in: eventIds }, channel: 'teams' }, { projection: { status: 1, attempts: 1 } });
      problems.push(`teams thread replies of entry ${String(e._id)} (#${e.ticketNumber}, ${String(e.kind)} ${JSON.stringify(String(e.text).slice(0, 60))}, activity id ${e.external?.teamsActivityId ? 'stored' : 'none'}, teams delivery ${delivery ? JSON.stringify(delivery) : 'none'}): ${copies} (attempts ${attempts}; ${byText} with its text, ${underTicket} replies under that ticket)`);
    }
    teamsRepeats += Math.max(0, copies - 1);
  }

  // Email: every mail to a requester once in all outboxes together; a second copy only where its record
  // shows an attempt that died while handing it to the relay (the check multi-instance-kill uses).
  const outbox = readOutboxes(dataDirs);
  const expectedMails = [
    ...tickets.map((t) => ({ what: `mail for #${t.number}`, id: `deskbridge.t${t.number}@${REPLY_DOMAIN}` })),
    ...entries.filter((x) => ackedReplies.includes(String(x.text))).map((e) => ({ what: `reply mail of entry ${String(e._id)}`, id: `deskbridge.e${String(e._id)}@${REPLY_DOMAIN}` })),
  ];
  const mails = await checkMailCopies(db, outbox, expectedMails);
  problems.push(...mails.notOnce, ...mails.tooMany.map((m) => `mail sent more often than attempted: ${m}`));
  // No internal note (the rule's) ever went to a requester.
  const outboxText = outbox.map((o) => o.raw).join('\n');
  if (outboxText.includes(RULE_NOTE)) problems.push('the rule\'s internal note was mailed to a requester');

  console.log(`multi-instance-channels: ${stats.kills} kills over ${LOAD_SECONDS} s; ${tickets.length} tickets (${ackedTickets.length} by API acknowledged, ${ackedMails.size} mails acknowledged), ${ackedReplies.length} replies, ${entries.length} entries (${threaded.length} in threads); `
    + `${stats.cutOff} API requests cut off; started in ${startedMs} ms, last restart waited ${lastRestartMs} ms, drained in ${drainMs} ms; slack ${slack.messages.length} messages; teams ${posts.length} posts, ${replies.length} thread replies, ${teamsRepeats} re-posts after an interrupted attempt; `
    + `${outbox.length} mails in the outboxes (${mails.resent} sent again after an interrupted hand-over, recorded); problems: ${problems.length}`);
  expect(stats.kills).toBeGreaterThan(0);
  expect(ackedTickets.length).toBeGreaterThan(0);
  expect(ackedMails.size).toBeGreaterThan(0);
  expect(problems).toEqual([]);
  for (const s of svcs) await s?.stop();
  await db.dropDatabase();
  // 600 s ran out once and was nearly used up (533 s) once at load 27–31 on the shared 2-core machine with
  // other fault tests beside it (2026-12-07): each of the 7 starts of `serve` then took 30–140 s (its
  // imports alone cost ~4 s of CPU). Alone on CI's machine it takes a few minutes; this bound only keeps
  // a slow, loaded run from timing out, and the progress lines say where a run spends its time.
}, 900_000);
