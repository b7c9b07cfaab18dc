import { TicketService } from '../../src/tickets/service.js';
import { startTestApp, type TestApp } from '../support/db.js';

// A note edited in chat again and again (same words or new ones): every edit is taken, its new words
// join the technicians' search list only. On the embedded engine the 20th `$addToSet` that added
// nothing next to `$inc` was refused ("larger than MaxDocumentSize"), so this ran into a 500.
let t: TestApp;
let s: TicketService;
const tech = { email: 'tess@it.example' };
beforeAll(async () => {
  t = await startTestApp();
  s = t.app.ctx.service;
  await s.people.register({ email: tech.email, name: 'Tess', roles: ['technician'] });
});
afterAll(async () => { await t.close(); });

test('a note edited 30 times keeps working; new words are searchable by technicians only', async () => {
  const { number } = await s.createTicket({ title: 'Laptop fan', description: 'Loud fan.', requester: { email: 'jane@corp.example' }, source: 'email' });
  await s.addEntry(number, { kind: 'note', text: 'first draft', author: tech, source: 'slack', messageId: 'slack:C1:1700000000.000100' });
  for (let i = 0; i < 30; i++) {
    const text = i === 29 ? 'replaced the thermalpaste' : 'checked the bios settings';
    const r = await s.applyChatEdit({ messageId: 'slack:C1:1700000000.000100', edit: { kind: 'edited', text }, by: tech, source: 'slack' });
    expect(r.outcome).toBe('note_updated');
  }
  const doc = await s.models.Ticket.findOne({ number }).lean<{ searchWords: string[]; publicSearchWords: string[] }>();
  expect(doc!.searchWords).toEqual(expect.arrayContaining(['bio', 'thermalpast']));
  expect(doc!.publicSearchWords).not.toContain('thermalpast');
  const entry = (await s.getTicket(number)).entries.find((e) => e.kind === 'note')!;
  expect(entry.text).toBe('replaced the thermalpaste');
});
