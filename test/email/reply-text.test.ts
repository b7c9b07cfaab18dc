import { visibleText, visibleTextFromHtml } from '../../src/email/reply-text.js';

/* Fixtures written from public knowledge of how clients quote; one rule each. */

test.each([
  ['English "On … wrote:"', 'Sounds good.\n\nOn Mon, Jan 5, 2026 at 10:00 AM Bob <bob@x.example> wrote:\n> old', 'Sounds good.'],
  ['English header wrapped over three lines', 'Yes.\n\nOn Mon, Jan 5, 2026 at 10:00 AM Bob Example\n<bob@x.example>\nwrote:\n\n> old', 'Yes.'],
  ['German "Am … schrieb …:"', 'Passt.\n\nAm Mo., 5. Jan. 2026 um 10:00 Uhr schrieb Bob <bob@x.example>:\n> alt', 'Passt.'],
  ['Dutch "Op … schreef …:"', 'Prima.\n\nOp ma 5 jan. 2026 om 10:00 schreef Bob <bob@x.example>:\n> oud', 'Prima.'],
  ['Italian "Il … ha scritto:"', 'Va bene.\n\nIl giorno lun 5 gen 2026 alle ore 10:00 Bob <bob@x.example> ha scritto:\n> vecchio', 'Va bene.'],
  ['Outlook "-----Original Message-----"', 'Done.\n\n-----Original Message-----\nFrom: Bob\nSent: Monday\nTo: Ann\nSubject: x\n\nold', 'Done.'],
  ['German "-----Ursprüngliche Nachricht-----"', 'Erledigt.\n\n-----Ursprüngliche Nachricht-----\nVon: Bob\nGesendet: Montag\n\nalt', 'Erledigt.'],
  ['Outlook From/Sent/To/Subject block under a rule', 'Done.\n\n________________________________\nFrom: Bob <bob@x.example>\nSent: Monday, January 5, 2026 10:00 AM\nTo: Ann <ann@x.example>\nSubject: RE: x\n\nold', 'Done.'],
  ['French De/Envoyé/À/Objet block', 'Merci.\n\nDe : Bob <bob@x.example>\nEnvoyé : lundi 5 janvier 2026 10:00\nÀ : Ann\nObjet : x\n\nvieux', 'Merci.'],
  ['Spanish De/Enviado/Para/Asunto block', 'Gracias.\n\nDe: Bob\nEnviado: lunes, 5 de enero de 2026 10:00\nPara: Ann\nAsunto: x\n\nviejo', 'Gracias.'],
  ['bottom-posting keeps the text under the quote', 'On Mon, Jan 5, 2026 at 10:00 AM Bob <bob@x.example> wrote:\n> question?\n\nAnswer below.', 'Answer below.'],
  ['"-- " signature', 'Text.\n\n-- \nAnn Example\nACME', 'Text.'],
  ['"Sent from my iPhone"', 'Short one.\n\nSent from my iPhone', 'Short one.'],
  ['German mobile footer', 'Kurz.\n\nVon meinem iPhone gesendet', 'Kurz.'],
  ['"Get Outlook for iOS"', 'Ok.\n\nGet Outlook for iOS', 'Ok.'],
  ['a sentence starting with "On" is kept', 'On Monday the server crashed again.\nPlease help.', 'On Monday the server crashed again.\nPlease help.'],
  ['"Sent from" in a sentence is kept', 'Sent from my desk, because mobile is broken.\nThanks', 'Sent from my desk, because mobile is broken.\nThanks'],
  ['a forward keeps the forwarded content', 'FYI\n\n---------- Forwarded message ---------\nFrom: Bob <bob@x.example>\nDate: Mon\nSubject: x\nTo: Ann\n\nthe error text', 'FYI\n\n---------- Forwarded message ---------\nFrom: Bob <bob@x.example>\nDate: Mon\nSubject: x\nTo: Ann\n\nthe error text'],
])('%s', (_name, input, expected) => {
  expect(visibleText(input)).toBe(expected);
  expect(visibleText(input.replace(/\n/g, '\r\n'))).toBe(expected);
});

test('HTML-only: Outlook reply div and Yahoo quotes are left out, text kept', () => {
  expect(visibleTextFromHtml('<div>New <b>text</b></div><div id="divRplyFwdMsg"><b>From:</b> Bob</div><div>old</div>')).toBe('New text');
  expect(visibleTextFromHtml('<p>Hi there</p><div class="yahoo_quoted">On Monday Bob wrote: old</div>')).toBe('Hi there');
});

test('a very long quoted body is handled in linear time', () => {
  const body = 'reply\n\nOn Mon, Jan 5, 2026 at 10:00 AM Bob <bob@x.example> wrote:\n' + '> quoted line with some words in it\n'.repeat(50_000);
  const started = Date.now();
  expect(visibleText(body)).toBe('reply');
  expect(Date.now() - started).toBeLessThan(1000);
});
