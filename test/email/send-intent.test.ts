import { emailBridgeOf } from '../../src/email/module.js';
import { startMailApp, type MailTestApp } from './support.js';

/*
 * Each mail is recorded as 'sending' before it is handed to the relay. An attempt that died during
 * the hand-over (the record still 'sending') is sent again by the next attempt — the relay cannot be
 * asked whether it took it — and the record counts that attempt, so a repeat can be told from a bug.
 * A relay that answered 4xx did not take the mail: its retry is attempt 1 again, unless an attempt
 * before the refused one died during its hand-over (that one may have delivered a copy).
 */
let t: MailTestApp;
beforeAll(async () => {
  t = await startMailApp();
  await t.api('POST', '/people', { email: 'tom@it.example', name: 'Tom Tech', roles: ['technician'] });
});
afterAll(async () => { await t.close(); });

test('an interrupted hand-over is sent again and counted; a completed one never again', async () => {
  const res = await t.send({ from: 'ann@corp.example', to: 'support@help.example', subject: 'VPN', text: 'VPN is down.', messageId: '<intent-1@corp.example>' });
  const n = Number(/#(\d+)/.exec(res.response)![1]);
  await t.drain();
  await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Restart the client please.', author: { email: 'tom@it.example' } });
  await t.drain();
  const { Outbound } = emailBridgeOf(t.app.ctx).models;
  const rec = await Outbound.findOne({ ticketNumber: n, email: 'ann@corp.example', status: 'sent' }).sort({ at: -1 }).lean<{ _id: string; attempt: number }>();
  expect(rec!.attempt).toBe(1);
  const before = t.capture.to('ann@corp.example').length;

  // Replaying a delivery whose mail is recorded as sent sends nothing.
  const Delivery = t.app.ctx.db.models.Delivery;
  const deliveryId = `${rec!._id.split(':')[0]}:email`;
  await Delivery.updateOne({ _id: deliveryId }, { $set: { status: 'pending', nextAttemptAt: new Date(0), lockedUntil: new Date(0) } });
  await t.drain();
  expect(t.capture.to('ann@corp.example')).toHaveLength(before);

  // What an instance killed during the hand-over leaves: the intent. The next attempt sends and counts it.
  await Outbound.updateOne({ _id: rec!._id }, { $set: { status: 'sending' } });
  await Delivery.updateOne({ _id: deliveryId }, { $set: { status: 'pending', nextAttemptAt: new Date(0), lockedUntil: new Date(0) } });
  await t.drain();
  expect(t.capture.to('ann@corp.example')).toHaveLength(before + 1);
  expect(t.capture.to('ann@corp.example').at(-1)!.mail.text).toContain('Restart the client please.');
  expect(await Outbound.findById(rec!._id).lean()).toMatchObject({ status: 'sent', attempt: 2 });
});

test('a retry after an interrupted hand-over that the relay refuses (4xx) keeps the count: the copy that goes out is attempt 2', async () => {
  const res = await t.send({ from: 'bea@corp.example', to: 'support@help.example', subject: 'Printer', text: 'Printer jams.', messageId: '<intent-2@corp.example>' });
  const n = Number(/#(\d+)/.exec(res.response)![1]);
  await t.drain();
  const { Outbound } = emailBridgeOf(t.app.ctx).models;
  const rec = await Outbound.findOne({ ticketNumber: n, email: 'bea@corp.example', status: 'sent' }).lean<{ _id: string; attempt: number }>();
  expect(rec!.attempt).toBe(1);
  const before = t.capture.to('bea@corp.example').length;
  const Delivery = t.app.ctx.db.models.Delivery;
  const deliveryId = `${rec!._id.split(':')[0]}:email`;
  const retry = () => Delivery.updateOne({ _id: deliveryId }, { $set: { status: 'pending', nextAttemptAt: new Date(0), lockedUntil: new Date(0) } });

  // An instance killed during the hand-over (its copy may have arrived), then the retry refused with 451.
  await Outbound.updateOne({ _id: rec!._id }, { $set: { status: 'sending' } });
  t.capture.failures.set('bea@corp.example', { code: 451, times: 1 });
  await retry();
  await t.drain();
  expect(t.capture.to('bea@corp.example')).toHaveLength(before);
  expect(await Outbound.findById(rec!._id).lean()).toMatchObject({ status: 'sending', attempt: 1 });
  await retry();
  await t.drain();
  expect(t.capture.to('bea@corp.example')).toHaveLength(before + 1);
  expect(await Outbound.findById(rec!._id).lean()).toMatchObject({ status: 'sent', attempt: 2 });
});
