import nodemailer from 'nodemailer';
import { emailBridgeOf, emailModule } from '../../src/email/module.js';
import { freshDbName, startTestApp, type TestApp } from '../support/db.js';
import { startCaptureSmtp, type Capture } from '../email/support.js';

/*
 * Several instances on one database, every one running the workers (delivery claims, agenda jobs,
 * dispatcher sweep, presence expiry): ticket changes and inbound mail go through all of them while
 * one instance is stopped and started again. Every notification is sent exactly once, every
 * acknowledged inbound mail is one entry.
 * Scaled for CI; full numbers: MULTI_INSTANCES=3 MULTI_TICKETS=300 MULTI_RESTARTS=10.
 */
const INSTANCES = Number(process.env.MULTI_INSTANCES ?? 3);
const TICKETS = Number(process.env.MULTI_TICKETS ?? 30);
const RESTARTS = Number(process.env.MULTI_RESTARTS ?? 2);

let capture: Capture;
const dbName = freshDbName('multi');
const apps: (TestApp | null)[] = [];

const start = () => startTestApp({
  modules: [emailModule], dbName, workers: true,
  env: {
    SMTP_URL: `smtp://127.0.0.1:${capture.port}?ignoreTLS=true`, MAIL_FROM: 'Helpdesk <support@help.example>', INBOUND_SMTP_PORT: '0',
    PUBLIC_URL: 'http://desk.example', MAIL_RATE_LIMIT: '100000', SCHEDULER_PROCESS_EVERY_MS: '200',
  },
});

beforeAll(async () => {
  capture = await startCaptureSmtp();
  for (let i = 0; i < INSTANCES; i++) apps.push(await start());
});
afterAll(async () => {
  for (const a of apps) await a?.close().catch(() => undefined);
  await capture?.close();
});

const live = () => apps.filter((a): a is TestApp => a !== null);

test(`${INSTANCES} instances with workers: every notification once, every acknowledged mail one entry, across restarts`, async () => {
  await live()[0]!.api('POST', '/people', { email: 'tom@help.example', name: 'Tom', roles: ['technician'] });
  const acknowledged: string[] = [];
  const restartEvery = Math.max(1, Math.floor(TICKETS / (RESTARTS + 1)));
  for (let i = 0; i < TICKETS; i++) {
    const via = live()[i % live().length]!;
    const created = await via.api('POST', '/tickets', { title: `multi ${i}`, description: `problem ${i}`, requester: { email: `user${i}@corp.example` } });
    expect(created.status).toBe(201);
    const other = live()[(i + 1) % live().length]!;
    expect((await other.api('POST', `/tickets/${created.body.number}/entries`, { kind: 'reply', text: `answer ${i}`, author: { email: 'tom@help.example' } })).status).toBe(201);
    // Inbound mail through another instance's SMTP listener.
    const smtpVia = live()[(i + 2) % live().length]!;
    const sender = nodemailer.createTransport({ host: '127.0.0.1', port: emailBridgeOf(smtpVia.app.ctx).smtp!.port, secure: false, ignoreTLS: true });
    const messageId = `multi-${i}@corp.example`;
    await sender.sendMail({ from: `mailer${i}@corp.example`, to: 'support@help.example', subject: `mail ${i}`, text: `mail body ${i}`, messageId: `<${messageId}>` });
    sender.close();
    acknowledged.push(messageId);
    if ((i + 1) % restartEvery === 0 && i + 1 < TICKETS) {
      // One instance goes away with work in flight and comes back.
      const k = i % apps.length;
      await apps[k]!.close();
      apps[k] = await start();
    }
  }
  // Wait for the real final state: no delivery pending anywhere.
  const db = live()[0]!.app.ctx.db.connection;
  const deadline = Date.now() + 120_000;
  while ((await db.collection('deliveries').countDocuments({ status: 'pending' })) > 0) {
    if (Date.now() > deadline) throw new Error('deliveries still pending');
    await new Promise((r) => setTimeout(r, 200));
  }
  const ids = capture.received.map((c) => c.mail.messageId);
  const dupes = ids.filter((id, i) => ids.indexOf(id) !== i);
  expect(dupes).toEqual([]);
  expect(await db.collection('deliveries').countDocuments({ status: { $ne: 'done' } })).toBe(0);
  // Every reply reached its requester, once.
  for (let i = 0; i < TICKETS; i++) {
    const got = capture.to(`user${i}@corp.example`).filter((c) => (c.mail.text ?? '').includes(`answer ${i}`));
    expect({ i, mails: got.length }).toEqual({ i, mails: 1 });
  }
  for (const id of acknowledged) expect({ id, entries: await db.collection('entries').countDocuments({ messageId: id }) }).toEqual({ id, entries: 1 });
  // Recurring jobs are scheduled once, not once per instance.
  const sweeps = await db.collection('jobs').countDocuments({ name: 'outbox:sweep' });
  expect(sweeps).toBe(1);
}, 600_000);
