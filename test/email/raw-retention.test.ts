import type { Db } from 'mongodb';
import { pruneExpired } from '../../src/jobs/retention.js';
import { startMailApp, type MailTestApp } from './support.js';

/*
 * After the retention job removed an entry's raw mail, "show the full message" and the .eml download
 * say so with a clear NOT_FOUND (not a 500), and the entry's text is still there.
 */

let t: MailTestApp;
beforeAll(async () => { t = await startMailApp(); });
afterAll(async () => { await t.close(); });

test('full message and raw download of an entry whose raw mail retention removed: clear 404, text kept', async () => {
  const res = await t.send({ from: 'ann@corp.example', to: 'support@help.example', subject: 'Old case', text: 'The scanner is offline.', messageId: '<old-1@corp.example>' });
  const n = Number(/#(\d+)/.exec(res.response)![1]);
  const entry = ((await t.api('GET', `/tickets/${n}`)).body.entries as { id: string; text: string }[])[0]!;
  expect((await t.api('GET', `/entries/${entry.id}/full`)).status).toBe(200);

  const db = t.app.ctx.db.connection.db as unknown as Db;
  const counts = await pruneExpired(db, { eventsDays: 0, deliveriesDays: 0, inboundDays: 0, rawMailDays: 30, orphanAttachmentHours: 0 }, new Date(Date.now() + 31 * 24 * 3600_000));
  expect(counts.rawMail).toBeGreaterThanOrEqual(1);

  for (const what of ['full', 'raw']) {
    const gone = await t.api('GET', `/entries/${entry.id}/${what}`);
    expect([what, gone.status, gone.body.error?.code]).toEqual([what, 404, 'NOT_FOUND']);
    expect(gone.body.error.message).toMatch(/no longer stored .*RETENTION_RAW_MAIL_DAYS/);
  }
  expect(((await t.api('GET', `/tickets/${n}`)).body.entries as { text: string }[])[0]!.text).toBe('The scanner is offline.');
});
