import { startTestApp, type TestApp } from '../support/db.js';

/** Concurrent changes to one ticket (version-guarded updates, path-only $set of channel refs) must not undo each other. */
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
  await t.api('POST', '/people', { email: 'tom@it.example', name: 'Tom', roles: ['technician'] });
  await t.api('POST', '/tickets', { title: 'x', description: 'y', requester: { email: 'j@x.example' } });
});
afterAll(async () => { await t.close(); });

test('concurrent changes to one ticket (fields and channel refs) are all kept', async () => {
  const s = t.app.ctx.service;
  const tom = { email: 'tom@it.example' };
  for (let i = 0; i < 10; i++) {
    const priority = i % 2 ? 'High' : 'Low';
    await Promise.all([
      s.updateTicket(1, { priority }, tom),
      s.updateTicket(1, { title: `title ${i}` }, tom),
      s.setChannelRef(1, 'slack', { channel: 'C1', ts: String(i) }),
    ]);
    const v = await s.getTicket(1);
    expect([v.priority, v.title, (v.channelRefs.slack as { ts: string }).ts]).toEqual([priority, `title ${i}`, String(i)]);
  }
});
