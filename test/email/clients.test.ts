import { emailBridgeOf } from '../../src/email/module.js';
import { startMailApp, type MailTestApp } from './support.js';

/*
 * Replies composed the way mainstream clients compose them (fixtures written from public
 * knowledge of their formats): each must land in the right ticket with only the new text.
 */

let t: MailTestApp;
let replyTo: string;
let lastMessageId: string;
const REQUESTER = 'max@firma.example';

beforeAll(async () => {
  t = await startMailApp();
  await t.api('POST', '/people', { email: 'tom@it.example', name: 'Tom Tech', roles: ['technician'] });
  await t.send({ from: `Max Muster <${REQUESTER}>`, to: 'support@help.example', subject: 'VPN geht nicht', text: 'Seit heute früh keine Verbindung.' });
  await t.api('POST', '/tickets/1/entries', { kind: 'reply', text: 'Bitte starten Sie den Client neu.', author: { email: 'tom@it.example' } });
  await t.drain();
  const mails = t.capture.to(REQUESTER);
  replyTo = mails[0]!.mail.replyTo!.value[0]!.address!;
  lastMessageId = mails.at(-1)!.mail.messageId!;
});
afterAll(async () => { await t.close(); });

const lastEntry = async (n = 1) => (await t.api('GET', `/tickets/${n}`)).body.entries.at(-1);

test('Outlook (German): "Von:/Gesendet:/An:/Betreff:" block, threaded by In-Reply-To alone', async () => {
  const res = await t.send({
    from: REQUESTER, to: 'support@help.example', subject: 'AW: [#1] VPN geht nicht', inReplyTo: lastMessageId,
    text: 'Hat funktioniert, danke!\r\n\r\nMit freundlichen Grüßen\r\nMax\r\n\r\n________________________________\r\nVon: Helpdesk <support@help.example>\r\nGesendet: Freitag, 27. November 2026 14:03\r\nAn: Max Muster <max@firma.example>\r\nBetreff: [#1] VPN geht nicht\r\n\r\nBitte starten Sie den Client neu.\r\n',
  });
  expect(res.response).toMatch(/appended #1/);
  // The sign-off block is signature (issue #13): the visible text drops it, the stored raw keeps it.
  expect((await lastEntry()).text).toBe('Hat funktioniert, danke!');
});

test('Thunderbird (German): "Am … schrieb …:" with > quotes, to the Reply-To token', async () => {
  await t.send({
    from: REQUESTER, to: replyTo, subject: 'Re: [#1] VPN geht nicht',
    text: 'Jetzt geht es wieder nicht.\n\nAm 27.11.2026 um 14:03 schrieb Helpdesk:\n> Bitte starten Sie den Client neu.\n>\n',
  });
  expect((await lastEntry()).text).toBe('Jetzt geht es wieder nicht.');
});

test('Apple Mail HTML-only, top-posted with a blockquote type=cite and "Sent from my iPhone"', async () => {
  await t.send({
    from: REQUESTER, to: replyTo, subject: 'Re: [#1] VPN geht nicht',
    html: '<html><body><div dir="ltr">Still broken after the restart.</div><div><br></div><div>Sent from my iPhone</div>'
      + '<div><br><blockquote type="cite">On 27 Nov 2026, at 14:03, Helpdesk &lt;support@help.example&gt; wrote:<br><br>'
      + '<div>Bitte starten Sie den Client neu.</div></blockquote></div></body></html>',
  });
  const entry = await lastEntry();
  expect(entry.text).toBe('Still broken after the restart.');
  expect(entry.html).toContain('Still broken');
});

test('Gmail HTML + text: quote in div.gmail_quote and an "On … wrote:" line wrapped over two lines', async () => {
  await t.send({
    from: REQUESTER, to: replyTo, subject: 'Re: [#1] VPN geht nicht',
    text: 'Works from home, not from the office.\n\nOn Fri, Nov 27, 2026 at 2:03 PM Helpdesk <support@help.example>\nwrote:\n\n> Bitte starten Sie den Client neu.\n',
    html: '<div dir="ltr">Works from home, not from the office.</div><br><div class="gmail_quote"><div class="gmail_attr">On Fri, Nov 27, 2026 at 2:03 PM Helpdesk wrote:</div><blockquote class="gmail_quote">Bitte starten</blockquote></div>',
  });
  expect((await lastEntry()).text).toBe('Works from home, not from the office.');
});

test('Outlook (English) "-----Original Message-----" and a "-- " signature', async () => {
  await t.send({
    from: REQUESTER, to: replyTo, subject: 'RE: [#1] VPN geht nicht',
    text: 'Any news?\n\n-- \nMax Muster\nFirma GmbH\n\n-----Original Message-----\nFrom: Helpdesk\nSent: Friday\nTo: Max\nSubject: x\n\nold text\n',
  });
  expect((await lastEntry()).text).toBe('Any news?');
});

test('French and Spanish quote headers', async () => {
  await t.send({ from: REQUESTER, to: replyTo, subject: 'Re: x', text: 'Merci beaucoup.\n\nLe ven. 27 nov. 2026 à 14:03, Helpdesk <support@help.example> a écrit :\n> Bonjour\n' });
  expect((await lastEntry()).text).toBe('Merci beaucoup.');
  await t.send({ from: REQUESTER, to: replyTo, subject: 'Re: x', text: 'Gracias.\n\nEl vie, 27 nov 2026 a las 14:03, Helpdesk (<support@help.example>) escribió:\n> Hola\n' });
  expect((await lastEntry()).text).toBe('Gracias.');
});

test('the stored entry keeps the raw message and attachments, retrievable from the blob store', async () => {
  const res = await t.send({
    from: REQUESTER, to: replyTo, subject: 'Re: logs', text: 'Log attached.',
    attachments: [{ filename: 'vpn.log', content: 'line 1\nline 2\n', contentType: 'text/plain' }],
  });
  expect(res.response).toMatch(/appended/);
  const entry = await lastEntry();
  expect(entry.attachments).toEqual([{ id: expect.any(String), filename: 'vpn.log', contentType: 'text/plain', size: 14 }]);
  const { blobs } = emailBridgeOf(t.app.ctx);
  expect((await blobs.get(entry.attachments[0].id)).toString()).toBe('line 1\nline 2\n');
  const raw = (await blobs.get(entry.external.email.rawId)).toString();
  expect(raw).toContain('Subject: Re: logs');
});

test('an attachment-only reply is kept (no text needed)', async () => {
  await t.send({ from: REQUESTER, to: replyTo, subject: 'Re: x', text: '', attachments: [{ filename: 'shot.png', content: Buffer.from([137, 80, 78, 71]), contentType: 'image/png' }] });
  expect((await lastEntry()).attachments[0]).toMatchObject({ filename: 'shot.png', contentType: 'image/png', size: 4 });
});

test('bodies over 65,536 characters are cut with an ellipsis', async () => {
  await t.send({ from: REQUESTER, to: replyTo, subject: 'Re: x', text: 'y'.repeat(70_000) });
  const e = await lastEntry();
  expect(Array.from(e.text as string)).toHaveLength(65_536);
  expect(e.text.endsWith('…')).toBe(true);
  expect(e.truncated).toBe(true);
});
