import { startTestApp, type TestApp } from '../support/db.js';

let t: TestApp;
beforeAll(async () => { t = await startTestApp(); });
afterAll(async () => { await t.close(); });

describe('registering people', () => {
  // The embedded engine (DocumentDB) refused the 20th `$addToSet` that added nothing combined
  // with a `$set` on the same document ("larger than MaxDocumentSize"): an admin editing a
  // person's customer a few dozen times hit a 500.
  test('the same person can be registered again and again with changed fields', async () => {
    for (let i = 0; i < 30; i++) {
      const r = await t.api('POST', '/people', { email: 'again@corp.example', name: `Again ${i}`, roles: ['contact'], customer: `Customer ${i}`, customerAdmin: i % 2 === 0 });
      expect(r.status).toBe(i === 0 ? 201 : 200);
      expect(r.body).toMatchObject({ name: `Again ${i}`, customer: `Customer ${i}`, roles: ['contact'] });
    }
  });

  test('registering with a new role adds it and keeps the old ones, also when done at once', async () => {
    await t.api('POST', '/people', { email: 'both@corp.example', roles: ['contact'] });
    const results = await Promise.all([
      t.api('POST', '/people', { email: 'both@corp.example', roles: ['technician'], name: 'Both A' }),
      t.api('POST', '/people', { email: 'both@corp.example', roles: ['contact'], customer: 'ACME' }),
    ]);
    for (const r of results) expect(r.status).toBe(200);
    const p = (await t.api('GET', '/people?q=both@corp')).body.items[0];
    expect([...p.roles].sort()).toEqual(['contact', 'technician']);
    expect(p).toMatchObject({ name: 'Both A', customer: 'ACME' });
  });
});
