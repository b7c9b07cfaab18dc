import { AutomationEngine } from '../../src/automations/engine.js';
import { automationsModule } from '../../src/automations/module.js';
import { automationModels } from '../../src/automations/store.js';
import { eventFromDoc } from '../../src/tickets/mappers.js';
import { startTestApp, type TestApp } from '../support/db.js';

let t: TestApp;
let engine: AutomationEngine;
const TECH = 'tom@it.example';
const TECH2 = 'ann@it.example';
const JANE = 'jane@corp.example';
const DAY = 24 * 3_600_000;

beforeAll(async () => {
  t = await startTestApp({ modules: [automationsModule] });
  engine = new AutomationEngine(automationModels(t.app.ctx.db.connection), t.app.ctx.service, t.app.ctx.logger);
  await t.api('POST', '/people', { email: TECH, name: 'Tom Tech', roles: ['technician'] });
  await t.api('POST', '/people', { email: TECH2, name: 'Ann Admin', roles: ['technician'] });
  await t.api('POST', '/people', { email: JANE, name: 'Jane Doe', roles: ['contact'], customer: 'Acme' });
});
afterAll(async () => { await t.close(); });

const drain = () => t.app.ctx.deliveries.drain();
async function newTicket(extra: Record<string, unknown> = {}): Promise<number> {
  const r = await t.api('POST', '/tickets', { title: 'Printer jams', description: 'It jams', requester: { email: JANE }, ...extra });
  expect(r.status).toBe(201);
  await drain();
  return r.body.number;
}
const ticket = async (n: number) => (await t.api('GET', `/tickets/${n}`)).body;
const activity = async (n: number) => (await t.api('GET', `/tickets/${n}/activity`)).body.items as any[];
const runsOf = async (n: number, rule: string) => (await activity(n)).filter((a) => a.action === 'automation_ran' && a.meta.rule === rule);
async function rule(body: Record<string, unknown>): Promise<any> {
  const r = await t.api('POST', '/automations', { enabled: true, conditions: [], ...body });
  expect(r.status).toBe(201);
  return r.body;
}
const disable = (id: string) => t.api('PATCH', `/automations/${id}`, { enabled: false });

test('the shipped defaults are stored, can be switched off, not deleted', async () => {
  const list = (await t.api('GET', '/automations')).body.items;
  expect(list.map((r: any) => r.builtin)).toEqual(['reopen-on-contact-reply', 'close-resolved-after-7-days']);
  const del = await t.api('DELETE', `/automations/${list[0].id}`);
  expect(del.status).toBe(409);
  expect(del.body.error.message).toMatch(/switch it off/);
});

test('default: a contact reply to a Pending or Resolved ticket reopens it, logged with the rule name; off means off', async () => {
  const n = await newTicket();
  for (const status of ['Pending', 'Resolved']) {
    await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Try this', author: { email: TECH }, status });
    await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Did not help', author: { email: JANE } });
    await drain();
    expect((await ticket(n)).status).toBe('Open');
  }
  const acts = await activity(n);
  const reopen = acts.filter((a) => a.action === 'field_changed' && a.to === 'Open');
  expect(reopen).toHaveLength(2);
  expect(reopen[0].actor).toMatchObject({ kind: 'system', name: 'Automation: Reopen when the end user replies' });
  expect(await runsOf(n, 'Reopen when the end user replies')).toHaveLength(2);

  // A reply to an Open ticket: the rule does not run at all.
  await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Still there?', author: { email: JANE } });
  await drain();
  expect(await runsOf(n, 'Reopen when the end user replies')).toHaveLength(2);

  // Switched off: the end user's reply leaves the status as it is (product rule).
  const builtin = (await t.api('GET', '/automations')).body.items[0];
  await disable(builtin.id);
  await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Waiting', author: { email: TECH }, status: 'Pending' });
  await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Hello?', author: { email: JANE } });
  await drain();
  expect((await ticket(n)).status).toBe('Pending');
  await t.api('PATCH', `/automations/${builtin.id}`, { enabled: true });
});

test('default: Resolved tickets close after 7 days without a reply, once per resolved period', async () => {
  const n = await newTicket();
  await t.api('PATCH', `/tickets/${n}`, { status: 'Resolved', actor: { email: TECH } });
  await drain();
  await engine.runTimeRules(new Date(Date.now() + 6 * DAY));
  expect((await ticket(n)).status).toBe('Resolved');
  // A technician's public reply restarts the 7 days.
  await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'Closing soon', author: { email: TECH } });
  await engine.runTimeRules(new Date(Date.now() + 7 * DAY - 60_000));
  expect((await ticket(n)).status).toBe('Resolved');
  await engine.runTimeRules(new Date(Date.now() + 8 * DAY));
  expect((await ticket(n)).status).toBe('Closed');
  await engine.runTimeRules(new Date(Date.now() + 9 * DAY));
  expect(await runsOf(n, 'Close resolved tickets after 7 days without a reply')).toHaveLength(1);
  const closed = (await activity(n)).find((a) => a.action === 'field_changed' && a.to === 'Closed');
  expect(closed.actor.name).toBe('Automation: Close resolved tickets after 7 days without a reply');
});

test('no loops: a rule\'s own change does not trigger rules (not even itself)', async () => {
  const a = await rule({ name: 'Status to priority', trigger: { type: 'field.changed', field: 'status', to: 'Pending' }, actions: [{ type: 'setPriority', priority: 'High' }, { type: 'setStatus', status: 'Open' }] });
  const b = await rule({ name: 'Priority to status', trigger: { type: 'field.changed', field: 'priority' }, actions: [{ type: 'setStatus', status: 'Resolved' }] });
  const c = await rule({ name: 'Note on every entry', trigger: { type: 'entry.added', by: 'any' }, actions: [{ type: 'addNote', text: 'seen' }] });
  const n = await newTicket();
  await t.api('PATCH', `/tickets/${n}`, { status: 'Pending', actor: { email: TECH } });
  await drain();
  const tk = await ticket(n);
  expect(tk).toMatchObject({ priority: 'High', status: 'Open' });
  expect(await runsOf(n, 'Status to priority')).toHaveLength(1);
  expect(await runsOf(n, 'Priority to status')).toHaveLength(0);
  expect(tk.entries.filter((e: any) => e.text === 'seen')).toHaveLength(0);
  // A person's entry fires the note rule once; the rule's own note does not fire it again.
  await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'hi', author: { email: TECH } });
  await drain();
  expect((await ticket(n)).entries.filter((e: any) => e.text === 'seen')).toHaveLength(1);
  for (const r of [a, b, c]) await disable(r.id);
});

test('a rule runs once per event, even when the event is delivered twice', async () => {
  const r = await rule({ name: 'Note on create', trigger: { type: 'ticket.created' }, actions: [{ type: 'addNote', text: 'created-note' }] });
  const n = await newTicket();
  const ev = await t.app.ctx.db.models.Event.findOne({ ticketNumber: n, type: 'ticket.created' }).lean();
  expect(await engine.handleEvent(eventFromDoc(ev!))).toBe(0);
  expect((await ticket(n)).entries.filter((e: any) => e.text === 'created-note')).toHaveLength(1);
  await disable(r.id);
});

test('triggers: created, entry by contact/technician, assignee changed, no technician reply for N hours', async () => {
  const rules = [
    await rule({ name: 'Access requests', trigger: { type: 'ticket.created' }, conditions: [{ field: 'title', op: 'contains', value: ['access', 'zugang'] }], actions: [{ type: 'setType', ticketType: 'Request' }] }),
    await rule({ name: 'Tech replied', trigger: { type: 'entry.added', by: 'technician', kind: 'reply' }, actions: [{ type: 'addNote', text: 'tech-replied' }] }),
    await rule({ name: 'Contact wrote urgent', trigger: { type: 'entry.added', by: 'contact' }, conditions: [{ field: 'entryText', op: 'contains', value: 'urgent' }], actions: [{ type: 'setPriority', priority: 'Critical' }] }),
    await rule({ name: 'Tell the new assignee', trigger: { type: 'field.changed', field: 'assignee' }, actions: [{ type: 'notifyTechnicians', text: 'You got a ticket' }] }),
    await rule({ name: 'Escalate silence', trigger: { type: 'time.noTechnicianReply', hours: 4 }, actions: [{ type: 'notifyTechnicians', technicians: [TECH2], text: 'Nobody answered for 4 hours' }] }),
  ];
  const n = await newTicket({ title: 'Need VPN access' });
  expect((await ticket(n)).type).toBe('Request');
  const other = await newTicket({ title: 'Broken mouse' });
  expect((await ticket(other)).type).toBe('Incident');

  await t.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: 'a note', author: { email: TECH } });
  await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'On it', author: { email: TECH } });
  await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'This is urgent!', author: { email: JANE } });
  await t.api('PATCH', `/tickets/${n}`, { assignee: { email: TECH }, actor: { email: TECH2 } });
  await drain();
  let tk = await ticket(n);
  expect(tk.entries.filter((e: any) => e.text === 'tech-replied')).toHaveLength(1);
  expect(tk.priority).toBe('Critical');
  const notify = tk.entries.find((e: any) => e.text === 'You got a ticket');
  expect(notify).toMatchObject({ kind: 'note', visibility: 'internal', author: { kind: 'system' } });
  expect(notify.mentions).toEqual([tk.assignee.id]);

  // The end user wrote last: after 4 hours without a technician reply the rule fires, once.
  await engine.runTimeRules(new Date(Date.now() + 3 * 3_600_000));
  expect((await ticket(n)).entries.filter((e: any) => e.text === 'Nobody answered for 4 hours')).toHaveLength(0);
  await engine.runTimeRules(new Date(Date.now() + 5 * 3_600_000));
  await engine.runTimeRules(new Date(Date.now() + 6 * 3_600_000));
  tk = await ticket(n);
  const esc = tk.entries.filter((e: any) => e.text === 'Nobody answered for 4 hours');
  expect(esc).toHaveLength(1);
  const ann = (await t.api('GET', '/people')).body.items?.find?.((p: any) => p.email === TECH2);
  if (ann) expect(esc[0].mentions).toEqual([ann.id]);
  for (const r of rules) await disable(r.id);
});

test('conditions: requester\'s customer, priority in, type, sentiment', async () => {
  const r = await rule({
    name: 'Acme high priority to Tom',
    trigger: { type: 'ticket.created' },
    conditions: [
      { field: 'customer', op: 'equals', value: 'acme' },
      { field: 'priority', op: 'in', value: ['High', 'Critical'] },
      { field: 'type', op: 'notEquals', value: 'Change' },
    ],
    actions: [{ type: 'setAssignee', assignee: TECH }],
  });
  const yes = await newTicket({ priority: 'High' });
  const lowPrio = await newTicket({ priority: 'Low' });
  const change = await newTicket({ priority: 'High', type: 'Change' });
  const otherCustomer = await newTicket({ priority: 'High', requester: { email: 'bob@else.example' } });
  expect((await ticket(yes)).assignee?.email).toBe(TECH);
  for (const n of [lowPrio, change, otherCustomer]) expect((await ticket(n)).assignee).toBeNull();
  await disable(r.id);

  const s = await rule({ name: 'Unhappy', trigger: { type: 'entry.added', by: 'contact' }, conditions: [{ field: 'sentiment', op: 'equals', value: 'negative' }], actions: [{ type: 'setPriority', priority: 'High' }] });
  const n = await newTicket();
  await t.app.ctx.service.setSentiment(n, { label: 'negative', score: -0.8, source: 'lexicon' });
  await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'hm', author: { email: JANE } });
  await drain();
  expect((await ticket(n)).priority).toBe('High');
  await disable(s.id);
});

test('template email to the requester: a public system reply rendered from a template, no internal notes', async () => {
  const tpl = await t.api('POST', '/templates', { name: 'Ack', body: 'Hi {{requester.firstName}}, we got ticket #{{ticket.number}} ({{ticket.title}}). {{technician.name}}' });
  const r = await rule({ name: 'Acknowledge', trigger: { type: 'ticket.created' }, actions: [{ type: 'emailRequester', templateId: tpl.body.id }] });
  const n = await newTicket({ assignee: { email: TECH } });
  await t.api('POST', `/tickets/${n}/entries`, { kind: 'note', text: 'SECRET internal', author: { email: TECH } });
  const contact = (await t.api('GET', `/tickets/${n}?view=contact`)).body;
  const ack = contact.entries.find((e: any) => e.text.startsWith('Hi Jane'));
  expect(ack).toMatchObject({ kind: 'reply', visibility: 'public', author: { kind: 'system', name: 'Automation: Acknowledge' } });
  expect(ack.text).toBe(`Hi Jane, we got ticket #${n} (Printer jams). Tom Tech`);
  expect(JSON.stringify(contact)).not.toContain('SECRET');
  // The reply is an entry.added event for the email notifier, authored by the system.
  const ev = await t.app.ctx.db.models.Event.findOne({ ticketNumber: n, type: 'entry.added', 'data.entryId': ack.id }).lean();
  expect(ev).toMatchObject({ actor: { kind: 'system' }, data: { visibility: 'public', kind: 'reply' } });
  await disable(r.id);
});

test('bad rules get clear errors with fields, and nothing is written', async () => {
  const before = (await t.api('GET', '/automations')).body.items.length;
  const cases: [unknown, string][] = [
    [{ name: 'x', trigger: { type: 'sometimes' }, actions: [{ type: 'addNote', text: 'a' }] }, 'trigger.type'],
    [{ name: 'x', trigger: { type: 'time.status', status: 'Sleeping', hours: 2 }, actions: [{ type: 'addNote', text: 'a' }] }, 'trigger.status'],
    [{ name: 'x', trigger: { type: 'time.status', status: 'Open', hours: -1 }, actions: [{ type: 'addNote', text: 'a' }] }, 'trigger.hours'],
    [{ name: 'x', trigger: { type: 'ticket.created' }, actions: [] }, 'actions'],
    [{ name: 'x', trigger: { type: 'ticket.created' }, actions: [{ type: 'setStatus', status: 'Nope' }] }, 'actions[0].status'],
    [{ name: 'x', trigger: { type: 'ticket.created' }, actions: [{ type: 'setAssignee', assignee: JANE }] }, 'actions[0].assignee'],
    [{ name: 'x', trigger: { type: 'ticket.created' }, actions: [{ type: 'emailRequester' }] }, 'actions.0.templateId'],
    [{ name: 'x', trigger: { type: 'ticket.created' }, conditions: [{ field: 'status', op: 'equals', value: ['a', 'b'] }], actions: [{ type: 'addNote', text: 'a' }] }, 'conditions.0.value'],
    [{ name: 'x', trigger: { type: 'ticket.created' }, conditions: [{ field: 'status', op: 'equals', value: { $ne: 1 } }], actions: [{ type: 'addNote', text: 'a' }] }, 'conditions.0.value'],
  ];
  for (const [body, field] of cases) {
    const res = await t.api('POST', '/automations', body);
    expect([400, 403]).toContain(res.status);
    // The error names the field, or the exact key inside it (e.g. an operator key "value.$ne").
    expect(res.body.error.fields.map((f: any) => f.field).some((f: string) => f === field || f.startsWith(`${field}.`))).toBe(true);
  }
  const dup = await t.api('POST', '/automations', { name: 'Reopen when the end user replies', trigger: { type: 'ticket.created' }, actions: [{ type: 'addNote', text: 'a' }] });
  expect(dup.status).toBe(409);
  expect((await t.api('GET', '/automations')).body.items.length).toBe(before);
  expect((await t.api('GET', '/automations/nope')).status).toBe(404);
});

test('a rule whose action cannot run is recorded as failed, not retried forever', async () => {
  await t.api('PUT', '/settings', { customStatuses: [{ name: 'Waiting on vendor', category: 'Pending' }] });
  const r = await rule({ name: 'Vendor', trigger: { type: 'ticket.created' }, actions: [{ type: 'setStatus', status: 'waiting on vendor' }] });
  expect(r.actions[0].status).toBe('Waiting on vendor');
  await t.api('PUT', '/settings', { customStatuses: [] });
  const n = await newTicket();
  const failed = (await activity(n)).find((a) => a.action === 'automation_failed');
  expect(failed.meta).toMatchObject({ rule: 'Vendor' });
  expect(failed.meta.error).toMatch(/unknown status/);
  await disable(r.id);
});

test('a run interrupted after its first action resumes with the next one; a run held by another worker is left alone', async () => {
  const r = await rule({ name: 'Two notes', enabled: false, trigger: { type: 'entry.added', by: 'technician' }, actions: [{ type: 'addNote', text: 'first-action' }, { type: 'addNote', text: 'second-action' }] });
  const n = await newTicket();
  await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'hello', author: { email: TECH } });
  await t.api('POST', `/tickets/${n}/entries`, { kind: 'reply', text: 'hello again', author: { email: TECH } });
  await drain();
  const [ev, other] = (await t.app.ctx.db.models.Event.find({ ticketNumber: n, type: 'entry.added' }).sort({ at: 1, _id: 1 }).lean()).map(eventFromDoc) as [any, any];
  const runs = automationModels(t.app.ctx.db.connection).AutomationRun;
  // As a crash leaves it: claimed, first action done, lease expired.
  await runs.create({ _id: `${r.id}:${ev.id}`, ruleId: r.id, ruleName: 'Two notes', ticketNumber: n, status: 'started', actionsDone: 1, lockedUntil: new Date(Date.now() - 1000), startedAt: new Date() });
  // And one still leased by a live worker, for the second reply.
  await runs.create({ _id: `${r.id}:${other.id}`, ruleId: r.id, ruleName: 'Two notes', ticketNumber: n, status: 'started', actionsDone: 0, lockedUntil: new Date(Date.now() + 60_000), startedAt: new Date() });
  await t.api('PATCH', `/automations/${r.id}`, { enabled: true });

  expect(await engine.handleEvent(ev)).toBe(1);
  expect(await engine.handleEvent(ev)).toBe(0);
  const texts = (await ticket(n)).entries.map((e: any) => e.text);
  expect(texts.filter((x: string) => x === 'first-action')).toHaveLength(0);
  expect(texts.filter((x: string) => x === 'second-action')).toHaveLength(1);
  expect((await runs.findById(`${r.id}:${ev.id}`).lean())!.status).toBe('done');
  expect(await runsOf(n, 'Two notes')).toHaveLength(1);

  // The leased run is another worker's: not resumed here.
  expect(await engine.handleEvent(other)).toBe(0);
  expect((await ticket(n)).entries.filter((e: any) => e.text === 'first-action')).toHaveLength(0);
  expect((await runs.findById(`${r.id}:${other.id}`).lean())!).toMatchObject({ status: 'started', actionsDone: 0 });
  await disable(r.id);
});
