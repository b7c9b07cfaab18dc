import { startTestApp } from '../support/db.js';

// Automation rules change tickets while people do: a rule's change and a technician's change to
// the same ticket at the same moment must both survive (each change is one atomic, version-guarded
// update of the ticket, src/tickets/core.ts).
test('a rule\'s change and a technician\'s concurrent change both survive', async () => {
  const t = await startTestApp();
  try {
    const { service } = t.app.ctx;
    await service.people.register({ email: 'tom@it.example', roles: ['technician'] });
    const numbers: number[] = [];
    for (let i = 0; i < 5; i++) numbers.push((await service.createTicket({ title: `t${i}`, description: 'd', requester: { email: 'jane@corp.example' }, source: 'api' })).number);
    await Promise.all(numbers.flatMap((n) => [
      service.updateTicket(n, { priority: 'High' }, { system: 'Automation: escalate' }),
      service.updateTicket(n, { assignee: { email: 'tom@it.example' } }, { email: 'tom@it.example' }),
      service.updateTicket(n, { type: 'Problem' }, { email: 'tom@it.example' }),
    ]));
    for (const n of numbers) {
      const v = await service.getTicket(n);
      expect({ priority: v.priority, assignee: v.assignee?.email, type: v.type }).toEqual({ priority: 'High', assignee: 'tom@it.example', type: 'Problem' });
    }
  } finally {
    await t.close();
  }
});
