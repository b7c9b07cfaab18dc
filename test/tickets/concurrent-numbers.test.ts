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
