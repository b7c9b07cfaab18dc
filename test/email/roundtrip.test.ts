import { startMailApp, type MailTestApp } from './support.js';

let t: MailTestApp;
beforeAll(async () => { t = await startMailApp(); });
afterAll(async () => { await t.close(); });

const REQUESTER = 'jane@corp.example';

test('a mail opens a ticket, the technician reply arrives threaded, and the Gmail-style answer lands with only the new text', async () => {
  await t.api('POST', '/people', { email: 'tom@it.example', name: 'Tom Tech', roles: ['technician'] });
  const first = await t.send({
    from: `Jane Doe <${REQUESTER}>`, to: 'support@help.example', subject: 'Printer on fire',
    text: 'The printer on floor 3 is on fire.\n\nJane', messageId: '<first@corp.example>',
  });
  expect(first.response).toMatch(/^250 created #1/);
  const ticket = (await t.api('GET', '/tickets/1')).body;
  expect(ticket).toMatchObject({ title: 'Printer on fire', source: 'email', requester: { email: REQUESTER } });
  expect(ticket.entries[0]).toMatchObject({ text: 'The printer on floor 3 is on fire.\n\nJane', messageId: 'first@corp.example', source: 'email' });

  await t.drain();
  const [ack] = t.capture.to(REQUESTER);
  expect(ack!.mail.subject).toBe('[#1] Printer on fire');
  expect(ack!.mail.headers.get('auto-submitted')).toBe('auto-replied');
  expect(ack!.mail.text).toContain('http://desk.example/portal/tickets/1');
  const replyTo = ack!.mail.replyTo!.value[0]!.address!;
  expect(replyTo).toMatch(/^support\+[a-z0-9]{12,}@help\.example$/);
  expect(ack!.mail.headers.get('list-unsubscribe')).toBeUndefined();

  await t.api('POST', '/tickets/1/entries', { kind: 'reply', text: 'A technician is on the way.', author: { email: 'tom@it.example' } });
  await t.api('POST', '/tickets/1/entries', { kind: 'note', text: 'SECRET: the printer is a lost cause', author: { email: 'tom@it.example' } });
  await t.drain();
  const mails = t.capture.to(REQUESTER);
  expect(mails).toHaveLength(2);
  const reply = mails[1]!;
  expect(reply.mail.subject).toBe('Re: [#1] Printer on fire');
  expect(reply.mail.text).toContain('A technician is on the way.');
  expect(reply.mail.headers.get('auto-submitted')).toBeUndefined();
  expect(reply.mail.inReplyTo).toBeTruthy();
  expect(reply.mail.references).toEqual(expect.arrayContaining(['<deskbridge.t1@help.example>', '<first@corp.example>']));
  for (const m of t.capture.received) expect(m.raw.toString()).not.toContain('SECRET');
  // The outbound Message-ID is stored on the entry, so replies thread back.
  const entries = (await t.api('GET', '/tickets/1')).body.entries;
  expect(entries[1].messageId).toBe(reply.mail.messageId!.replace(/[<>]/g, ''));

  // Gmail-style bottom quote, sent to the per-recipient Reply-To address.
  const answer = await t.send({
    from: REQUESTER, to: replyTo, subject: 'Re: [#1] Printer on fire', inReplyTo: reply.mail.messageId, references: [reply.mail.messageId!],
    text: `Thank you, it is out now.\n\nOn Fri, Nov 27, 2026 at 2:01 PM Helpdesk <support@help.example> wrote:\n\n> A technician is on the way.\n>\n> View your request: http://desk.example/portal/tickets/1\n`,
  });
  expect(answer.response).toMatch(/^250 appended #1/);
  const after = (await t.api('GET', '/tickets/1')).body;
  expect(after.entries.at(-1)).toMatchObject({ text: 'Thank you, it is out now.', author: { kind: 'contact', email: REQUESTER } });
  expect(after.status).toBe('Open');
  expect(after.activityStatus).toBe('Waiting for technician reply');
});
