import { startTestApp, type TestApp } from '../support/db.js';

let t: TestApp;
beforeAll(async () => { t = await startTestApp(); });
afterAll(async () => { await t.close(); });

test('create, reply, note, list', async () => {
  const tech = await t.api('POST', '/people', { email: 'tom@it.example', name: 'Tom Tech', roles: ['technician'] });
  expect(tech.status).toBe(201);
  const created = await t.api('POST', '/tickets', { title: 'Printer on fire', description: 'It is burning', requester: { email: 'jane@corp.example', name: 'Jane Doe' } });
  expect(created.status).toBe(201);
  expect(created.body.number).toBe(1);
  const reply = await t.api('POST', `/tickets/1/entries`, { kind: 'reply', text: 'On my way', author: { email: 'tom@it.example' }, status: 'Pending' });
  expect(reply.status).toBe(201);
  const note = await t.api('POST', `/tickets/1/entries`, { kind: 'note', text: 'secret @tom@it.example', author: { email: 'tom@it.example' } });
  expect(note.status).toBe(201);
  const list = await t.api('GET', '/tickets');
  expect(list.body.items[0]).toMatchObject({ number: 1, status: 'Pending', last: { excerpt: 'On my way' } });
  const contact = await t.api('GET', '/tickets/1?view=contact');
  expect(contact.body.entries.map((e: any) => e.text)).toEqual(['It is burning', 'On my way']);
  const act = await t.api('GET', '/tickets/1/activity');
  expect(act.body.items.map((a: any) => a.action)).toEqual(['created', 'reply_added', 'field_changed', 'note_added']);
});
