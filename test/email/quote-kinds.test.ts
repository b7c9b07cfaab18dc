import { visibleText, visibleTextFromHtml } from '../../src/email/reply-text.js';

/*
 * One test per kind of leak from issue #13, each mail built the way that client builds it (its
 * header layout, wrapping, separators, footers), not copied from a sample. The new text is the
 * same everywhere, so every case checks that exactly it survives.
 */

const NEW = 'The VPN works again, thank you.\nI will tell the team.';
const OLD = 'Please restart the VPN client and tell us whether it connects.\nThe service desk';
const quoted = (text: string) => text.split('\n').map((l) => `> ${l}`).join('\n');
const expectNew = (mail: string, expected = NEW) => {
  expect(visibleText(mail)).toBe(expected);
  expect(visibleText(mail.replace(/\n/g, '\r\n'))).toBe(expected);
};

/** A header block the way Outlook and webmails write it: one `Label<sep>value` line per field. */
const headerBlock = (labels: [string, string, string, string], sep: string) => {
  const [from, sent, to, subject] = labels;
  return [
    `${from}${sep}Service Desk <desk@help.example>`,
    `${sent}${sep}05.01.2026 10:00`,
    `${to}${sep}Ann Example <ann@corp.example>`,
    `${subject}${sep}[#12] VPN`,
  ].join('\n');
};

describe('header blocks recognised by structure', () => {
  const languages: [string, [string, string, string, string]][] = [
    ['English', ['From', 'Sent', 'To', 'Subject']],
    ['German', ['Von', 'Gesendet', 'An', 'Betreff']],
    ['French', ['De', 'Envoyé le', 'À', 'Objet']],
    ['Spanish', ['De', 'Enviado el', 'Para', 'Asunto']],
    ['Italian', ['Da', 'Inviato', 'A', 'Oggetto']],
    ['Dutch', ['Van', 'Verzonden', 'Aan', 'Onderwerp']],
    ['Portuguese', ['De', 'Enviada em', 'Para', 'Assunto']],
    ['Polish', ['Od', 'Wysłano', 'Do', 'Temat']],
    ['Swedish', ['Från', 'Skickat', 'Till', 'Ämne']],
    ['Danish', ['Fra', 'Sendt', 'Til', 'Emne']],
    ['Finnish', ['Lähettäjä', 'Lähetetty', 'Vastaanottaja', 'Aihe']],
    ['Czech', ['Od', 'Odesláno', 'Komu', 'Předmět']],
    ['Russian', ['От', 'Отправлено', 'Кому', 'Тема']],
    ['Japanese', ['差出人', '送信日時', '宛先', '件名']],
    ['Chinese', ['发件人', '发送时间', '收件人', '主题']],
    // Labels no list in the code knows: the structure alone (labels, a date, addresses) carries it.
    ['a language the rules were not written for (Esperanto)', ['Sendinto', 'Sendita', 'Al', 'Temo']],
  ];
  test.each(languages)('%s, with and without a space before the colon, as the last thing in the mail', (_lang, labels) => {
    for (const sep of [': ', ' : ', '：']) {
      expectNew(`${NEW}\n\n${headerBlock(labels, sep)}\n\n${OLD}`);
      // Nothing after the block (some clients cut the quoted body).
      expectNew(`${NEW}\n\n${headerBlock(labels, sep)}\n`);
    }
  });

  test('French Outlook "De : … Envoyé le : … À : … Objet :" under an underscore rule', () => {
    expectNew(`${NEW}\n\n________________________________\n${headerBlock(['De', 'Envoyé le', 'À', 'Objet'], ' : ')}\n\n${OLD}`);
  });

  test('English Outlook From: line whose address the client wrapped onto the next line', () => {
    const block = 'From: Service Desk of the Example Corporation Helpdesk Team\n<desk@help.example>\nSent: Monday, January 5, 2026 10:00 AM\nTo: Ann Example <ann@corp.example>\nSubject: RE: [#12] VPN';
    expectNew(`${NEW}\n\n${block}\n\n${OLD}`);
  });

  test('HTML flattened onto one line ("De : … Date : … À : … Objet : …")', () => {
    expectNew(`${NEW}\n\nDe : Service Desk <desk@help.example> Date : 05/01/26 10:00 (GMT+01:00) À : ann@corp.example Objet : [#12] VPN\n\n${OLD}`);
  });

  test('in HTML: an Outlook desktop reply whose header div carries no id or class', () => {
    const html = `<div><p>The VPN works again, thank you.</p><p>I will tell the team.</p></div>`
      + `<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in 0in 0in"><p><b>De&nbsp;:</b> Service Desk &lt;desk@help.example&gt;<br>`
      + `<b>Envoyé&nbsp;:</b> lundi 5 janvier 2026 10:00<br><b>À&nbsp;:</b> Ann Example &lt;ann@corp.example&gt;<br><b>Objet&nbsp;:</b> [#12] VPN</p></div>`
      + `<div><p>Please restart the VPN client and tell us whether it connects.</p></div>`;
    expect(visibleTextFromHtml(html)).toBe(NEW);
  });

  test('a list of details the user typed is not a header block (no date, no address)', () => {
    const details = 'Here are the details:\n\nModel: LaserJet 4000\nLocation: floor 3\nColour: black\n\nPlease help.';
    expect(visibleText(details)).toBe(details);
  });
});

describe('"On <date>, <name> wrote:" in the users\' languages, on one line and wrapped', () => {
  const DATE = '5 Jan 2026 10:00';
  const NAME = 'Service Desk';
  const ADDR = '<desk@help.example>';
  // [language, words before the date, verb after the name] — or a function for name-first layouts.
  const headers: [string, (wrap: string) => string][] = [
    ['English', (w) => `On ${DATE}, ${NAME} ${ADDR}${w}wrote:`],
    ['German', (w) => `Am ${DATE} schrieb ${NAME}${w}${ADDR}:`],
    ['French', (w) => `Le ${DATE}, ${NAME} ${ADDR}${w}a écrit :`],
    ['Spanish', (w) => `El ${DATE}, ${NAME} ${ADDR}${w}escribió:`],
    ['Italian', (w) => `Il ${DATE} ${NAME} ${ADDR}${w}ha scritto:`],
    ['Dutch', (w) => `Op ${DATE} schreef ${NAME}${w}${ADDR}:`],
    ['Portuguese', (w) => `Em ${DATE}, ${NAME} ${ADDR}${w}escreveu:`],
    ['Polish', (w) => `W dniu ${DATE} użytkownik ${NAME} ${ADDR}${w}napisał:`],
    ['Swedish', (w) => `Den ${DATE} skrev ${NAME}${w}${ADDR}:`],
    ['Danish', (w) => `Den ${DATE} skrev ${NAME} ${ADDR}${w}følgende:`.replace('følgende', '').replace(/\s+:$/, ':')],
    ['Norwegian', (w) => `${DATE} skrev ${NAME}${w}${ADDR}:`],
    ['Finnish', (w) => `${DATE} ${NAME} ${ADDR}${w}kirjoitti:`],
    ['Czech', (w) => `Dne ${DATE} ${NAME} ${ADDR}${w}napsal(a):`],
    ['Russian', (w) => `${DATE}, ${NAME} ${ADDR}${w}написал(а):`],
    ['Japanese', (w) => `2026年1月5日(月) 10:00 ${NAME} ${ADDR}${w}のメッセージ:`],
    ['Chinese', (w) => `${NAME} ${ADDR} 于2026年1月5日 10:00${w}写道：`],
  ];
  test.each(headers)('%s', (_lang, header) => {
    for (const wrap of [' ', '\n']) {
      // Gmail: header, blank line, `>` quote.
      expectNew(`${NEW}\n\n${header(wrap)}\n\n${quoted(OLD)}\n`);
      // "Quote as text" clients: header, then the old text without `>`.
      expectNew(`${NEW}\n\n${header(wrap)}\n\n${OLD}\n`);
    }
  });

  test('Italian "Il <date>, <name> <address>" / "ha scritto:" wrapped over two lines', () => {
    expectNew(`${NEW}\n\nIl giorno lun 5 gen 2026 alle ore 10:00 Service Desk <desk@help.example>\nha scritto:\n\n${quoted(OLD)}`);
  });

  test('a sentence starting with "On" is not a header', () => {
    const text = 'On Monday the VPN failed again at 10:00.\nIt works now.';
    expect(visibleText(text)).toBe(text);
  });
});

describe('client separators', () => {
  const cases: [string, string][] = [
    ['Outlook "-----Original Message-----"', `-----Original Message-----\n${headerBlock(['From', 'Sent', 'To', 'Subject'], ': ')}`],
    ['Outlook German "-----Ursprüngliche Nachricht-----"', `-----Ursprüngliche Nachricht-----\n${headerBlock(['Von', 'Gesendet', 'An', 'Betreff'], ': ')}`],
    ['Outlook Dutch "-----Oorspronkelijk bericht-----"', '-----Oorspronkelijk bericht-----'],
    ['Thunderbird/Android French "-------- Message d\'origine --------"', "-------- Message d'origine --------"],
    ['Outlook web, underscore rule and block', `________________________________\n${headerBlock(['From', 'Sent', 'To', 'Subject'], ': ')}`],
    ['Apple Mail (the header and the old text quoted)', `> On 5 Jan 2026, at 10:00, Service Desk <desk@help.example> wrote:\n> \n${quoted(OLD)}`],
    ['Thunderbird', 'On 05/01/2026 10:00, Service Desk wrote:'],
    ['Yahoo', 'On Monday, January 5, 2026, 10:00:00 AM GMT+1, Service Desk <desk@help.example> wrote:'],
    ['GMX/Web.de (date first)', 'Gesendet: Montag, 05. Januar 2026 um 10:00 Uhr\nVon: "Service Desk" <desk@help.example>\nAn: ann@corp.example\nBetreff: Re: [#12] VPN'],
    ['Orange/SFR webmail', '==== Message du : 05/01/2026 10:00\nDe : "Service Desk" <desk@help.example>\nA : ann@corp.example\nObjet : [#12] VPN'],
    ['Orange/SFR quoted header', '> Message du 05/01/26 10:00\n> De : "Service Desk" <desk@help.example>\n> A : ann@corp.example\n> Objet : [#12] VPN'],
    ['Zimbra "----- Mail original -----"', '----- Mail original -----\nDe: "Service Desk" <desk@help.example>\nÀ: ann@corp.example\nEnvoyé: Lundi 5 Janvier 2026 10:00:00'],
    ['Zoho', '---- On Mon, 05 Jan 2026 10:00:00 +0100 Service Desk <desk@help.example> wrote ----'],
    ['Lotus/HCL Notes (sender and date above the fields)', 'Service Desk/HELP@HELP\n05.01.2026 10:00\nTo: ann@corp.example\ncc:\nSubject: [#12] VPN'],
  ];
  test.each(cases)('%s', (_client, separator) => {
    // Layouts that carry the old text themselves (Apple quotes it) get nothing appended.
    expectNew(separator.includes(OLD.split('\n')[0]!) ? `${NEW}\n\n${separator}` : `${NEW}\n\n${separator}\n\n${OLD}`);
  });
});

describe('mobile signatures followed by the old message (no header between)', () => {
  const footers = [
    'Sent from my iPhone', 'Sent from my Galaxy', 'Get Outlook for Android', 'Sent from TypeApp<https://typeapp.com/r>',
    'Von meinem iPhone gesendet', 'Gesendet von Outlook für Android<https://aka.ms/ghei36>', 'Envoyé de mon iPhone',
    'Télécharger Outlook pour iOS<https://aka.ms/o0ukef>', 'Enviado desde mi iPhone', 'Inviato da iPhone', 'Verstuurd vanaf mijn iPhone',
    'Enviado do meu iPhone', 'Wysłane z iPhone\'a', 'Skickat från min iPhone', 'Sendt fra min iPhone', 'Lähetetty iPhonesta',
    'Odesláno z iPhonu', 'Отправлено с iPhone', 'iPhoneから送信', '发自我的iPhone',
  ];
  test.each(footers)('%s', (footer) => {
    expectNew(`${NEW}\n\n${footer}\n\n${OLD}`);
    expectNew(`${NEW}\n\n${footer}`);
  });
  test('"Sent from" inside a sentence is kept', () => {
    const text = 'Sent from my desk, because mobile is broken.\nThanks';
    expect(visibleText(text)).toBe(text);
  });
});

describe('quoted lines re-wrapped by the client', () => {
  test('a continuation without `>` between quoted lines is quote', () => {
    expectNew(`${NEW}\n\nOn 5 Jan 2026 10:00, Service Desk <desk@help.example> wrote:\n> Please restart the VPN client and tell us whether it\nconnects.\n> The service desk\n`);
  });
  test('a short tail without `>` after a long quoted line is quote', () => {
    expectNew(`${NEW}\n\nOn 5 Jan 2026 10:00, Service Desk <desk@help.example> wrote:\n> Please restart the VPN client and tell us whether it connects to the\nnetwork again.\n`);
  });
});

describe('signatures: only the visible text drops them', () => {
  test('sign-off, name, title, company, phone and URL', () => {
    expectNew(`${NEW}\n\nRegards,\nAnn Example\nIT Coordinator\nExample Corp\n+41 44 123 45 67\nhttps://corp.example`);
  });
  test.each(['Viele Grüße', 'Cordialement', 'Saludos', 'Cordiali saluti', 'Met vriendelijke groet', 'Med vänlig hälsning', 'Med venlig hilsen', 'Pozdrawiam', 'S pozdravem', 'С уважением'])('sign-off "%s" and a name', (signOff) => {
    expectNew(`${NEW}\n\n${signOff}\nAnn`);
  });
  test('closing words and the name on one last line ("Best regards, Ann", "Grüßle - Max")', () => {
    expectNew(`${NEW}\n\nBest regards, Ann Example`);
    expectNew(`${NEW}\n\nGrüßle - Max`);
    // Without a blank line above it, or without a name, it stays.
    expect(visibleText('Thanks, it works.\nThanks again')).toBe('Thanks, it works.\nThanks again');
  });
  test('"-- " delimiter followed by a legal disclaimer', () => {
    expectNew(`${NEW}\n\n-- \nAnn Example\nThis e-mail and any attachments are confidential and intended solely for the addressee. If you are not the intended recipient, please notify the sender and delete it.`);
  });
  test('a confidentiality disclaimer without delimiter', () => {
    expectNew(`${NEW}\n\nCONFIDENTIALITY NOTICE: This message and any attachments are confidential and may be privileged. It is intended only for the individual or entity named above. If you are not the intended recipient, do not read, copy or disclose it; notify the sender and delete it.`);
  });
  test('"thanks" inside the text is kept', () => {
    const text = 'Thanks for the quick help.\nThe VPN works again.';
    expect(visibleText(text)).toBe(text);
  });
});

describe('bottom-posted and interleaved replies', () => {
  test('bottom-posting keeps only the new text', () => {
    expectNew(`On 5 Jan 2026 10:00, Service Desk <desk@help.example> wrote:\n${quoted(OLD)}\n\n${NEW}`);
  });
  test('interleaved answers keep the quoted lines they answer, marked as quote', () => {
    const mail = 'On 5 Jan 2026 10:00, Service Desk <desk@help.example> wrote:\n> Which printer is it?\n\nThe one on floor 3.\n\n> Since when does it fail?\n\nSince Monday.\n\n> The service desk\n';
    expect(visibleText(mail)).toBe('> Which printer is it?\n\nThe one on floor 3.\n\n> Since when does it fail?\n\nSince Monday.');
  });
});

describe('quote headers in any word order: a bracketed address, a clock time and a closing colon', () => {
  const headers: [string, string][] = [
    // Gmail in Hungarian puts the verb before a parenthesised date.
    ['Gmail Hungarian', 'Service Desk <desk@help.example> ezt írta (időpont: 2026. jan. 5., H, 10:00):'],
    ['Gmail Hungarian, wrapped inside the date', 'Service Desk <desk@help.example> ezt írta (időpont: 2026. jan. 5.,\nH, 10:00):'],
    ['Gmail German, name first', 'Service Desk <desk@help.example> schrieb am Mo., 5. Jan. 2026, 10:00:'],
    ['Gmail Portuguese, name first', 'Service Desk <desk@help.example> escreveu no dia segunda, 5/01/2026 à(s) 10:00:'],
    ['Gmail Greek', 'Στις Δευ 5 Ιαν 2026 στις 10:00 π.μ., ο/η Service Desk <desk@help.example> έγραψε:'],
    ['Gmail Korean', '2026년 1월 5일 (월) 오전 10:00, Service Desk <desk@help.example>님이 작성:'],
    ['Gmail Ukrainian', 'пн, 5 січ. 2026 о 10:00 Service Desk <desk@help.example> пише:'],
    ['Gmail Indonesian', 'Pada tanggal Sen, 5 Jan 2026 10.00, Service Desk <desk@help.example> menulis:'],
    ['Gmail Catalan', 'El dl., 5 de gen. 2026 a les 10:00, Service Desk (<desk@help.example>) va escriure:'],
    ['Gmail Slovak', 'po 5. 1. 2026 o 10:00 Service Desk <desk@help.example> napísal(a):'],
    ['Gmail Croatian', 'pon, 5. sij 2026. u 10:00 Service Desk <desk@help.example> napisao je:'],
  ];
  test.each(headers)('%s', (_client, header) => {
    expectNew(`${NEW}\n\n${header}\n\n${quoted(OLD)}\n`);
    expectNew(`${NEW}\n\n${header}\n\n${OLD}\n`);
  });
  test('a sentence with an address and a time is not a header', () => {
    const text = 'Please call me at 10:30 or write to <ann@corp.example>.\nThanks.';
    expect(visibleText(text)).toBe(text);
    const withColon = 'The meeting is at 10:30, the agenda comes from <ann@corp.example> as follows:\n- printers';
    expect(visibleText(withColon)).toBe(withColon);
  });
});

describe('separators: a label naming the original message between runs of dashes, any language', () => {
  test.each(['-------- Eredeti levél --------', '-----Originální zpráva-----', '--- Původní e-mail ---', '======== Mensaje original ========', '-------- Исходное письмо --------'])('%s', (separator) => {
    expectNew(`${NEW}\n\n${separator}\n${headerBlock(['From', 'Sent', 'To', 'Subject'], ': ')}\n\n${OLD}`);
    expectNew(`${NEW}\n\n${separator}\n\n${OLD}`);
  });
  test('a forward marker of that shape keeps the forwarded text', () => {
    const mail = `Please look at this.\n\n-------- Továbbított üzenet --------\nFrom: Bob <bob@corp.example>\n\nThe server is down.`;
    expect(visibleText(mail)).toBe(mail);
  });
  test('a heading between dashes that names no message stays', () => {
    const text = `${NEW}\n\n----- Steps -----\n1. restart\n2. log in`;
    expect(visibleText(text)).toBe(text);
  });
});

describe('client footers in any language: a short line naming a device or mail app and the sending', () => {
  test.each([
    'Az iPhone-omról küldve', "iPhone'umdan gönderildi", 'iPhone에서 보냄', 'Στάλθηκε από το iPhone μου', 'Odoslané z iPhonu',
    'Poslano z mojega iPhona', 'Wysłano z aplikacji Poczta dla Windows', 'Envoyé depuis Yahoo Mail pour Android',
  ])('%s, with the old message after it', (footer) => {
    expectNew(`${NEW}\n\n${footer}\n\n${OLD}`);
    expectNew(`${NEW}\n\n${footer}`);
  });
  test('a sentence about a device is kept', () => {
    for (const text of ['The mail I sent from the iPhone never arrived.', 'Sent a magnificent torch of pixels', 'Outlook on Windows sent it twice']) {
      expect(visibleText(`${NEW}\n\n${text}`)).toBe(`${NEW}\n\n${text}`);
    }
  });
});

describe('sign-offs in the users\' languages', () => {
  test.each([
    'Üdv,\nAnna', 'Köszönöm,\nAnna', 'Att,\nAna Souza', 'Atenciosamente,\nAna Souza\nAnalista de TI', 'Abs,\nAna', 'Cdlt,\nMarie',
    'Belle journée,\nMarie', 'Groetjes,\nJan', 'Mvg,\nJan de Vries', 'Vriendelijke groeten,\nJan', 'Schöne Grüße\nMax', 'Mit freundlichem Gruß\nMax Muster',
    'Un abrazo,\nJuan', 'Un cordiale saluto,\nMario', 'Buona giornata,\nMario', 'Dzięki,\nJan', 'Pozdrawiam serdecznie,\nJan Kowalski',
    'Díky,\nJan', 'S přátelským pozdravem\nJan Novák', 'Kiitos,\nMatti', 'Thanks & Regards,\nRavi Kumar\nSystems Engineer',
    'よろしくお願いします。\n山田', 'よろしくお願いいたします。\n山田太郎', '谢谢！\n张伟',
  ])('%s', (signature) => {
    expectNew(`${NEW}\n\n${signature}`);
  });
  test('closing words the list does not know: a short capitalised line with a comma, then a name', () => {
    expectNew(`${NEW}\n\nPozdrowienia z Krakowa,\nJan`);
    expectNew(`${NEW}\n\nHyvää päivänjatkoa,\nMatti Virtanen\nIT`);
  });
  test('a comma line followed by more sentence is kept', () => {
    for (const text of ['Can you check the printer?\nAlso,\nBob says hi', 'The printer is broken.\n\nIn the meantime,\nFloor 3 uses the other one']) {
      expect(visibleText(text)).toBe(text);
    }
  });
});

describe('HTML-only mail: the signature and quote containers each client marks', () => {
  const NEW_HTML = '<div>The VPN works again, thank you.</div><div>I will tell the team.</div>';
  const cases: [string, string][] = [
    ['Gmail signature without "-- "', `<div dir="ltr">${NEW_HTML}<br clear="all"><div><div dir="ltr" class="gmail_signature" data-smartmail="gmail_signature"><div>Ann Example</div><div>+41 44 123 45 67</div></div></div></div>`],
    ['Outlook web <div id="Signature"> above the reply header', `<div>${NEW_HTML}</div><div id="Signature"><div>Ann Example</div><div>IT Coordinator</div></div><div id="appendonsend"></div><hr><div id="divRplyFwdMsg"><b>From:</b> Service Desk</div><div>${OLD}</div>`],
    ['Thunderbird <pre class="moz-signature">', `<p>The VPN works again, thank you.<br>I will tell the team.</p><pre class="moz-signature" cols="72">Ann Example\nIT Coordinator</pre><div class="moz-cite-prefix">On 05/01/2026 10:00, Service Desk wrote:<br></div><blockquote type="cite">${OLD}</blockquote>`],
    ['Proton signature block', `<div>${NEW_HTML}</div><div class="protonmail_signature_block"><div class="protonmail_signature_block-user">Ann Example</div><div class="protonmail_signature_block-proton">Sent with <a href="https://proton.me/">Proton Mail</a> secure email.</div></div><div class="protonmail_quote">On Monday, January 5th, 2026 at 10:00, Service Desk wrote:<blockquote class="protonmail_quote">${OLD}</blockquote></div>`],
    ['GMX/Web.de <div name="quote"> with the header inside', `<div>${NEW_HTML}<div>&nbsp;</div><div name="quote" style="margin:10px 5px 5px 10px; border-left:2px solid #C3D9E5;"><div><b>Gesendet:</b>&nbsp;Montag, 05. Januar 2026 um 10:00 Uhr<br/><b>Von:</b>&nbsp;"Service Desk" &lt;desk@help.example&gt;</div><div name="quoted-content">${OLD}</div></div></div>`],
    ['Outlook mobile signature', `<div dir="ltr">${NEW_HTML}</div><div id="ms-outlook-mobile-signature"><div><br></div>Get <a href="https://aka.ms/o0ukef">Outlook for iOS</a></div>`],
  ];
  test.each(cases)('%s', (_client, html) => {
    expect(visibleTextFromHtml(html)).toBe(NEW);
  });
});

test('HTML mail that is nothing but a quote shows its whole text rather than an empty entry', () => {
  const html = `<blockquote type="cite">Please restart the VPN client.<div>On 5 Jan 2026, at 10:00, Service Desk &lt;desk@help.example&gt; wrote:</div><div>The VPN fails.</div></blockquote>`;
  const got = visibleTextFromHtml(html);
  expect(got).toContain('Please restart the VPN client.');
  expect(got).toContain('The VPN fails.');
});

describe('contact blocks: a name or sign-off, then short lines with a phone or mail address', () => {
  test.each([
    ['name, title, phone, web', 'Ann Example\nIT Coordinator | Example Corp\nT: +41 44 123 45 67\nwww.corp.example'],
    ['a long corporate block under a sign-off (more than six lines)', 'Best regards,\nAnn Example\nIT Coordinator\nExample Corp\nBahnhofstrasse 1\n8001 Zürich\nSwitzerland\nPhone +41 44 123 45 67\nMobile +41 79 123 45 67\nhttps://corp.example'],
    ['German block in blank-separated groups', 'Mit freundlichen Grüßen\n\nMax Muster\nLeiter IT\n\nMuster GmbH\nHauptstraße 5, 10115 Berlin\nTel. +49 30 1234567\nFax +49 30 1234568\nE-Mail: max@muster.example'],
    ['a short name above the full block', 'Ann\n\nAnn Example\nIT Coordinator\n+41 44 123 45 67'],
  ])('%s', (_kind, block) => {
    expectNew(`${NEW}\n\n${block}`);
  });
  test.each([
    'The printer fails.\n\nAnn Example\nFloor 3, room 301',
    'Please call me back.\n\nMy number is +41 44 123 45 67.',
    'The server fails.\n\nServer Name\nIP 10.0.0.5',
    'The page fails.\n\nSee Screenshot\nhttps://corp.example/shot.png',
  ])('details the user gives are kept: %j', (text) => {
    expect(visibleText(text)).toBe(text);
  });
});

describe('round 3 (blind batch 1): structures the clients write', () => {
  test('Gmail/Android quote intro wrapped inside the address ("2026/1/5 Name <" / "address>")', () => {
    expectNew(`${NEW}\n\n2026/1/5 Service Desk <\ndesk@help.example>\n\n${quoted(OLD)}`);
  });
  test('keep: a line ending in "<" that introduces no quote', () => {
    const text = 'Type the command as shown, the arrow is <\nenter> on the old keyboard.\nIt still fails.';
    expect(visibleText(text)).toBe(text);
  });

  test.each([
    ['Windows 10 Mail, link inside the line', 'Sent from Mail<https://go.microsoft.com/fwlink/?LinkId=550123> for Windows 10'],
    ['Outlook for iOS, German', 'Outlook für iOS beziehen<https://aka.ms/o0ukef>'],
    ['Outlook for Android, Swedish', 'Hämta Outlook för Android<https://aka.ms/ghei36>'],
    ['Outlook for Android, Danish', 'Hent Outlook til Android'],
    ['Outlook for iOS, Polish', 'Pobierz aplikację Outlook dla systemu iOS'],
    ['Outlook for Android, "Download" wording', 'Download Outlook for Android<https://aka.ms/ghei36>'],
    ['GMX mail app for Android', 'Diese Nachricht wurde von meinem Android-Mobiltelefon mit GMX Mail gesendet.'],
    ['BlackBerry with its carrier', 'Sent from my BlackBerry 10 smartphone on the Rogers network.'],
  ])('client footer: %s, with and without the old message after it', (_client, footer) => {
    expectNew(`${NEW}\n\n${footer}\n\n${OLD}`);
    expectNew(`${NEW}\n\n${footer}`);
  });
  test('keep: sentences about getting or sending from Outlook', () => {
    for (const text of ['Ich kann Outlook für iOS nicht beziehen, der Store meldet einen Fehler.', 'Diese Nachricht wurde von meinem Kollegen mit falschem Betreff gesendet, bitte ignorieren.', 'I sent from Mail<https://go.microsoft.com/fwlink/?LinkId=550123> for Windows 10 a copy of the log, see below.']) {
      expect(visibleText(`${NEW}\n\n${text}`)).toBe(`${NEW}\n\n${text}`);
    }
  });

  test('Gmail plain-text contact block: bold markers, "Name | Role", an "[image: logo]" line, groups', () => {
    expectNew(`${NEW}\n\n*Ann Example* | *IT Coordinator*\n*Call me +41 44 123 45 67* <+41441234567>\n\n[image: Example Corp logo]\n\nBahnhofstrasse 1, 8001 Zürich\n\n*WEB  corp.example <https://corp.example/>*`);
  });
  test('keep: an inline image placeholder between lines of the message', () => {
    const text = 'The error looks like this:\n\n[image: screenshot.png]\n\nIt appears after login.';
    expect(visibleText(text)).toBe(text);
  });

  test('a sign-off with a rule right under it starts a corporate signature, however long it runs', () => {
    const signature = 'Thanks,\n____________________\nAnn Example\nIT Coordinator | Example Corp\nDirect: +41 44 123 45 67\n____________________\n\n'
      + 'To reach the IT service desk, please write to it@corp.example. This mailbox is not monitored.\nPlease make a note of this.\n\nEscalation: IT management\n____________________';
    expectNew(`${NEW}\n\n${signature}`);
  });
  test('keep: a rule under a line that is no sign-off', () => {
    const text = 'Here is what I tried.\n\nSteps so far\n__________\n1. I restarted the laptop twice.\n2. I logged in again with the new password.';
    expect(visibleText(text)).toBe(text);
  });

  test('disclaimers: a "Disclaimer" heading, the legal paragraph, the gateway\'s scan notice, closing rules', () => {
    const legal = 'The information in this message is confidential and intended solely for the addressee. If you are not the intended recipient, please notify the sender and delete it; any disclosure or copying is prohibited.';
    const scan = 'This email has been scanned for viruses and malware by the Example Mail Gateway, and may have been automatically archived for compliance.';
    expectNew(`${NEW}\n\n\nDisclaimer\n\n${legal}\n\n${scan}`);
    expectNew(`${NEW}\n\n----------------------------------------\n${legal}\n-----------------------------------------\n\n${scan}\n\n-----------------------------------------`);
  });
  test('keep: a last paragraph about virus scanning written by the user, a "Disclaimer" heading over user text', () => {
    for (const text of [
      `${NEW}\n\nOur antivirus says the attachment was scanned for viruses and is clean, but the portal still refuses the upload of the file every time.`,
      `${NEW}\n\nDisclaimer\n\nThe text on the web page about returns is wrong, it says thirty days but the contract says fourteen days, please fix it soon.`,
    ]) {
      expect(visibleText(text)).toBe(text);
    }
  });

  test('Outlook (web and desktop since 2016): the <hr> drawn above the reply header goes with the quote', () => {
    const html = `<div>${NEW.replace('\n', '<br>')}</div><div><br></div><hr style="display:inline-block;width:98%" tabindex="-1"><div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>From:</b> Service Desk &lt;desk@help.example&gt;<br><b>Sent:</b> Monday, January 5, 2026 10:00 AM<br><b>To:</b> Ann<br><b>Subject:</b> [#12] VPN</font></div><div>${OLD}</div>`;
    expect(visibleTextFromHtml(html)).toBe(NEW);
  });
  test('keep: a rule between parts of the message', () => {
    const text = 'Part one of the report.\n----------\nPart two of the report.';
    expect(visibleText(text)).toBe(text);
  });
});

describe('round 3 (blind batch 2): structures the clients write', () => {
  test('Yahoo wraps its header with indentation under the last line of the reply: that line stays', () => {
    const mail = `${NEW}\nBahnhofstrasse 1, 8001 Zürich\n    On Monday, 5 January 2026, 10:00:00 CET, Service Desk\n <desk@help.example> wrote:\n\n ${OLD}`;
    expectNew(mail, `${NEW}\nBahnhofstrasse 1, 8001 Zürich`);
  });
  test('keep the whole header when the name line above the address belongs to it', () => {
    expectNew(`${NEW}\n\nService Desk <\ndesk@help.example> wrote:\n\n${quoted(OLD)}`);
  });

  test('images in the signature as help desks write them in text: Markdown, also with alt text over lines', () => {
    expectNew(`${NEW}\n\nKind Regards\n\n![](https://corp.example/attachments/logo.jpg)\n\n---`);
    expectNew(`${NEW}\n\nKind Regards\n\n![A close-up of a signature\n\nDescription automatically generated](https://corp.example/sig.jpg)\n\nAnn Example`);
  });
  test('keep: an image between lines of the message', () => {
    const text = 'See the screenshot:\n\n![error](https://corp.example/shot.png)\n\nIt fails after login.';
    expect(visibleText(text)).toBe(text);
  });

  test('a closing alone as the last paragraph', () => {
    expectNew(`${NEW}\n\nThanks!`);
    expectNew(`${NEW}\n\nMany thanks.`);
  });
  test('keep: a closing that is the whole message, a thank-you sentence', () => {
    expect(visibleText('Thanks!')).toBe('Thanks!');
    expect(visibleText(`${NEW}\n\nThanks for the quick fix!`)).toBe(`${NEW}\n\nThanks for the quick fix!`);
  });

  test('a closing, then a long corporate signature: contact data, address lines, rules, legal text, social links', () => {
    const signature = 'Yours sincerely\n\nAnn Example\n\nThe People Hub\n\n0345 304 7474\n\nann@corp.example\n\n**Example Corp**\n\n---\n\n'
      + 'Unless otherwise stated:\nExample Corp plc\nRegistered Office:\n1 Example Road\nLondon\nW2 1NW\n\nRegistered No. 123456 in England and Wales.\n\nwww.corp.example\n\n'
      + 'Please note that electronic mail may be monitored.\n\nThis e-mail is confidential. If you received it by mistake, please let us know and then delete it from your system; you should not copy, disclose, or distribute its contents to anyone.\n\n'
      + '**_Facebook _** **_Twitter _** **_Linkedin _** **_Pinterest _** **_Youtube _** **_Instagram _**';
    expectNew(`${NEW}\n\n${signature}`);
  });
  test('keep: a long line of the writer after the signature', () => {
    const text = `${NEW}\n\nBest regards,\nAnn Example\n+41 44 123 45 67\n\nOne more thing: the printer on floor 3 also shows the same error since Monday, the screen stays black.`;
    expect(visibleText(text)).toBe(text);
  });

  test('a `>` block the writer introduces with a colon (code, a log) is shown whole', () => {
    const block = '> ERROR 42 at line 3\n> retrying\n>\n> ERROR 42 at line 3\n> giving up';
    const mail = `Thanks, here is the log:\n\n${block}\n\nAnn\n\nOn Mon, Jan 5, 2026 at 10:00 AM Service Desk <desk@help.example> wrote:\n\n${quoted(OLD)}`;
    expect(visibleText(mail)).toBe(`Thanks, here is the log:\n\n${block}\n\nAnn`);
  });
  test('keep the interleaving rule: a quote not introduced by a colon shows only its last lines above the answer', () => {
    const mail = `See my answer below.\n\n> line one\n> line two\n> line three\n> line four\n> line five\n\nYes, line five is right.`;
    expect(visibleText(mail)).toBe('See my answer below.\n\n> line three\n> line four\n> line five\n\nYes, line five is right.');
  });
});

describe('Lotus/HCL Notes reply header: sender line, date line, then the fields as a table without colons', () => {
  test.each([
    ['German', 'Service Desk <desk@help.example>\n05.01.2026 10:00\n\nAn\nAnn Example <ann@corp.example>\nKopie\n\nThema\n[#12] VPN'],
    ['English', 'Service Desk <desk@help.example>\n01/05/2026 10:00 AM\n\nTo\nAnn Example <ann@corp.example>\ncc\n\nSubject\n[#12] VPN'],
    ['canonical Notes name', 'Service Desk/IT/Corp@Corp\n05.01.2026 10:00\n\nAn\nAnn Example/Sales/Corp@Corp\nKopie\n\nThema\n[#12] VPN'],
  ])('%s', (_layout, header) => {
    expectNew(`${NEW}\n\n${header}\n\n${OLD}`);
  });
  test('keep: a contact and a date the writer gives', () => {
    for (const text of [`${NEW}\n\nPlease write to Ann <ann@corp.example>\n05.01.2026 10:00 suits her.`, `${NEW}\n\nAnn Example <ann@corp.example>\nis the contact from Monday on.`]) {
      expect(visibleText(text)).toBe(text);
    }
  });
});

