import { Types } from 'mongoose';
import { SettingsService } from '../../src/tickets/settings.js';
import { TicketService } from '../../src/tickets/service.js';
import { newOpId } from '../../src/tickets/dispatcher.js';
import { startTestApp, type TestApp } from '../support/db.js';

// The read and write paths (conversation in one indexed query, write results built from what was
// written) must give exactly what the plain queries give, and never an internal note to an end user.
let t: TestApp;
let s: TicketService;
const tech = { email: 'tess@it.example' };
const jane = { email: 'jane@corp.example' };

beforeAll(async () => {
  t = await startTestApp();
  s = t.app.ctx.service;
  await s.people.register({ email: tech.email, name: 'Tess', roles: ['technician'] });
});
afterAll(async () => { await t.close(); });

/** The conversation as the plain ticketNumber query returns it. */
async function entriesByQuery(numbers: number[], publicOnly = false): Promise<string[]> {
  const filter: Record<string, unknown> = { ticketNumber: { $in: numbers } };
  if (publicOnly) Object.assign(filter, { visibility: 'public', kind: { $ne: 'note' } });
  // Entries written in the same millisecond (a merge writes two notices) are ordered by _id, as the service does.
  const docs = await s.models.Entry.find(filter).sort({ createdAt: 1, _id: 1 }).lean();
  return docs.map((d) => String(d._id));
}

async function conversation(title: string) {
  const created = await s.createTicket({ title, description: 'The printer is on fire.', requester: jane, source: 'email' });
  await s.addEntry(created.number, { kind: 'note', text: 'SECRET: the printer was never on fire', author: tech, source: 'api' });
  await s.addEntry(created.number, { kind: 'reply', text: 'On our way.', author: tech, source: 'api', status: 'Pending' });
  await s.addEntry(created.number, { kind: 'reply', text: 'Thanks!', author: jane, source: 'email' });
  await s.addSystemEntry(created.number, 'Escalated automatically.');
  return created;
}

test('createTicket returns what getTicket reads back, first entry included', async () => {
  const created = await s.createTicket({ title: 'Fresh', description: 'Hello', requester: jane, source: 'email', cc: ['boss@corp.example'] });
  expect(created.entries).toHaveLength(1);
  expect(created).toEqual(await s.getTicket(created.number));
});

test('addEntry returns the ticket as written and the entry as stored, without reading the conversation', async () => {
  const { number } = await s.createTicket({ title: 'Reply result', description: 'Hi', requester: jane, source: 'email' });
  const { ticket, entry } = await s.addEntry(number, { kind: 'reply', text: 'Done?', author: tech, source: 'api', status: 'Resolved', cc: ['ops@corp.example'] });
  const read = await s.getTicket(number);
  expect('entries' in ticket).toBe(false);
  const { entries, ...header } = read;
  expect(ticket).toEqual(header);
  expect(ticket.status).toBe('Resolved');
  expect(entry).toEqual(entries.find((e) => e.id === entry.id));
});

test('the technician view equals the ticketNumber query, in order', async () => {
  const { number } = await conversation('Order');
  const view = await s.getTicket(number);
  expect(view.entries.map((e) => e.id)).toEqual(await entriesByQuery([number]));
  expect(view.entries.map((e) => e.kind)).toEqual(['reply', 'note', 'reply', 'reply', 'system']);
});

test('end-user views never contain an internal note, even if a note were recorded as public', async () => {
  const { number } = await conversation('No leaks');
  const note = await s.models.Entry.findOne({ ticketNumber: number, kind: 'note' }).lean();
  expect(note!.visibility).toBe('internal');
  expect((await s.getContactView(number)).entries.map((e) => e.id)).toEqual(await entriesByQuery([number], true));

  // A corrupted document must still not leak: a note is never fetched for an end user, whatever
  // its visibility says, and every entry fetched is checked again.
  await s.models.Entry.updateOne({ _id: note!._id }, { $set: { visibility: 'public' } });
  for (const entries of [(await s.getContactView(number)).entries, await s.publicEntries([number])]) {
    expect(entries.some((e) => e.kind === 'note' || e.text.includes('SECRET'))).toBe(false);
    expect(entries).toHaveLength(4);
  }
});

test('a long conversation reads completely and in order', async () => {
  const { number } = await s.createTicket({ title: 'Long', description: 'start', requester: jane, source: 'email' });
  for (let i = 0; i < 28; i++) {
    await s.addEntry(number, i % 4 === 0
      ? { kind: 'note', text: `note ${i}`, author: tech, source: 'api' }
      : { kind: 'reply', text: `reply ${i}`, author: jane, source: 'email' });
  }
  expect((await s.getTicket(number)).entries.map((e) => e.id)).toEqual(await entriesByQuery([number]));
  const contact = await s.getContactView(number);
  expect(contact.entries.map((e) => e.id)).toEqual(await entriesByQuery([number], true));
  expect(contact.entries.some((e) => e.kind === 'note')).toBe(false);
});

test('a merged conversation shows both tickets\' entries and both notices; end users see no note of either', async () => {
  const source = await conversation('Merge source');
  const target = await conversation('Merge target');
  expect((await s.merge(source.number, target.number, tech)).mergedInto).toBe(target.number);
  const merged = await s.getTicket(target.number);
  const numbers = [target.number, source.number];
  expect(merged.entries.map((e) => e.id)).toEqual(await entriesByQuery(numbers));
  expect(merged.entries.filter((e) => e.kind === 'system').map((e) => e.text)).toEqual(expect.arrayContaining([
    `Merged into ticket #${target.number}.`, `Ticket #${source.number} (Merge source) was merged into this ticket.`,
  ]));
  expect((await s.models.Ticket.findOne({ number: target.number }).lean())!.mergedFrom).toEqual([source.number]);
  const contact = await s.getContactView(target.number);
  expect(contact.entries.map((e) => e.id)).toEqual(await entriesByQuery(numbers, true));
  expect(contact.entries.some((e) => e.kind === 'note' || e.text.includes('SECRET'))).toBe(false);
  // A reply to the merged ticket lands in the target and shows there.
  const { entry } = await s.addEntry(source.number, { kind: 'reply', text: 'late reply', author: jane, source: 'email' });
  expect(entry.ticketNumber).toBe(target.number);
  expect((await s.getTicket(target.number)).entries.at(-1)!.id).toBe(entry.id);
  // The same from another service instance (another process).
  const fresh = new TicketService(s.models, s.dispatcher, s.logger);
  const other = await fresh.addEntry(source.number, { kind: 'reply', text: 'from elsewhere', author: jane, source: 'email' });
  expect(other.entry.ticketNumber).toBe(target.number);
  expect(other.ticket.number).toBe(target.number);
  const event = await s.models.Event.findOne({ type: 'entry.added', 'data.entryId': other.entry.id }).lean();
  expect(event!.data).toMatchObject({ redirectedFrom: source.number });
  await expect(fresh.addEntry(999_999, { kind: 'reply', text: 'nobody', author: { email: 'ghost@corp.example' }, source: 'email' }))
    .rejects.toMatchObject({ code: 'NOT_FOUND' });
  expect(await s.people.findByEmail('ghost@corp.example')).toBeNull();
});

test('settings are cached: an update shows at once here, another process\'s after the short TTL', async () => {
  const TTL = 1000;
  const here = new SettingsService(s.models, TTL);
  const elsewhere = new SettingsService(s.models, TTL);
  const cachedAt = Date.now();
  expect((await here.get()).defaultReplyType).toBe('reply');
  const updated = await elsewhere.update({ defaultReplyType: 'note' });
  expect(updated.defaultReplyType).toBe('note');
  expect((await elsewhere.get()).defaultReplyType).toBe('note');
  const stillCached = (await here.get()).defaultReplyType;
  // Still within the TTL: the old value (checked only when the machine was quick enough to be
  // inside it, so a loaded CI machine cannot fail this on timing alone).
  if (Date.now() - cachedAt < TTL) expect(stillCached).toBe('reply');
  const deadline = Date.now() + 5_000;
  while ((await here.get()).defaultReplyType !== 'note' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect((await here.get()).defaultReplyType).toBe('note');
  // A caller changing its copy does not change the cache.
  (await here.get()).customStatuses.push({ name: 'Hacked', category: 'Open' });
  expect((await here.get()).customStatuses).toEqual([]);
  await elsewhere.update({ defaultReplyType: 'reply' });
});

test('people are found by any of their emails, case-insensitively', async () => {
  const a = await s.people.ensureContact('ann@corp.example', 'Ann');
  const b = await s.people.ensureContact('bob@corp.example', 'Bob');
  expect(String((await s.people.findByEmail('ANN@corp.example'))!._id)).toBe(String(a._id));
  // An address added to a person later is found too.
  await s.people.addEmail(String(a._id), 'ann.alias@corp.example');
  expect(String((await s.people.findByEmail('ann.alias@corp.example'))!._id)).toBe(String(a._id));
  const many = await s.people.getMany([String(a._id), String(b._id), String(new Types.ObjectId()), 'not-an-id']);
  expect([...many.values()].map((p) => p.name).sort()).toEqual(['Ann', 'Bob']);
});

test('activities written in the same millisecond read back in the order they were written', async () => {
  const { number, id } = await s.createTicket({ title: 'Same ms', description: 'x', requester: jane, source: 'email' });
  // Pending-write ids increase within a process (they break the tie of equal times).
  const ids = Array.from({ length: 500 }, () => newOpId());
  expect([...ids].sort()).toEqual(ids);
  // Two activities of one change share their time; stored here in the opposite order to their ids.
  const at = new Date();
  const [first, second] = [newOpId(), newOpId()];
  const base = { ticketId: new Types.ObjectId(id), ticketNumber: number, actor: { kind: 'system', name: 'deskbridge' }, field: null, from: null, to: null, meta: {}, at };
  await s.models.Activity.collection.insertOne({ ...base, _id: second, action: 'second' } as never);
  await s.models.Activity.collection.insertOne({ ...base, _id: first, action: 'first' } as never);
  const actions = (await s.getActivity(number)).map((a) => a.action).filter((a) => a === 'first' || a === 'second');
  expect(actions).toEqual(['first', 'second']);
});
