import { BSON, GridFSBucket, type Db } from 'mongodb';
import { AttachmentStore } from '../../src/attachments/store.js';
import { pruneExpired, retentionModule, type RetentionPolicy } from '../../src/jobs/retention.js';
import { startTestApp } from '../support/db.js';
import { eventually, startMailApp, type MailTestApp } from '../email/support.js';

/*
 * The retention job prunes what only the machinery needs (events, finished deliveries, expired
 * presence, processed inbound records, raw mail, orphaned attachments) and never the conversation,
 * the activity log or an attachment an entry refers to.
 */
let t: MailTestApp;
let db: Db;
beforeAll(async () => {
  t = await startMailApp();
  db = t.app.ctx.db.connection.db as unknown as Db;
});
afterAll(async () => { await t?.close(); });

const policy: RetentionPolicy = { eventsDays: 30, deliveriesDays: 30, inboundDays: 90, rawMailDays: 180, orphanAttachmentHours: 24 };
const DAY = 24 * 3600_000;
const count = (name: string, filter = {}) => db.collection(name).countDocuments(filter);

async function fileExists(id: string): Promise<boolean> {
  return (await db.collection('attachments.files').countDocuments({ _id: new BSON.ObjectId(id) })) === 1;
}

test('after the retention periods: machinery pruned; conversation, activity log and used attachments kept', async () => {
  // A mail with an attachment (raw mail, attachment, inbound record, ticket, entry, events).
  const sent = await t.send({
    from: 'ann@corp.example', to: 'support@help.example', subject: 'screen flickers', text: 'see the photo',
    messageId: '<ret-1@corp.example>', attachments: [{ filename: 'photo.png', content: Buffer.alloc(5000, 7), contentType: 'image/png' }],
  });
  const n = Number(/#(\d+)/.exec(sent.response)![1]);
  await t.api('POST', '/people', { email: 'tom@help.example', name: 'Tom', roles: ['technician'] });
  expect((await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Try another cable.', author: { email: 'tom@help.example' } })).status).toBe(201);
  expect((await t.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: 'internal: cable stock low', author: { email: 'tom@help.example' } })).status).toBe(201);
  await t.drain();
  // One delivery still waiting for a retry (backoff): it and its event must survive.
  const waiting = await db.collection('deliveries').findOne({ status: 'done' });
  await db.collection('deliveries').updateOne({ _id: waiting!._id }, { $set: { status: 'pending', nextAttemptAt: new Date(Date.now() + 400 * DAY) } });
  // An upload whose entry was never written (the request died), and expired presence.
  const orphan = await new AttachmentStore(db).put(Buffer.from('half a request'), { filename: 'lost.txt', contentType: 'text/plain' });
  await db.collection('presence').insertOne({ _id: 'p1' as never, ticketNumber: n, personId: new BSON.ObjectId(), surface: 'api', since: new Date(), expiresAt: new Date(Date.now() - 1000) });

  const entry = await db.collection('entries').findOne({ messageId: 'ret-1@corp.example' });
  const usedAttachment = entry!.attachments[0].id as string;
  const rawId = entry!.external.email.rawId as string;
  expect(await fileExists(rawId)).toBe(true);
  const keep = { tickets: await count('tickets'), entries: await count('entries'), activities: await count('activities'), people: await count('people') };
  expect(await count('events')).toBeGreaterThan(1);
  expect(await count('deliveries', { status: 'done' })).toBeGreaterThan(0);

  // Within every period nothing but expired presence goes.
  const early = await pruneExpired(db, policy);
  expect(early).toEqual({ events: 0, deliveries: 0, presence: 1, inbound: 0, rawMail: 0, orphanAttachments: 0 });
  expect(await fileExists(orphan.id)).toBe(true);

  // A year later.
  const later = await pruneExpired(db, policy, new Date(Date.now() + 365 * DAY));
  expect(later.events).toBeGreaterThan(0);
  expect(later.deliveries).toBeGreaterThan(0);
  expect(later).toMatchObject({ inbound: 1, rawMail: 1, orphanAttachments: 1 });
  expect(await count('events')).toBe(1);
  expect(await db.collection('events').findOne({ _id: waiting!.eventId })).not.toBeNull();
  expect(await count('deliveries')).toBe(1);
  expect(await count('mail_inbound')).toBe(0);
  expect(await fileExists(rawId)).toBe(false);
  expect(await fileExists(orphan.id)).toBe(false);

  // Never pruned: tickets, the conversation, the activity log, people, attachments in use.
  expect({ tickets: await count('tickets'), entries: await count('entries'), activities: await count('activities'), people: await count('people') }).toEqual(keep);
  expect(await fileExists(usedAttachment)).toBe(true);
  const chunks: Buffer[] = [];
  for await (const c of new GridFSBucket(db, { bucketName: 'attachments' }).openDownloadStream(new BSON.ObjectId(usedAttachment))) chunks.push(c as Buffer);
  expect(Buffer.concat(chunks).equals(Buffer.alloc(5000, 7))).toBe(true);
  const ticket = await t.api('GET', `/tickets/${n}`);
  expect(ticket.body.entries.map((e: { text: string }) => e.text)).toEqual(['see the photo', 'Try another cable.', 'internal: cable stock low']);
});

test('retention 0 keeps forever', async () => {
  const before = { events: await count('events'), deliveries: await count('deliveries') };
  const res = await pruneExpired(db, { eventsDays: 0, deliveriesDays: 0, inboundDays: 0, rawMailDays: 0, orphanAttachmentHours: 0 }, new Date(Date.now() + 3650 * DAY));
  expect(res).toEqual({ events: 0, deliveries: 0, presence: 0, inbound: 0, rawMail: 0, orphanAttachments: 0 });
  expect({ events: await count('events'), deliveries: await count('deliveries') }).toEqual(before);
});

test('the retention job is scheduled by agenda and runs', async () => {
  const app = await startTestApp({ modules: [retentionModule], env: { RETENTION_INTERVAL: '1 day', SCHEDULER_PROCESS_EVERY_MS: '100' } });
  const scheduler = app.app.ctx.scheduler;
  try {
    await scheduler.start();
    const jobs = app.app.ctx.db.connection.collection('jobs');
    const job = await eventually(() => jobs.findOne({ name: 'retention:prune', lastFinishedAt: { $ne: null } }), 15_000);
    expect(job?.failReason ?? null).toBeNull();
    expect(job?.repeatInterval).toBe('1 day');
  } finally {
    await scheduler.stop();
    await app.close();
  }
});
