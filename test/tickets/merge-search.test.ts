import { TicketService } from '../../src/tickets/service.js';
import { startTestApp, type TestApp } from '../support/db.js';

// A merged ticket's conversation shows in the ticket it was merged into, so its words must find
// that ticket too: technicians by every word, end users by public words only (never a note's).
let t: TestApp;
let s: TicketService;
const tech = { email: 'tess@it.example' };
beforeAll(async () => {
  t = await startTestApp();
  s = t.app.ctx.service;
  await s.people.register({ email: tech.email, name: 'Tess', roles: ['technician'] });
});
afterAll(async () => { await t.close(); });

const found = async (q: string, participant?: string) =>
  (await s.listTickets({ q, ...(participant ? { participant } : {}) })).items.map((i) => i.number).sort((a, b) => a - b);

test('after a merge the target is found by the source\'s words; a note\'s words stay technician-only', async () => {
  const source = (await s.createTicket({ title: 'Zebra printer offline', description: 'The zebra label printer in hall 3.', requester: { email: 'ann@corp.example' }, source: 'api' })).number;
  await s.addEntry(source, { kind: 'note', text: 'Firmware quokka needed', author: tech, source: 'api' });
  const target = (await s.createTicket({ title: 'Labels not printing', description: 'Warehouse labels are stuck.', requester: { email: 'bob@corp.example' }, source: 'api' })).number;
  expect(await found('zebra')).toEqual([source]);

  await s.merge(source, target, tech);
  const both = [source, target].sort((a, b) => a - b);
  expect(await found('zebra')).toEqual(both);
  expect(await found('quokka')).toEqual(both);
  // Bob, the target's requester, reads the merged public conversation: its public words find his
  // ticket, the note's word does not.
  const bob = (await s.people.findByEmail('bob@corp.example'))!;
  expect(await found('zebra', String(bob._id))).toEqual([target]);
  expect(await found('quokka', String(bob._id))).toEqual([]);
});
