import { startTestApp, type TestApp } from '../support/db.js';

/*
 * Internal notes never reach an end user. One test per path through which the core hands ticket
 * content to an end-user surface today: the contact view (API and service), the list's `last`
 * excerpt (also the participant list the portal and DMs use), merging, rendered templates, and the
 * activity log and events other channels read. Email, portal, DM relay and AI drafts test their
 * own paths on top of these. Each secret is unique, so any leak names its path.
 */

let t: TestApp;
const TECH = 'notes-tech@it.example';
const JANE = 'notes-jane@corp.example';
const tech = { email: TECH };

beforeAll(async () => {
  t = await startTestApp();
  await t.api('POST', '/people', { email: TECH, name: 'Nora Tech', roles: ['technician'] });
});
afterAll(async () => { await t.close(); });

async function ticketWithNote(secret: string, opts: { statusWithNote?: string } = {}) {
  const created = await t.api('POST', '/tickets', { title: 'Printer on fire', description: 'It smokes.', requester: { email: JANE, name: 'Jane' } });
  const n = created.body.number as number;
  expect((await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'We are on it.', author: tech })).status).toBe(201);
  const note = await t.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: `internal: ${secret}`, author: tech, ...(opts.statusWithNote ? { status: opts.statusWithNote } : {}) });
  expect(note.status).toBe(201);
  expect(note.body.entry.visibility).toBe('internal');
  return n;
}

test('contact view (API ?view=contact and service): public entries only, even when the note changed the status', async () => {
  const secret = 'SECRET-contact-view';
  const n = await ticketWithNote(secret, { statusWithNote: 'Pending' });
  const viaApi = await t.api('GET', `/tickets/${n}?view=contact`);
  expect(viaApi.status).toBe(200);
  expect(viaApi.body.status).toBe('Pending');
  expect(viaApi.body.entries.map((e: { text: string }) => e.text)).toEqual(['It smokes.', 'We are on it.']);
  expect(JSON.stringify(viaApi.body)).not.toContain(secret);
  const viaService = await t.app.ctx.service.getContactView(n);
  expect(JSON.stringify(viaService)).not.toContain(secret);
  // The technician view does hold it: the test would notice if the note had not been stored at all.
  expect(JSON.stringify((await t.api('GET', `/tickets/${n}`)).body)).toContain(secret);
});

test('publicEntries, the one query every end-user channel reads the conversation through, excludes notes', async () => {
  const secret = 'SECRET-public-entries';
  const n = await ticketWithNote(secret);
  const entries = await t.app.ctx.service.publicEntries([n]);
  expect(entries.length).toBe(2);
  expect(entries.every((e) => e.visibility === 'public' && e.kind !== 'note')).toBe(true);
  expect(JSON.stringify(entries)).not.toContain(secret);
});

test('list excerpts (`last`): a note never becomes the latest message shown in a list, also in the participant list', async () => {
  const secret = 'SECRET-list-last';
  const n = await ticketWithNote(secret);
  const list = await t.api('GET', '/tickets?limit=100');
  const item = list.body.items.find((i: { number: number }) => i.number === n);
  expect(item.last.excerpt).toBe('We are on it.');
  expect(JSON.stringify(list.body)).not.toContain(secret);
  const jane = (await t.api('GET', `/people?q=${encodeURIComponent(JANE)}`)).body.items[0];
  const mine = await t.app.ctx.service.listTickets({ participant: jane.id, limit: 100 });
  expect(mine.items.some((i) => i.number === n)).toBe(true);
  expect(JSON.stringify(mine)).not.toContain(secret);
});

test('merge: notes of the merged ticket stay out of the surviving ticket\'s contact view and out of the merge notices', async () => {
  const secret = 'SECRET-merge-source';
  const targetSecret = 'SECRET-merge-target';
  const source = await ticketWithNote(secret);
  const target = await ticketWithNote(targetSecret);
  expect((await t.api('POST', `/tickets/${source}/merge`, { into: target, actor: tech })).status).toBe(200);
  // A note sent to the merged ticket lands in the surviving one, still internal.
  const late = await t.api('POST', `/tickets/${source}/entries`, { kind: 'note', text: 'SECRET-merge-late', author: tech });
  expect(late.status).toBe(201);
  expect(late.body.entry.ticketNumber).toBe(target);
  for (const n of [source, target]) {
    const view = await t.api('GET', `/tickets/${n}?view=contact`);
    const text = JSON.stringify(view.body);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(targetSecret);
    expect(text).not.toContain('SECRET-merge-late');
  }
  // The technician view of the target shows both conversations, notes included.
  const techView = JSON.stringify((await t.api('GET', `/tickets/${target}`)).body);
  expect(techView).toContain(secret);
  expect(techView).toContain('Merged into ticket');
});

test('templates: a rendered quick reply never carries a note, whatever placeholders it uses', async () => {
  const secret = 'SECRET-template';
  const n = await ticketWithNote(secret);
  const everything = '{{requester.name}} {{requester.firstName}} {{requester.email}} {{ticket.number}} {{ticket.title}} {{ticket.status}} {{technician.name}} {{technician.firstName}} {{technician.email}} {{ticket.description}} {{ticket.last}} {{entries}} {{note}}';
  const tpl = await t.api('POST', '/templates', { name: 'everything', body: 'x' });
  expect(tpl.status).toBe(201);
  // Unknown placeholders are refused on save; the known ones are all public fields.
  expect((await t.api('PUT', `/templates/${tpl.body.id}`, { name: 'everything', body: everything })).status).toBe(400);
  const known = everything.replace(/ \{\{(ticket\.description|ticket\.last|entries|note)\}\}/g, '');
  expect((await t.api('PUT', `/templates/${tpl.body.id}`, { name: 'everything', body: known })).status).toBe(200);
  const rendered = await t.api('POST', `/templates/${tpl.body.id}/render`, { ticket: n, technician: tech });
  expect(rendered.status).toBe(200);
  expect(rendered.body.text).toContain('Printer on fire');
  expect(rendered.body.text).not.toContain(secret);
});

test('activity log and events: a note\'s line and event carry its visibility, never its text', async () => {
  const secret = 'SECRET-activity';
  const n = await ticketWithNote(secret);
  const activity = await t.api('GET', `/tickets/${n}/activity`);
  expect(JSON.stringify(activity.body)).not.toContain(secret);
  const noteLine = activity.body.items.find((a: { action: string }) => a.action === 'note_added');
  expect(noteLine.meta.visibility).toBe('internal');
  const events = await t.app.ctx.db.models.Event.find({ ticketNumber: n, type: 'entry.added' }).lean();
  expect(JSON.stringify(events)).not.toContain(secret);
  expect(events.filter((e) => (e.data as { visibility?: string }).visibility === 'internal')).toHaveLength(1);
});
