import { threadMessage, threadMessageEdit } from './kit/activities.js';
import { contractTest, skipReason } from './kit/contracts.js';
import { startTeams, type TeamsHarness } from './kit/harness.js';

/**
 * A technician edits or deletes their message in a ticket card's thread. The note follows an edit
 * (its new words searchable by technicians only); a delete is logged and the note kept. A retried
 * activity counts once; someone who is not a technician changes nothing.
 */
let h: TeamsHarness;
type P = Awaited<ReturnType<TeamsHarness['person']>>;
let tom: P;
let jane: P;
const itc = contractTest('teams edits');

beforeAll(async () => {
  h = await startTeams();
  tom = await h.person('Tom Tech', 'tom@it.example');
  jane = await h.person('Jane Doe', 'jane@corp.example', ['contact']);
  await h.installInChannel(tom);
});
afterAll(async () => { await h?.close(); });

async function noteInThread(text: string) {
  const created = await h.t.api('POST', '/tickets', { title: 'Printer offline', description: 'x', requester: { email: 'jane@corp.example' } });
  await h.drain();
  const n = created.body.number as number;
  const card = await h.cardRef(n);
  const message = threadMessage(h.connector.url, tom, card.activityId, `<p>${text}</p>`);
  expect((await h.post(message)).status).toBe(200);
  return { n, message };
}
const notes = async (n: number) => (await h.t.app.ctx.service.getTicket(n)).entries.filter((e) => e.kind === 'note');
const activities = async (n: number, action: string) => (await h.t.app.ctx.service.models.Activity.find({ ticketNumber: n, action }).lean()).length;

itc(`an edit of a thread message changes its note, once even when Teams retries it${skipReason}`, async () => {
  const { n, message } = await noteInThread('Rebooted the print server');
  const edit = threadMessageEdit(message, { html: '<p>Rebooted the print server and the spooler</p>' });
  expect((await h.post(edit)).status).toBe(200);
  expect((await h.post(edit)).status).toBe(200); // the retry
  const [note] = await notes(n);
  expect(note).toMatchObject({ text: 'Rebooted the print server and the spooler', source: 'teams' });
  expect(await activities(n, 'note_edited')).toBe(1);
  // A second, different edit is a new edit.
  await h.post(threadMessageEdit(message, { html: '<p>Replaced the spooler</p>' }));
  expect((await notes(n))[0]!.text).toBe('Replaced the spooler');
  expect(await activities(n, 'note_edited')).toBe(2);
  // The note's edited text never reaches the requester.
  expect(JSON.stringify((await h.t.api('GET', `/tickets/${n}?view=contact`)).body.entries)).not.toContain('spooler');
});

itc(`deleting a thread message logs it and keeps the note; a non-technician's edit changes nothing${skipReason}`, async () => {
  const { n, message } = await noteInThread('Ordered a new toner');
  await h.post(threadMessageEdit(message, 'deleted'));
  expect((await notes(n)).map((e) => e.text)).toEqual(['Ordered a new toner']);
  expect(await activities(n, 'note_deleted_in_chat')).toBe(1);

  const forged = { ...threadMessageEdit(message, { html: '<p>nothing was ordered</p>' }), from: { id: jane.id, name: jane.name, aadObjectId: jane.aadObjectId } };
  await h.post(forged);
  expect((await notes(n)).map((e) => e.text)).toEqual(['Ordered a new toner']);
});
