import { visibleText } from '../../src/email/reply-text.js';

/*
 * Issue #13, round 4: rules written from blind batch 4's misses, each tested on mail built the way
 * the client builds it, in languages and layouts the sample did not have.
 */

const NEW = 'The VPN works again, thank you.\nI will tell the team.';
const OLD = 'Please restart the VPN client and tell us whether it connects.\nThe service desk';
const quoted = (text: string) => text.split('\n').map((l) => `> ${l}`).join('\n');
const both = (mail: string) => [mail, mail.replace(/\n/g, '\r\n')];

describe('forward separators recognised by their shape, in any language', () => {
  // Gmail's forward: "---------- <Forwarded message> ---------" then a header block, in the user's language.
  const labels: [string, string, [string, string, string, string]][] = [
    ['Swedish', 'Vidarebefordrat meddelande', ['Från', 'Datum', 'Ämne', 'Till']],
    ['Norwegian', 'Videresendt melding', ['Fra', 'Dato', 'Emne', 'Til']],
    ['Polish', 'Wiadomość przekazana dalej', ['Od', 'Data', 'Temat', 'Do']],
    ['Finnish', 'Välitetty viesti', ['Lähettäjä', 'Päivämäärä', 'Aihe', 'Vastaanottaja']],
    ['Portuguese', 'Mensagem encaminhada', ['De', 'Data', 'Assunto', 'Para']],
  ];
  test.each(labels)('%s: the forward is kept whole, its comment and the forwarded header and text', (_lang, label, [from, date, subject, to]) => {
    const mail = `Please look at this.\n\n---------- ${label} ---------\n${from}: Vendor <noreply@vendor.example>\n${date}: 5. jan. 2026 10:00\n${subject}: Licence renewal\n${to}: ann@corp.example\n\nYour licence expires on 31 January.\n`;
    for (const m of both(mail)) expect(visibleText(m)).toBe(mail.trim());
  });

  test('the same shape naming the original message still cuts (reply, not forward)', () => {
    const mail = `${NEW}\n\n---------- Ursprüngliche Nachricht ----------\nVon: Service Desk <desk@help.example>\nDatum: 05.01.2026 10:00\n\n${OLD}`;
    for (const m of both(mail)) expect(visibleText(m)).toBe(NEW);
  });
});

describe('a dated intro line right above a quote, whatever its words', () => {
  // "<date> <time>, <name> <verb>:" then the `>` block; the verb is one no list knows, or the client
  // sent it in a charset that lost its accented letters (Hungarian "keltezéssel … írta:" → "keltezssel … rta:").
  const intros = [
    '2026.01.05. 10:00 keltezssel, "Service Desk" rta:',
    'Þann 5.1.2026 kl. 10:00 skrifaði Service Desk:',
    '05/01/2026 10:00 - Service Desk kirjoitti näin:',
    '2026-01-05 10:00 GMT+01:00, Service Desk:',
  ];
  test.each(intros)('%s', (intro) => {
    for (const m of both(`${NEW}\n\n${intro}\n${quoted(OLD)}\n`)) expect(visibleText(m)).toBe(NEW);
    // With a blank line between intro and quote, and a signature under the quote (as Thunderbird puts it).
    for (const m of both(`${NEW}\n\n${intro}\n\n${quoted(OLD)}\n\n-- \nAnn Example\n`)) expect(visibleText(m)).toBe(NEW);
  });

  test('a sentence with a date that introduces quoted material is the writer\'s and stays', () => {
    const mail = `The log from this morning says the service restarted.\nThis morning at 10:00 (05.01.2026) the server logged these lines, look at the last one:\n> service vpn stopped\n> service vpn started\n\nIs that expected?`;
    // The intro line is a long sentence (more than twelve words): it is no header.
    expect(visibleText(mail)).toContain('This morning at 10:00 (05.01.2026) the server logged these lines, look at the last one:');
  });
});

describe('a dash and a name as the last line is a signature', () => {
  test.each(['—Daniel', '–Daniel', '--Daniel', '-Daniel'])('%s', (sig) => {
    for (const m of both(`${NEW}\n\n${sig}\n`)) expect(visibleText(m)).toBe(NEW);
  });

  test('a command-line option or a bullet at the end is content', () => {
    for (const last of ['--verbose', '- restart the router']) {
      const mail = `Run the installer again with this option:\n\n${last}`;
      expect(visibleText(mail)).toBe(mail);
    }
  });
});

describe('a dated header line with a bare address (Thunderbird and others)', () => {
  test.each([
    'W dniu 05.01.2026 o 10:00, desk@help.example pisze:',
    '05.01.2026 10:00 kirjutas desk@help.example:',
    'On 2026-01-05 10:00, desk@help.example:',
  ])('%s', (header) => {
    for (const m of both(`${NEW}\n\n${header}\n\n${OLD}\n`)) expect(visibleText(m)).toBe(NEW);
    for (const m of both(`${NEW}\n\n${header}\n${quoted(OLD)}\n`)) expect(visibleText(m)).toBe(NEW);
  });

  test('a long sentence with a date and an address that ends in a colon is the writer\'s', () => {
    const mail = `${NEW}\n\nAt 10:00 on 05.01.2026 I sent a mail to desk@help.example and asked them exactly this question about it:\n\nWhy does the VPN drop every hour?`;
    expect(visibleText(mail)).toBe(mail);
  });
});

describe('a notice split into short paragraphs', () => {
  test.each([
    ['English', 'CONFIDENTIALITY NOTICE: This message contains privileged information.', 'If you received this email in error, please notify the sender and destroy all copies.'],
    ['German', 'VERTRAULICHKEITSHINWEIS: Diese Nachricht ist vertraulich und nur für den Empfänger bestimmt.', 'Wenn Sie diese E-Mail irrtümlich erhalten haben, löschen Sie sie bitte.'],
  ])('%s', (_lang, a, b) => {
    for (const m of both(`${NEW}\n\n${a}\n\n${b}\n`)) expect(visibleText(m)).toBe(NEW);
  });

  test('the writer\'s own short paragraphs about deleting and confidential data stay', () => {
    const mail = `${NEW}\n\nCould you delete the old mailbox of Anna Smith as well, she left last month?\n\nIts content is confidential, so please do not forward it.`;
    expect(visibleText(mail)).toBe(mail);
  });
});

describe('an original-message separator glued into a line by HTML flattening', () => {
  test.each([
    'Thanks, that fixed it.-------- Original message --------From: Service Desk <desk@help.example> Date: 05.01.2026 10:00',
    'Thanks, that fixed it. -----Ursprüngliche Nachricht-----Von: Service Desk <desk@help.example>',
  ])('%s', (line) => {
    for (const m of both(`${line}\n${OLD}\n`)) expect(visibleText(m)).toBe('Thanks, that fixed it.');
  });

  test('a rule around another label inside a line is content', () => {
    const mail = 'See the results below:---------- Results ----------\nAll tests passed.';
    expect(visibleText(mail)).toBe(mail);
  });
});

describe('Outlook header fields folded without indent', () => {
  test('"From: … On" / "Behalf Of …" then the other fields', () => {
    const block = 'From: Service Desk [mailto:desk@help.example] On\nBehalf Of Ann Example\nSent: Monday, January 5, 2026 10:00 AM\nTo: Ann Example <ann@corp.example>\nSubject: RE: [#12] VPN';
    for (const m of both(`${NEW}\n\n${block}\n\n${OLD}\n`)) expect(visibleText(m)).toBe(NEW);
  });
});

describe('"-- Original message" with nothing around it', () => {
  test('under a sentence it is the writer\'s text', () => {
    const mail = 'The original message said something else.\n-- Original message';
    expect(visibleText(mail)).toBe(mail);
  });

  test('the separators clients draw still cut', () => {
    for (const sep of ['--- Original Message ---', '-----Original Message-----', '-------- Original message --------']) {
      for (const m of both(`${NEW}\n\n${sep}\nFrom: Service Desk <desk@help.example>\n\n${OLD}`)) expect(visibleText(m)).toBe(NEW);
    }
  });
});

test('long runs of dashes and long header-like lines cost linear time (no backtracking blow-up)', () => {
  const lines = [
    `Hi ${'-'.repeat(50_000)} x`,
    `Thanks.${'-'.repeat(4_000)} Original message ${'='.repeat(900)}`,
    `W dniu 05.01.2026 o 10:00, ${'a'.repeat(50_000)}@${'b'.repeat(50_000)} pisze:`,
  ];
  // CPU time, not wall time: the machine running the tests may be loaded.
  const started = process.cpuUsage();
  for (const l of lines) visibleText(`Hello\n${l}\nbye`);
  const used = process.cpuUsage(started);
  expect((used.user + used.system) / 1000).toBeLessThan(2000);
});

/*
 * Round 5: rules written from blind batch 6's misses and the known leftovers, each built the way the
 * client or the writer produces it, in languages the batch did not have.
 */
describe('a closing glued to the name (text rendering of HTML mail that lost the line break)', () => {
  test.each(['Viele GrüßeAnna Beispiel', 'Kind regardsTom Baker', 'CordialementMarie Dupont', 'Met vriendelijke groetJan de Vries'])('%s', (glued) => {
    for (const m of both(`${NEW}\n${glued}\n`)) expect(visibleText(m)).toBe(NEW);
    for (const m of both(`${NEW}\n\n${glued}\n+49 30 1234567\n`)) expect(visibleText(m)).toBe(NEW);
  });

  test('a closing word glued to a small letter, or a question after it, is the writer\'s', () => {
    for (const last of ['Thanksgiving is next week, so the office is closed', 'RegardsTom asked about it: is the VPN back?']) {
      const mail = `${NEW}\n${last}`;
      expect(visibleText(mail)).toBe(mail);
    }
  });
});

describe('a short closing no list knows, right above a name and contact lines', () => {
  test.each([
    ['French', 'A plus', 'Marie Dupont - Stagiaire chez Exemple SA'],
    ['Māori', 'Ngā mihi', 'Aroha Smith'],
    ['German', 'Mit kräftigem "Glück Auf"', 'Anna Beispiel | Projektleitung'],
    ['Hungarian', 'Szép napot', 'Kovács Anna, ügyfélszolgálat'],
  ])('%s', (_lang, closing, name) => {
    const mail = `${NEW}\n\n${closing}\n${name}\nanna.example@corp.example\n+33 2 92 89 02 55\n`;
    for (const m of both(mail)) expect(visibleText(m)).toBe(NEW);
    // Above the client's quote, as the mail arrives.
    for (const m of both(`${mail}\n> On 5 Jan 2026, at 10:00, Service Desk wrote:\n${quoted(OLD)}\n`)) expect(visibleText(m)).toBe(NEW);
  });

  test('a question or a sentence above the name stays (only short closing lines go)', () => {
    for (const line of ['Can you call me back?', 'Please call me back at the number below.']) {
      const mail = `${NEW}\n\n${line}\nAnna Beispiel\n+49 30 1234567`;
      expect(visibleText(mail)).toContain(line);
    }
  });
});

describe('Japanese, Chinese and Korean closings above a signature block', () => {
  test.each([
    ['Japanese', 'VPNに接続できるようになりました。ありがとうございます。', '今後ともよろしくお願いいたします。', '田中太郎\n株式会社サンプル 情報システム部\nTEL: 03-1234-5678'],
    ['Japanese', 'VPNに接続できるようになりました。', '引き続き宜しくお願い申し上げます', '田中\ntanaka@corp.example'],
    ['Chinese', 'VPN 已经可以连接了，谢谢。', '此致敬礼', '张伟\n电话: 010-1234 5678'],
    ['Korean', 'VPN이 다시 연결됩니다.', '감사합니다.', '김민수\n010-1234-5678'],
  ])('%s: %s', (_lang, text, closing, signature) => {
    for (const m of both(`${text}\n\n${closing}\n${signature}\n`)) expect(visibleText(m)).toBe(text);
  });

  test('a request with "お願いします" is content, not a closing', () => {
    const mail = 'VPNの設定を送ります。\n\n確認をお願いします。\n田中';
    expect(visibleText(mail)).toContain('確認をお願いします。');
  });
});

describe('a short closing no list knows right above a full name, as the last paragraph', () => {
  test.each([['Māori', 'Ngā mihi'], ['Icelandic', 'Bestu kveðjur'], ['Welsh', 'Cofion gorau'], ['Swahili', 'Wako mwaminifu']])('%s: %s', (_lang, closing) => {
    for (const m of both(`${NEW}\n\n${closing}\nAroha Smith\n`)) expect(visibleText(m)).toBe(NEW);
  });

  test('a sentence, a longer line or a first name alone stay', () => {
    // Three words without punctuation are already a request as often as a closing ("Call me tomorrow"): only two count.
    for (const tail of ['Call me tomorrow at ten.\nAroha Smith', 'I will call you tomorrow morning\nAroha Smith', 'Call me tomorrow\nAroha Smith', 'Ngā mihi\nAroha', 'Aroha Smith\nTeam Lead Networks']) {
      const mail = `${NEW}\n\n${tail}`;
      expect(visibleText(mail)).toContain(tail.split('\n')[0]);
    }
  });
});

/* After blind batch 7's one scoring (its misses, fixed as development; blind7's blind figure stays 12/15). */
describe('a closing that ends the text\'s last sentence, above a signature', () => {
  test.each([
    ['dash rule', '-----------------------------'],
    ['underscores', '______________________________'],
  ])('"Thanks." under the text, then a %s and a contact signature: "Thanks." stays', (_kind, rule) => {
    const mail = `${NEW}\nThanks.\n${rule}\nAnn Example\nTel: +44 20 7946 0000\nann@corp.example\n${rule}\n`;
    for (const m of both(mail)) expect(visibleText(m)).toBe(`${NEW}\nThanks.`);
  });

  test('a closing with a comma, or set apart by a blank line, still opens the signature', () => {
    for (const m of both(`${NEW}\nThanks,\nAnn Example\nTel: +44 20 7946 0000\n`)) expect(visibleText(m)).toBe(NEW);
    for (const m of both(`${NEW}\n\nThanks.\n-----\nAnn Example\nTel: +44 20 7946 0000\n`)) expect(visibleText(m)).toBe(NEW);
  });
});

describe('signature rules drawn with box and geometric characters (Japanese mail)', () => {
  test.each(['━━━━━━━━━━━━━━━━', '■□■□■□■□■□■□■□■□', '＝＝＝＝＝＝＝＝＝＝', '☆★☆★☆★☆★☆★'])('%s', (rule) => {
    const text = 'VPNに接続できるようになりました。\nありがとうございました。';
    for (const m of both(`${text}\n${rule}\n株式会社サンプル 情報システム部\n田中太郎\nTEL: 03-1234-5678\n${rule}\n`)) expect(visibleText(m)).toBe(text);
  });
});

describe('a short line naming a forward, right above a `>` block, keeps the forward whole', () => {
  test.each(['Forwarded by Ann:', 'Weitergeleitet von Anna:', 'Transféré par Marie :', 'Inoltrato da Marco:'])('%s', (intro) => {
    const mail = `Please have a look at this.\n\n${intro}\n${quoted(OLD)}`;
    for (const m of both(mail)) expect(visibleText(m)).toBe(mail);
  });

  test('an ordinary quote header above a `>` block still cuts', () => {
    for (const m of both(`${NEW}\n\nOn Mon, Jan 5, 2026 at 10:00 AM Service Desk <desk@help.example> wrote:\n${quoted(OLD)}`)) expect(visibleText(m)).toBe(NEW);
  });
});
