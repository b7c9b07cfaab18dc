import { emailBridgeOf } from '../../src/email/module.js';
import { eventually, startMailApp, type MailTestApp } from './support.js';

let t: MailTestApp;
const TECH = 'tom@it.example';
beforeAll(async () => {
  t = await startMailApp({ MAIL_RATE_LIMIT: '10', MAIL_RATE_WINDOW_SECONDS: '600' });
  await t.api('POST', '/people', { email: TECH, name: 'Tom Tech', roles: ['technician'] });
});
afterAll(async () => { await t.close(); });

let counter = 0;
async function newTicket(requester: string, extra: Record<string, unknown> = {}) {
  const res = await t.api('POST', '/tickets', { title: `Case ${++counter}`, description: 'Help', requester: { email: requester }, createdBy: { email: TECH }, ...extra });
  expect(res.status).toBe(201);
  await t.drain();
  return res.body.number as number;
}
const reply = (n: number, text: string, extra: Record<string, unknown> = {}) =>
  t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text, author: { email: TECH }, ...extra });

test('CC\'d people receive public replies; notes reach nobody; each recipient has their own Reply-To token', async () => {
  const n = await newTicket('req1@corp.example', { cc: ['boss1@corp.example'] });
  expect(t.capture.to('boss1@corp.example')).toHaveLength(0);
  await reply(n, 'Fixed the cable.');
  await t.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: 'INTERNAL-ONLY remark', author: { email: TECH } });
  await t.drain();
  const toReq = t.capture.to('req1@corp.example');
  const toBoss = t.capture.to('boss1@corp.example');
  expect(toReq.map((m) => m.mail.text)).toEqual([expect.stringContaining('Help'), expect.stringContaining('Fixed the cable.')]);
  expect(toBoss.map((m) => m.mail.text)).toEqual([expect.stringContaining('Fixed the cable.')]);
  expect(toBoss[0]!.mail.replyTo!.value[0]!.address).not.toBe(toReq[1]!.mail.replyTo!.value[0]!.address);
  for (const m of t.capture.received) expect(m.raw.toString()).not.toContain('INTERNAL-ONLY');
});

test('a forged event that calls a note public is still refused: the notifier re-reads the entry', async () => {
  const n = await newTicket('req2@corp.example');
  const note = await t.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: 'FORGED-SECRET', author: { email: TECH } });
  const { notifier } = emailBridgeOf(t.app.ctx);
  const before = t.capture.received.length;
  await notifier.deliver({
    id: 'forged-1', type: 'entry.added', ticketId: 'x', ticketNumber: n, at: new Date(),
    actor: { kind: 'technician', personId: null, name: 'Tom', email: TECH },
    data: { entryId: note.body.id, kind: 'reply', visibility: 'public', source: 'api', authorKind: 'technician', mentions: [], cc: [], statusChange: null, redirectedFrom: null },
  });
  expect(t.capture.received.length).toBe(before);
  expect(notifier.wants({ type: 'entry.added', data: { visibility: 'internal', kind: 'note' } } as never)).toBe(false);
});

test('Resolved and Closed send one auto-submitted notice; a reply that sets the status sends only the reply', async () => {
  const n = await newTicket('req3@corp.example');
  await t.api('PATCH', `/tickets/${n}`, { status: 'Resolved' });
  await t.drain();
  const notices = t.capture.to('req3@corp.example');
  expect(notices).toHaveLength(2);
  expect(notices[1]!.mail.text).toContain(`#${n} is now Resolved`);
  expect(notices[1]!.mail.headers.get('auto-submitted')).toBe('auto-replied');
  await t.api('PATCH', `/tickets/${n}`, { status: 'Pending' });
  await t.drain();
  expect(t.capture.to('req3@corp.example')).toHaveLength(2);
  await reply(n, 'Closing this now.', { status: 'Closed' });
  await t.drain();
  const all = t.capture.to('req3@corp.example');
  expect(all).toHaveLength(3);
  expect(all[2]!.mail.text).toContain('set it to Closed');
});

test('a merge tells the requester of the merged ticket where the conversation continues', async () => {
  const a = await newTicket('req4@corp.example');
  const b = await newTicket('req4@corp.example');
  const res = await t.api('POST', `/tickets/${a}/merge`, { into: b });
  expect(res.status).toBeLessThan(300);
  await t.drain();
  const last = t.capture.to('req4@corp.example').at(-1)!;
  expect(last.mail.subject).toBe(`Re: [#${a}] Case ${counter - 1}`);
  expect(last.mail.text).toContain(`merged into request #${b}`);
  // A reply to the merged ticket's token lands in the surviving ticket.
  const token = last.mail.replyTo!.value[0]!.address!;
  const sent = await t.send({ from: 'req4@corp.example', to: token, subject: 'Re: merged', text: 'ok, thanks' });
  expect(sent.response).toContain(`appended #${b}`);
});

test('at most 10 mails per recipient per ticket in the window (two robots can never loop)', async () => {
  const n = await newTicket('req5@corp.example');
  for (let i = 0; i < 12; i++) await reply(n, `update ${i}`);
  await t.drain();
  expect(t.capture.to('req5@corp.example')).toHaveLength(10);
});

test('a permanent failure (550) is recorded on the ticket and the address marked undeliverable; a temporary one (451) is retried', async () => {
  t.capture.failures.set('gone@corp.example', { code: 550, times: 99 });
  const n = await newTicket('gone@corp.example');
  await eventually(async () => (await t.api('GET', `/tickets/${n}/activity`)).body.items.some((a: any) => a.action === 'email_failed'));
  const act = (await t.api('GET', `/tickets/${n}/activity`)).body.items.find((a: any) => a.action === 'email_failed');
  expect(act.meta).toMatchObject({ email: 'gone@corp.example', permanent: true });
  const people = (await t.api('GET', '/people?q=gone')).body.items;
  expect(people[0].undeliverable[0].email).toBe('gone@corp.example');

  t.capture.failures.set('flaky@corp.example', { code: 451, times: 1 });
  const m = await t.api('POST', '/tickets', { title: 'Flaky', description: 'x', requester: { email: 'flaky@corp.example' }, createdBy: { email: TECH } });
  await eventually(() => t.capture.to('flaky@corp.example').length === 1, 8000);
  expect(t.capture.to('flaky@corp.example')[0]!.mail.subject).toBe(`[#${m.body.number}] Flaky`);
});
