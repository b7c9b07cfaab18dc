import { classifyAutomatic, cleanSubject, failedRecipients, isNoAutomaticMailAddress, messageIdsIn, ticketTagIn } from '../../src/email/classify.js';

const headers = (h: Record<string, string | string[]>) => ({
  get: (n: string) => { const v = h[n]; return Array.isArray(v) ? v[0] : v; },
  all: (n: string) => { const v = h[n]; return v === undefined ? [] : Array.isArray(v) ? v : [v]; },
});
const base = { from: 'ann@x.example', subject: 'Hello', contentType: 'text/plain', messageId: 'a@x', loopMarker: 'deskbridge@help.example', isOurMessageId: (id: string) => id.startsWith('deskbridge.') };

test('person-written mail is not automatic; Auto-Submitted: no is a person', () => {
  expect(classifyAutomatic({ ...base, headers: headers({}) })).toBeNull();
  expect(classifyAutomatic({ ...base, headers: headers({ 'auto-submitted': 'no' }) })).toBeNull();
  expect(classifyAutomatic({ ...base, headers: headers({ precedence: 'normal' }) })).toBeNull();
  expect(classifyAutomatic({ ...base, subject: 'Office move next week', headers: headers({}) })).toBeNull();
});

test.each([
  [{ 'auto-submitted': 'auto-generated' }, 'Hello', 'auto-reply'],
  [{ 'x-autorespond': 'yes' }, 'Hello', 'auto-reply'],
  [{ precedence: 'junk' }, 'Hello', 'auto-reply'],
  [{ precedence: 'auto_reply' }, 'Hello', 'auto-reply'],
  [{}, 'Automatic reply: Hello', 'auto-reply'],
  [{}, 'Automatische Antwort: Hallo', 'auto-reply'],
  [{}, 'Réponse automatique : Bonjour', 'auto-reply'],
  [{ 'x-deskbridge-loop': 'deskbridge@help.example' }, 'Hello', 'loop'],
])('%j / %s → %s', (h, subject, kind) => {
  expect(classifyAutomatic({ ...base, subject, headers: headers(h as Record<string, string>) })?.kind).toBe(kind);
});

test('bounces: multipart/report, mailer-daemon, null envelope sender', () => {
  expect(classifyAutomatic({ ...base, contentType: 'multipart/report; report-type=delivery-status', headers: headers({}) })?.kind).toBe('bounce');
  expect(classifyAutomatic({ ...base, from: 'MAILER-DAEMON@mx.example', headers: headers({}) })?.kind).toBe('bounce');
  expect(classifyAutomatic({ ...base, envelopeFrom: '', headers: headers({}) })?.kind).toBe('bounce');
});

test('robot addresses never get automatic mail', () => {
  for (const a of ['mailer-daemon@x.example', 'postmaster@x.example', 'noreply@x.example', 'no-reply@x.example', 'do-not-reply@x.example', 'donotreply@x.example']) {
    expect(isNoAutomaticMailAddress(a)).toBe(true);
  }
  expect(isNoAutomaticMailAddress('norbert@x.example')).toBe(false);
});

test('failed recipients from a delivery-status report (only permanent failures)', () => {
  const ds = 'Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; gone@x.example\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 no such user\n\nFinal-Recipient: rfc822; later@x.example\nAction: delayed\nStatus: 4.4.1\n';
  expect(failedRecipients(ds)).toEqual([{ email: 'gone@x.example', status: '5.1.1', diagnostic: 'smtp; 550 no such user' }]);
});

test('subjects, tags and Message-ID lists', () => {
  expect(cleanSubject('Re: AW: Fwd: [#12] Printer')).toBe('Printer');
  expect(ticketTagIn('Re: [#12] Printer')).toBe(12);
  expect(ticketTagIn('Printer #12')).toBeNull();
  expect(messageIdsIn('<a@x> <b@y>')).toEqual(['a@x', 'b@y']);
});
