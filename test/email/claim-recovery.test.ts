import { startMailApp, type MailTestApp } from './support.js';

/*
 * A delivery killed between claiming a Message-ID and finishing leaves its claim "processing".
 * The sender's retry must not be acknowledged as a duplicate when nothing was stored (the mail
 * would be lost), and must not be stored twice when the entry was stored before the kill.
 */
let t: MailTestApp;
beforeAll(async () => { t = await startMailApp({ MAIL_CLAIM_STALE_SECONDS: '1' }); });
afterAll(async () => { await t?.close(); });

const inbound = () => t.app.ctx.db.connection.collection('mail_inbound');
const mail = (id: string, text: string) => ({ from: 'ann@corp.example', to: 'support@help.example', subject: `claim ${id}`, text, messageId: `<${id}@corp.example>` });

test('a claim left by a dead delivery with nothing stored: 451 until stale, then the retry is stored once', async () => {
  await inbound().insertOne({ _id: 'dead-1@corp.example' as never, state: 'processing', via: 'smtp', at: new Date() });
  await expect(t.send(mail('dead-1', 'first try died'))).rejects.toMatchObject({ responseCode: 451 });
  await new Promise((r) => setTimeout(r, 1100));
  const ok = await t.send(mail('dead-1', 'first try died'));
  expect(ok.response).toMatch(/^250 .*created/);
  expect(await t.app.ctx.db.connection.collection('entries').countDocuments({ messageId: 'dead-1@corp.example' })).toBe(1);
});

test('a claim left by a dead delivery that had stored its entry: the retry is a duplicate, not a second entry', async () => {
  await t.send(mail('dead-2', 'stored before the kill'));
  await inbound().updateOne({ _id: 'dead-2@corp.example' as never }, { $set: { state: 'processing', at: new Date() } });
  const again = await t.send(mail('dead-2', 'stored before the kill'));
  expect(again.response).toMatch(/^250 .*ignored/);
  expect(await t.app.ctx.db.connection.collection('entries').countDocuments({ messageId: 'dead-2@corp.example' })).toBe(1);
  expect(await inbound().findOne({ _id: 'dead-2@corp.example' as never })).toMatchObject({ state: 'done' });
});

/*
 * Owner + heartbeat: another instance's delivery that is alive but slow keeps its claim fresh; the
 * retry must wait (451) however old the claim is. When the heartbeat stops (the instance died), the
 * retry takes over within MAIL_CLAIM_STALE_SECONDS (1 s here).
 */
test('a live slow delivery (heartbeat going) is never taken over; once its heartbeat stops it is taken over within the stale time', async () => {
  const id = 'slow-1@corp.example';
  const longAgo = new Date(Date.now() - 60_000);
  await inbound().insertOne({ _id: id as never, state: 'processing', via: 'smtp', at: longAgo, owner: 'other-instance', heartbeatAt: new Date() });
  let alive = true;
  const beating = (async () => {
    while (alive) {
      await inbound().updateOne({ _id: id as never, owner: 'other-instance' }, { $set: { heartbeatAt: new Date() } });
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const retriesWhileAlive: number[] = [];
  const until = Date.now() + 2500; // well past the 1 s stale time, counted from `at` or from the first retry
  while (Date.now() < until) {
    retriesWhileAlive.push(await t.send(mail('slow-1', 'slow one')).then(() => 250, (e: { responseCode?: number }) => e.responseCode ?? 0));
    await new Promise((r) => setTimeout(r, 300));
  }
  alive = false;
  await beating;
  expect(new Set(retriesWhileAlive)).toEqual(new Set([451]));
  expect(await inbound().findOne({ _id: id as never })).toMatchObject({ owner: 'other-instance', state: 'processing' });

  // The owner died: the next retries get 451 until the heartbeat is 1 s old, then one is stored.
  const died = Date.now();
  let answer: { response: string } | null = null;
  while (!answer) {
    answer = await t.send(mail('slow-1', 'slow one')).catch((e: { responseCode?: number }) => {
      expect(e.responseCode).toBe(451);
      return null;
    });
    if (!answer) await new Promise((r) => setTimeout(r, 100));
  }
  expect(answer.response).toMatch(/^250 .*created/);
  expect(Date.now() - died).toBeLessThan(1000 + 2000); // stale time plus a generous margin for a loaded machine
  expect(await t.app.ctx.db.connection.collection('entries').countDocuments({ messageId: id })).toBe(1);
  const record = await inbound().findOne({ _id: id as never });
  expect(record).toMatchObject({ state: 'done' });
  expect(record?.owner).not.toBe('other-instance');
});

test('every delivery records its owner and heartbeat on the claim', async () => {
  await t.send(mail('owned-1', 'who owns me'));
  const record = await inbound().findOne({ _id: 'owned-1@corp.example' as never });
  expect(record).toMatchObject({ state: 'done', owner: expect.stringMatching(/^[0-9a-f-]{36}$/), heartbeatAt: expect.any(Date) });
});
