import { startTestApp, type TestApp } from '../support/db.js';

// core: FerretDB 1.24 gave concurrent findOneAndUpdate($inc) callers the same counter value, so
// tickets opened at the same moment (two portal users, mail and Slack) failed with E11000.
let t: TestApp;
beforeAll(async () => { t = await startTestApp(); });
afterAll(async () => { await t.close(); });

test('tickets created concurrently all succeed with distinct, gapless numbers', async () => {
  const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => t.app.ctx.service.createTicket({
    title: `burst ${i}`, description: 'd', requester: { email: `burst${i}@x.example` }, source: 'portal',
  })));
  const failures = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
  expect(failures).toEqual([]);
  const numbers = results.map((r) => (r as PromiseFulfilledResult<{ number: number }>).value.number).sort((a, b) => a - b);
  expect(numbers).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
});

// core: concurrent changes of one ticket lost entries on FerretDB 1 (both updates matched the same
// version); every reply must land.
test('concurrent replies to one ticket all land, each with its activity', async () => {
  const s = t.app.ctx.service;
  const { number } = await s.createTicket({ title: 'busy', description: 'first', requester: { email: 'busy@x.example' }, source: 'portal' });
  const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => s.addEntry(number, {
    kind: 'reply', text: `reply ${i}`, author: { email: 'busy@x.example' }, source: 'portal',
  })));
  expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
  const texts = (await s.getTicket(number)).entries.map((e) => e.text).sort();
  expect(texts).toEqual(['first', ...Array.from({ length: 10 }, (_, i) => `reply ${i}`)].sort());
  expect((await s.getActivity(number)).filter((a) => a.action === 'reply_added')).toHaveLength(10);
});
