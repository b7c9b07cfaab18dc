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
