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
