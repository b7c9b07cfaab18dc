import { automationsModule } from '../../src/automations/module.js';
import { automationModels } from '../../src/automations/store.js';
import { startTestApp } from '../support/db.js';

/*
 * A time-rule run that died after it logged itself ("automation_ran") and before it was marked
 * done is resumed by the next job run: the resumed run must not log itself a second time (the
 * multi-instance channels fault test found one ticket with two entries for one run).
 */
test('a resumed run that had already logged itself logs nothing more; one that had not logs once', async () => {
  const t = await startTestApp({ modules: [automationsModule] });
  try {
    const rule = await t.api('POST', '/automations', { name: 'Escalate', trigger: { type: 'time.status', status: 'Open', hours: 0.0001 }, actions: [{ type: 'addNote', text: 'escalated' }] });
    expect(rule.status).toBe(201);
    const { service } = t.app.ctx;
    const runs = automationModels(t.app.ctx.db.connection).AutomationRun;
    const crashedRun = async (title: string, logged: boolean) => {
      const ticket = await service.createTicket({ title, description: 'x', requester: { email: 'jane@corp.example' }, source: 'api' });
      const start = await service.statusSince(ticket.number);
      const runId = `${rule.body.id}:${ticket.number}:${start.getTime()}`;
      // What the dead run left: its one action done, maybe its log entry, the run still "started".
      if (logged) await service.recordActivity(ticket.number, 'automation_ran', { rule: 'Escalate', ruleId: rule.body.id, runId });
      await runs.create({ _id: runId, ruleId: rule.body.id, ruleName: 'Escalate', ticketNumber: ticket.number, status: 'started', actionsDone: 1, lockedUntil: new Date(0), startedAt: new Date() });
      return ticket.number;
    };
    const loggedBefore = await crashedRun('logged before the crash', true);
    const notLogged = await crashedRun('not logged before the crash', false);
    await new Promise((r) => setTimeout(r, 400)); // the rule's 0.36 s have passed for both
    expect((await t.api('POST', '/automations/run-time-rules')).status).toBe(200);
    const ranOn = async (n: number) => (await service.getActivity(n)).filter((a) => a.action === 'automation_ran').length;
    expect(await ranOn(loggedBefore)).toBe(1);
    expect(await ranOn(notLogged)).toBe(1);
    expect(await runs.countDocuments({ status: 'done' })).toBe(2);
  } finally {
    await t.close();
  }
});

/*
 * A run that died after its addNote action and before it saved that progress (actionsDone still 0)
 * is resumed: the note it already added is found by the run and action it carries and not added
 * again (the channels fault test found a time rule's note twice on a ticket after a kill).
 */
test('a resumed run does not repeat an entry-adding action whose progress the crash did not save', async () => {
  const t = await startTestApp({ modules: [automationsModule] });
  try {
    const rule = await t.api('POST', '/automations', { name: 'Escalate', trigger: { type: 'time.status', status: 'Open', hours: 0.0001 }, actions: [{ type: 'addNote', text: 'escalated' }, { type: 'setPriority', priority: 'High' }] });
    expect(rule.status).toBe(201);
    const { service } = t.app.ctx;
    const runs = automationModels(t.app.ctx.db.connection).AutomationRun;
    const ticket = await service.createTicket({ title: 'died after the note', description: 'x', requester: { email: 'jane@corp.example' }, source: 'api' });
    const start = await service.statusSince(ticket.number);
    const runId = `${rule.body.id}:${ticket.number}:${start.getTime()}`;
    // What the dead run left: the note added (carrying its run and action), progress not saved.
    await service.addEntry(ticket.number, { kind: 'note', text: 'escalated', author: { system: 'Escalate' }, source: 'system', external: { automationRun: `${runId}:0` } });
    await runs.create({ _id: runId, ruleId: rule.body.id, ruleName: 'Escalate', ticketNumber: ticket.number, status: 'started', actionsDone: 0, lockedUntil: new Date(0), startedAt: new Date() });
    await new Promise((r) => setTimeout(r, 400));
    expect((await t.api('POST', '/automations/run-time-rules')).status).toBe(200);
    const after = await service.getTicket(ticket.number);
    expect(after.entries.filter((e) => e.text === 'escalated')).toHaveLength(1);
    expect(after.priority).toBe('High'); // the rest of the run still happened
    expect(await runs.countDocuments({ _id: runId, status: 'done' } as never)).toBe(1);
  } finally {
    await t.close();
  }
});
