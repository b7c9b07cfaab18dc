import { startTestApp, type TestApp } from '../support/db.js';

let t: TestApp;
const TECH = 'tom@it.example';
const TECH2 = 'tina@it.example';
const JANE = 'jane@corp.example';

beforeAll(async () => {
  t = await startTestApp();
  await t.api('POST', '/people', { email: TECH, name: 'Tom Tech', roles: ['technician'] });
  await t.api('POST', '/people', { email: TECH2, name: 'Tina Tech', roles: ['technician'] });
});
afterAll(async () => { await t.close(); });

async function newTicket(extra: Record<string, unknown> = {}) {
  const r = await t.api('POST', '/tickets', { title: 'VPN drops', description: 'Every hour the VPN drops.', requester: { email: JANE, name: 'Jane Doe' }, ...extra });
  expect(r.status).toBe(201);
  return r.body;
}
const reply = (n: number, body: Record<string, unknown>) => t.api('POST', `/tickets/${n}/entries`, body);

describe('creating', () => {
  test('tickets get sequential human numbers, also when created at once', async () => {
    const before = (await newTicket()).number;
    const many = await Promise.all(Array.from({ length: 8 }, () => newTicket()));
    const numbers = many.map((m) => m.number).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 8 }, (_, i) => before + 1 + i));
  });

  test('defaults: Open, Medium, Incident, Unread; the requester becomes a contact on first contact', async () => {
    const tk = await newTicket({ requester: { email: 'New.Person@Corp.example', name: 'New Person' } });
    expect(tk).toMatchObject({ status: 'Open', statusCategory: 'Open', priority: 'Medium', type: 'Incident', activityStatus: 'Unread' });
    expect(tk.requester).toMatchObject({ email: 'new.person@corp.example', name: 'New Person' });
    const people = await t.api('GET', '/people?role=contact');
    expect(people.body.items.map((p: any) => p.email)).toContain('new.person@corp.example');
    expect(tk.entries).toHaveLength(1);
    expect(tk.entries[0]).toMatchObject({ kind: 'reply', visibility: 'public', text: 'Every hour the VPN drops.' });
  });

  test('bad input is a 400 naming the field, and writes nothing', async () => {
    const before = (await t.api('GET', '/tickets?limit=100')).body.items.length;
    const peopleBefore = (await t.api('GET', '/people')).body.items.length;
    const cases = [
      [{ title: '', requester: { email: 'a@b.example' } }, 'title'],
      [{ title: 'x', requester: { email: 'not-an-email' } }, 'requester.email'],
      [{ title: 'x', requester: { email: 'ok@b.example' }, cc: ['fine@b.example', 'bad'] }, 'cc.1'],
      [{ title: 'x', requester: { email: 'ok2@b.example' }, priority: 'Urgent' }, 'priority'],
      [{ title: 'x', requester: { email: 'ok3@b.example' }, assignee: { email: 'nobody@it.example' } }, 'assignee'],
      [{ title: { $gt: '' }, requester: { email: 'ok4@b.example' } }, 'title'],
      [{ title: 'x', requester: { email: { $ne: null } } }, 'requester.email'],
    ] as const;
    for (const [body, field] of cases) {
      const r = await t.api('POST', '/tickets', body);
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.body.error.fields.map((f: any) => f.field).join(' ')).toContain(field);
    }
    expect((await t.api('GET', '/tickets?limit=100')).body.items.length).toBe(before);
    expect((await t.api('GET', '/people')).body.items.length).toBe(peopleBefore);
  });

  test('not valid JSON and unknown fields are 400s', async () => {
    expect((await t.api('POST', '/tickets', '{"title":')).status).toBe(400);
    const r = await t.api('POST', '/tickets', { title: 'x', requester: { email: 'a@b.example' }, hacker: true });
    expect(r.status).toBe(400);
  });
});

describe('auth and routing', () => {
  test('401 without the bearer token, and with a wrong one', async () => {
    expect((await fetch(`${t.url}/api/v1/tickets`)).status).toBe(401);
    expect((await fetch(`${t.url}/api/v1/tickets`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
  });
  test('unknown ticket: 404', async () => {
    expect((await t.api('GET', '/tickets/999999')).status).toBe(404);
    expect((await t.api('GET', '/tickets/abc')).status).toBe(404);
    expect((await reply(999999, { kind: 'reply', text: 'x', author: { email: TECH } })).status).toBe(404);
  });
  test('healthz answers 200 once the database is reachable', async () => {
    const r = await fetch(`${t.url}/healthz`);
    expect(r.status).toBe(200);
  });
});

describe('replies, notes and status', () => {
  test('a reply can set the status in the same call; without it the status stays', async () => {
    const tk = await newTicket();
    let r = await reply(tk.number, { kind: 'reply', text: 'Looking into it', author: { email: TECH } });
    expect(r.status).toBe(201);
    expect(r.body.ticket.status).toBe('Open');
    r = await reply(tk.number, { kind: 'note', text: 'Vendor issue', author: { email: TECH }, status: 'Pending' });
    expect(r.body.ticket.status).toBe('Pending');
    r = await reply(tk.number, { kind: 'reply', text: 'Fixed', author: { email: TECH }, status: 'resolved' });
    expect(r.body.ticket.status).toBe('Resolved');
  });

  test('a contact\'s reply never changes the status', async () => {
    const tk = await newTicket();
    await t.api('PATCH', `/tickets/${tk.number}`, { status: 'Resolved' });
    const r = await reply(tk.number, { kind: 'reply', text: 'Still broken!', author: { email: JANE } });
    expect(r.status).toBe(201);
    expect(r.body.ticket.status).toBe('Resolved');
    expect(r.body.entry.author.kind).toBe('contact');
    const refused = await reply(tk.number, { kind: 'reply', text: 'Reopen please', author: { email: JANE }, status: 'Open' });
    expect(refused.status).toBe(403);
    expect((await t.api('GET', `/tickets/${tk.number}`)).body.status).toBe('Resolved');
  });

  test('only technicians write internal notes; a refused note writes nothing', async () => {
    const tk = await newTicket();
    const r = await reply(tk.number, { kind: 'note', text: 'sneaky', author: { email: JANE } });
    expect(r.status).toBe(403);
    const unknown = await reply(tk.number, { kind: 'note', text: 'who am I', author: { email: 'stranger@x.example' } });
    expect(unknown.status).toBe(404);
    const view = (await t.api('GET', `/tickets/${tk.number}`)).body;
    expect(view.entries.map((e: any) => e.text)).toEqual(['Every hour the VPN drops.']);
    const people = (await t.api('GET', '/people?q=stranger')).body.items;
    expect(people).toHaveLength(0);
  });

  test('internal notes never appear in the contact view', async () => {
    const tk = await newTicket();
    await reply(tk.number, { kind: 'note', text: 'INTERNAL: password is hunter2', author: { email: TECH } });
    await reply(tk.number, { kind: 'reply', text: 'We are on it', author: { email: TECH } });
    const contact = (await t.api('GET', `/tickets/${tk.number}?view=contact`)).body;
    expect(JSON.stringify(contact)).not.toContain('hunter2');
    expect(contact.entries.map((e: any) => e.text)).toEqual(['Every hour the VPN drops.', 'We are on it']);
    const tech = (await t.api('GET', `/tickets/${tk.number}`)).body;
    expect(tech.entries.map((e: any) => e.kind)).toEqual(['reply', 'note', 'reply']);
  });

  test('notes carry @mentions of technicians only', async () => {
    const tk = await newTicket();
    const r = await reply(tk.number, { kind: 'note', text: `@${TECH2} can you check? cc @${JANE}`, author: { email: TECH } });
    const tina = (await t.api('GET', `/people?q=tina`)).body.items[0];
    expect(r.body.entry.mentions).toEqual([tina.id]);
  });

  test('activity status moves with the conversation and with a technician reading', async () => {
    const tk = await newTicket();
    expect(tk.activityStatus).toBe('Unread');
    expect((await t.api('POST', `/tickets/${tk.number}/read`, { author: { email: TECH } })).status).toBe(204);
    expect((await t.api('GET', `/tickets/${tk.number}`)).body.activityStatus).toBe('Read');
    await reply(tk.number, { kind: 'reply', text: 'Try restarting', author: { email: TECH } });
    expect((await t.api('GET', `/tickets/${tk.number}`)).body.activityStatus).toBe('Waiting for contact reply');
    await reply(tk.number, { kind: 'note', text: 'hmm', author: { email: TECH } });
    expect((await t.api('GET', `/tickets/${tk.number}`)).body.activityStatus).toBe('Waiting for contact reply');
    await reply(tk.number, { kind: 'reply', text: 'Did not help', author: { email: JANE } });
    expect((await t.api('GET', `/tickets/${tk.number}`)).body.activityStatus).toBe('Waiting for technician reply');
  });

  test('a CC\'d address joins the ticket\'s CC list', async () => {
    const tk = await newTicket();
    await reply(tk.number, { kind: 'reply', text: 'adding my boss', author: { email: JANE }, cc: ['Boss@Corp.example', TECH2] });
    const view = (await t.api('GET', `/tickets/${tk.number}`)).body;
    expect(view.cc.map((c: any) => c.email).sort()).toEqual(['boss@corp.example', TECH2].sort());
  });
});

describe('both-roles rule through the API', () => {
  test('a person who is contact and technician is a contact on their own ticket, a technician elsewhere', async () => {
    await t.api('POST', '/people', { email: 'max@it.example', name: 'Max Both', roles: ['technician'] });
    await t.api('POST', '/people', { email: 'max@it.example', roles: ['contact'] });
    const own = await t.api('POST', '/tickets', { title: 'My laptop', description: 'broken', requester: { email: 'max@it.example' } });
    let r = await reply(own.body.number, { kind: 'reply', text: 'any news?', author: { email: 'max@it.example' } });
    expect(r.body.entry.author.kind).toBe('contact');
    const other = await newTicket();
    r = await reply(other.number, { kind: 'reply', text: 'on it', author: { email: 'max@it.example' } });
    expect(r.body.entry.author.kind).toBe('technician');
    // Assigned to their own ticket, they act as its technician.
    await t.api('PATCH', `/tickets/${own.body.number}`, { assignee: { email: 'max@it.example' } });
    r = await reply(own.body.number, { kind: 'reply', text: 'fixed it myself', author: { email: 'max@it.example' } });
    expect(r.body.entry.author.kind).toBe('technician');
  });
});

describe('fields and the activity log', () => {
  test('every field change is logged with actor and time, append-only', async () => {
    const tk = await newTicket();
    const r = await t.api('PATCH', `/tickets/${tk.number}`, {
      status: 'Pending', priority: 'High', impact: 'Medium', type: 'Problem', productFamily: 'Network', title: 'VPN drops hourly',
      assignee: { email: TECH }, actor: { email: TECH },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'Pending', priority: 'High', impact: 'Medium', type: 'Problem', productFamily: 'Network', title: 'VPN drops hourly' });
    expect(r.body.assignee.email).toBe(TECH);
    await t.api('PATCH', `/tickets/${tk.number}`, { requester: { email: 'other@corp.example' }, actor: { email: TECH } });
    const log = (await t.api('GET', `/tickets/${tk.number}/activity`)).body.items;
    const fields = log.filter((a: any) => a.action === 'field_changed').map((a: any) => a.field);
    expect(fields).toEqual(expect.arrayContaining(['status', 'priority', 'impact', 'type', 'productFamily', 'title', 'assignee', 'requester']));
    const status = log.find((a: any) => a.field === 'status');
    expect(status).toMatchObject({ from: 'Open', to: 'Pending', actor: { kind: 'technician', email: TECH } });
    expect(new Date(status.at).getTime()).toBeGreaterThan(0);
  });

  test('a patch that changes nothing logs nothing', async () => {
    const tk = await newTicket();
    await t.api('PATCH', `/tickets/${tk.number}`, { priority: 'Medium' });
    const log = (await t.api('GET', `/tickets/${tk.number}/activity`)).body.items;
    expect(log.map((a: any) => a.action)).toEqual(['created']);
  });

  test('only technicians can be assigned; unknown statuses are refused', async () => {
    const tk = await newTicket();
    expect((await t.api('PATCH', `/tickets/${tk.number}`, { assignee: { email: JANE } })).status).toBe(403);
    const bad = await t.api('PATCH', `/tickets/${tk.number}`, { status: 'Finished' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0].field).toBe('status');
    expect((await t.api('PATCH', `/tickets/${tk.number}`, {})).status).toBe(400);
  });

  test('custom statuses map to one of the four and are accepted everywhere', async () => {
    const s = await t.api('PUT', '/settings', { customStatuses: [{ name: 'Waiting on vendor', category: 'Pending' }] });
    expect(s.status).toBe(200);
    const tk = await newTicket();
    const r = await t.api('PATCH', `/tickets/${tk.number}`, { status: 'waiting on vendor' });
    expect(r.body).toMatchObject({ status: 'Waiting on vendor', statusCategory: 'Pending' });
    const list = await t.api('GET', '/tickets?status=Waiting%20on%20vendor');
    expect(list.body.items.map((i: any) => i.number)).toContain(tk.number);
    const clash = await t.api('PUT', '/settings', { customStatuses: [{ name: 'Open', category: 'Open' }] });
    expect(clash.status).toBe(400);
    const badCat = await t.api('PUT', '/settings', { customStatuses: [{ name: 'Parked', category: 'Sleeping' }] });
    expect(badCat.status).toBe(400);
  });

  test('default reply type setting', async () => {
    expect((await t.api('GET', '/settings')).body.defaultReplyType).toBe('reply');
    expect((await t.api('PUT', '/settings', { defaultReplyType: 'note' })).body.defaultReplyType).toBe('note');
    expect((await t.api('PUT', '/settings', { defaultReplyType: 'shout' })).status).toBe(400);
    await t.api('PUT', '/settings', { defaultReplyType: 'reply' });
  });
});

describe('list', () => {
  test('each item carries priority and the latest public entry\'s excerpt (not a note\'s)', async () => {
    const tk = await newTicket({ priority: 'Critical' });
    await reply(tk.number, { kind: 'reply', text: 'Public answer here', author: { email: TECH } });
    await reply(tk.number, { kind: 'note', text: 'private musing', author: { email: TECH } });
    const list = await t.api('GET', '/tickets?limit=100');
    const item = list.body.items.find((i: any) => i.number === tk.number);
    expect(item).toMatchObject({ priority: 'Critical', last: { excerpt: 'Public answer here', author: { email: TECH } } });
    expect(JSON.stringify(list.body)).not.toContain('private musing');
  });

  test('filters and cursor pagination', async () => {
    await t.api('POST', '/people', { email: 'pager@corp.example', roles: ['contact'] });
    for (let i = 0; i < 5; i++) await newTicket({ requester: { email: 'pager@corp.example' }, assignee: { email: TECH2 } });
    const first = await t.api('GET', '/tickets?requester=pager@corp.example&limit=2');
    expect(first.body.items).toHaveLength(2);
    expect(first.body.next).toBeTruthy();
    const second = await t.api('GET', `/tickets?requester=pager@corp.example&limit=2&cursor=${first.body.next}`);
    const third = await t.api('GET', `/tickets?requester=pager@corp.example&limit=2&cursor=${second.body.next}`);
    const all = [...first.body.items, ...second.body.items, ...third.body.items].map((i: any) => i.number);
    expect(new Set(all).size).toBe(5);
    expect(third.body.next).toBeNull();
    const assigned = await t.api('GET', `/tickets?assignee=${TECH2}&limit=100`);
    expect(assigned.body.items.length).toBeGreaterThanOrEqual(5);
    expect((await t.api('GET', '/tickets?cursor=garbage')).status).toBe(400);
    expect((await t.api('GET', '/tickets?status[$ne]=x')).status).toBe(400);
  });
});

describe('merge', () => {
  test('A into B: A\'s conversation shows in B, A is closed with a pointer, both logs record it', async () => {
    const a = await newTicket({ title: 'Outlook crashes' });
    const b = await newTicket({ title: 'Office broken' });
    await reply(a.number, { kind: 'reply', text: 'from A', author: { email: TECH } });
    const r = await t.api('POST', `/tickets/${a.number}/merge`, { into: b.number, actor: { email: TECH } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 'Closed', mergedInto: b.number });
    expect(r.body.entries.at(-1)).toMatchObject({ kind: 'system', text: `Merged into ticket #${b.number}.` });
    const bv = (await t.api('GET', `/tickets/${b.number}`)).body;
    expect(bv.mergedFrom).toEqual([a.number]);
    expect(bv.entries.map((e: any) => e.text)).toEqual(expect.arrayContaining(['from A', 'Every hour the VPN drops.']));
    expect(bv.entries.filter((e: any) => e.ticketNumber === a.number).length).toBeGreaterThanOrEqual(2);
    const la = (await t.api('GET', `/tickets/${a.number}/activity`)).body.items.map((x: any) => x.action);
    const lb = (await t.api('GET', `/tickets/${b.number}/activity`)).body.items.map((x: any) => x.action);
    expect(la).toContain('merged_into');
    expect(lb).toContain('merged_from');
    // Replies to the merged ticket land in the surviving one.
    const late = await reply(a.number, { kind: 'reply', text: 'late reply to A', author: { email: JANE } });
    expect(late.body.ticket.number).toBe(b.number);
  });

  test('notes of the merged ticket stay internal in the surviving ticket\'s contact view', async () => {
    const a = await newTicket();
    const b = await newTicket();
    await reply(a.number, { kind: 'note', text: 'A-secret-note', author: { email: TECH } });
    await t.api('POST', `/tickets/${a.number}/merge`, { into: b.number });
    const contact = (await t.api('GET', `/tickets/${b.number}?view=contact`)).body;
    expect(JSON.stringify(contact)).not.toContain('A-secret-note');
  });

  test('refused: into itself, into a merged ticket, twice, into unknown, cycles', async () => {
    const a = await newTicket();
    const b = await newTicket();
    const c = await newTicket();
    expect((await t.api('POST', `/tickets/${a.number}/merge`, { into: a.number })).status).toBe(400);
    expect((await t.api('POST', `/tickets/${a.number}/merge`, { into: 999999 })).status).toBe(404);
    expect((await t.api('POST', `/tickets/${a.number}/merge`, { into: b.number })).status).toBe(200);
    expect((await t.api('POST', `/tickets/${a.number}/merge`, { into: c.number })).status).toBe(409);
    expect((await t.api('POST', `/tickets/${c.number}/merge`, { into: a.number })).status).toBe(400);
    expect((await t.api('POST', `/tickets/${b.number}/merge`, { into: c.number })).status).toBe(200);
    // c now contains b which contains a: merging c into a's chain would loop.
    const d = await newTicket();
    await t.api('POST', `/tickets/${d.number}/merge`, { into: c.number });
    expect((await t.api('POST', `/tickets/${c.number}/merge`, { into: d.number })).status).toBe(400);
  });
});

describe('time tracking', () => {
  test('manual entries and a start/stop timer add up per ticket', async () => {
    const tk = await newTicket();
    let r = await t.api('POST', `/tickets/${tk.number}/time`, { minutes: 15, author: { email: TECH } });
    expect(r.body).toMatchObject({ minutesAdded: 15, timeSpentMinutes: 15 });
    r = await t.api('POST', `/tickets/${tk.number}/time`, { start: true, author: { email: TECH } });
    expect(r.body.runningTimers).toHaveLength(1);
    expect((await t.api('POST', `/tickets/${tk.number}/time`, { start: true, author: { email: TECH } })).status).toBe(409);
    // A second technician has a timer of their own.
    expect((await t.api('POST', `/tickets/${tk.number}/time`, { start: true, author: { email: TECH2 } })).status).toBe(200);
    r = await t.api('POST', `/tickets/${tk.number}/time`, { stop: true, author: { email: TECH } });
    expect(r.body.minutesAdded).toBe(1); // under a minute counts as one
    expect(r.body.timeSpentMinutes).toBe(16);
    expect(r.body.runningTimers).toHaveLength(1);
    expect((await t.api('POST', `/tickets/${tk.number}/time`, { stop: true, author: { email: TECH } })).status).toBe(409);
    const log = (await t.api('GET', `/tickets/${tk.number}/activity`)).body.items.map((a: any) => a.action);
    expect(log).toEqual(expect.arrayContaining(['time_logged', 'timer_started', 'timer_stopped']));
  });
  test('refused: contacts, zero or negative minutes, two modes at once', async () => {
    const tk = await newTicket();
    expect((await t.api('POST', `/tickets/${tk.number}/time`, { minutes: 5, author: { email: JANE } })).status).toBe(403);
    expect((await t.api('POST', `/tickets/${tk.number}/time`, { minutes: 0, author: { email: TECH } })).status).toBe(400);
    expect((await t.api('POST', `/tickets/${tk.number}/time`, { minutes: -3, author: { email: TECH } })).status).toBe(400);
    expect((await t.api('POST', `/tickets/${tk.number}/time`, { minutes: 3, start: true, author: { email: TECH } })).status).toBe(400);
    expect((await t.api('GET', `/tickets/${tk.number}`)).body.timeSpentMinutes).toBe(0);
  });
});

describe('templates', () => {
  test('CRUD and server-side rendering with placeholders', async () => {
    const created = await t.api('POST', '/templates', { name: 'Restart', body: 'Hi {{requester.firstName}}, about #{{ticket.number}}: please restart. — {{technician.name}}' });
    expect(created.status).toBe(201);
    expect((await t.api('POST', '/templates', { name: 'Restart', body: 'dup' })).status).toBe(409);
    expect((await t.api('POST', '/templates', { name: 'Bad', body: '{{ticket.password}}' })).status).toBe(400);
    const tk = await newTicket();
    const r = await t.api('POST', `/templates/${created.body.id}/render`, { ticket: tk.number, technician: { email: TECH } });
    expect(r.body.text).toBe(`Hi Jane, about #${tk.number}: please restart. — Tom Tech`);
    const upd = await t.api('PUT', `/templates/${created.body.id}`, { name: 'Restart', body: 'Bye {{requester.name}}' });
    expect(upd.body.body).toBe('Bye {{requester.name}}');
    expect((await t.api('GET', '/templates')).body.items).toHaveLength(1);
    expect((await t.api('DELETE', `/templates/${created.body.id}`)).status).toBe(204);
    expect((await t.api('DELETE', `/templates/${created.body.id}`)).status).toBe(404);
  });
});

describe('people', () => {
  test('POST adds roles to an existing person instead of duplicating them', async () => {
    const a = await t.api('POST', '/people', { email: 'dual@corp.example', name: 'Dual', roles: ['contact'] });
    expect(a.status).toBe(201);
    const b = await t.api('POST', '/people', { email: 'DUAL@corp.example', roles: ['technician'] });
    expect(b.status).toBe(200);
    expect(b.body.id).toBe(a.body.id);
    expect(b.body.roles.sort()).toEqual(['contact', 'technician']);
    expect((await t.api('POST', '/people', { email: 'x@y.example', roles: ['admin'] })).status).toBe(400);
  });
});
