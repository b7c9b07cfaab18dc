/*
 * The lexicon's helpdesk rules added for issue #17 after fresh set 2, one table row per language.
 * Each row pairs a sentence the rule changes with a control it must leave alone, so breaking the rule
 * flips one of them. None of these sentences is in an evaluation set (test/fixtures/sentiment-eval-*).
 */
import { analyzeLexicon } from '../../src/ai/lexicon.js';

type Lang = 'en' | 'de' | 'fr' | 'es' | 'it' | 'nl';
const label = (text: string, lang: Lang) => {
  const r = analyzeLexicon(text);
  expect(r.lang).toBe(lang);
  return r.label;
};

describe('a closing after a request or a question is politeness, not sentiment ("…? Grazie, Luca")', () => {
  const rows: [Lang, string, string][] = [
    ['en', 'Could you move my desk phone to room 4.12? Thanks, Oliver', 'The scanner works again. Thanks, Oliver'],
    ['de', 'Können Sie mir den Zugang zum Laufwerk K freischalten? Danke, Jonas', 'Der Scanner läuft wieder. Danke, Jonas'],
    ['fr', 'Pouvez-vous installer Acrobat sur mon poste ? Merci, Julie', 'Le scanner marche de nouveau. Merci, Julie'],
    ['es', '¿Podrían instalar Acrobat en mi equipo? Gracias, Lucía', 'El escáner funciona de nuevo. Gracias, Lucía'],
    ['it', 'Potete installare Acrobat sul mio computer? Grazie, Matteo', 'Lo scanner funziona di nuovo. Grazie, Matteo'],
    ['nl', 'Kunnen jullie Acrobat op mijn laptop zetten? Bedankt, Sanne', 'De scanner werkt weer. Bedankt, Sanne'],
  ];
  test.each(rows)('%s', (lang, request, resolved) => {
    expect(label(request, lang)).toBe('neutral');
    // After a resolution the thanks stays (and the message is positive).
    expect(label(resolved, lang)).toBe('positive');
  });

  test.each([
    ['es', 'Por favor, dar de alta a Irene en el sistema de compras a partir del martes. Gracias.'],
    ['fr', 'Je voudrais un deuxième casque pour les visioconférences. Bonne journée, Paul'],
    ['it', 'Vorrei una seconda cuffia per le videochiamate. Buona giornata'],
  ] as [Lang, string][])('a bare thanks or a wish closing a request (%s)', (lang, text) => {
    expect(label(text, lang)).toBe('neutral');
  });

  test('"Thanks!" alone and thanks inside the request keep their warmth', () => {
    expect(label('Thanks so much!', 'en')).toBe('positive');
    expect(label('Vielen Dank für die schnelle Hilfe!', 'de')).toBe('positive');
  });
});

describe('IT terms that are not emotions: "kill a process", "false positive", a quoted "critical error" in a question', () => {
  const rows: [Lang, string, string, string][] = [
    ['en', 'How can I kill a stuck print job from the command line?', 'The antivirus flagged our payroll macro as a false positive.', 'Outlook crashes with a fatal error every morning.'],
    ['de', 'Wie kann ich einen Druckprozess killen, der hängt?', 'Der Virenscanner meldet bei unserem Makro einen Fehlalarm.', 'Das Programm stürzt mit einem schwerwiegenden Fehler ab.'],
    ['fr', 'Comment tuer un processus figé depuis la console ?', "L'antivirus signale notre macro comme un faux positif.", 'Outlook plante avec une erreur fatale.'],
    ['es', '¿Cómo se mata un proceso colgado desde la consola?', 'El antivirus marca nuestra macro como falso positivo.', 'Outlook se cuelga con un error fatal.'],
    ['it', 'Come si termina un processo bloccato da terminale?', "L'antivirus segnala la nostra macro come falso positivo.", 'Outlook si blocca con un errore critico.'],
    ['nl', 'Hoe kan ik een proces killen dat hangt?', 'De virusscanner ziet onze macro als vals positief.', 'Outlook crasht met een kritieke fout.'],
  ];
  test.each(rows)('%s', (lang, question, term, control) => {
    expect(label(question, lang)).toBe('neutral');
    expect(label(term, lang)).toBe('neutral');
    // Outside a question, a crash with a "fatal error" is still a problem report.
    expect(label(control, lang)).toBe('negative');
  });

  test('an error text quoted in a question is the system\'s words; the same error reported is a problem', () => {
    expect(label('The backup log says "snapshot failed, job aborted". Do I need to do anything?', 'en')).toBe('neutral');
    expect(label('Im Protokoll steht „kritischer Fehler: Dienst beendet". Ist das normal?', 'de')).toBe('neutral');
    expect(label('The backup failed again last night.', 'en')).toBe('negative');
  });
});

describe('contrast + recurrence: "thanks for your help, but here I am again" is a complaint', () => {
  const rows: [Lang, string, string][] = [
    ['en', 'Thanks for your help, but here I am again.', 'Thanks for your patience, but it works again now.'],
    ['de', 'Danke für Ihre Hilfe, aber ich schreibe Ihnen schon wieder.', 'Danke für Ihre Geduld, aber jetzt läuft es wieder.'],
    ['fr', 'Merci pour votre aide, mais je vous écris encore une fois.', 'Merci pour votre patience, mais ça marche de nouveau.'],
    ['es', 'Le agradezco la ayuda, pero aquí estoy otra vez.', 'Gracias por su paciencia, pero ya funciona de nuevo.'],
    ['it', "Grazie per l'aiuto, ma vi scrivo di nuovo.", 'Grazie per la pazienza, ma ora funziona di nuovo.'],
    ['nl', 'Bedankt voor jullie hulp, maar hier ben ik weer.', 'Bedankt voor jullie geduld, maar nu werkt het weer.'],
  ];
  test.each(rows)('%s', (lang, complaint, resolved) => {
    expect(label(complaint, lang)).toBe('negative');
    // Recurrence with a function verb is a resolution ("works again").
    expect(label(resolved, lang)).toBe('positive');
  });
});

describe('failure words: being thrown out, the wrong recipient', () => {
  const rows: [Lang, string, string][] = [
    ['en', 'The expense tool logs me out before I can save.', 'The invoices are sent to the wrong address.'],
    ['de', 'Das Reisekostentool wirft mich vor dem Speichern raus.', 'Die Rechnungen gehen an die falsche Adresse.'],
    ['fr', "L'outil de notes de frais me jette avant l'enregistrement.", 'Les factures partent chez les mauvais destinataires.'],
    ['es', 'La herramienta de gastos me saca antes de guardar.', 'Las facturas llegan a una dirección equivocada.'],
    ['it', 'Lo strumento delle spese mi butta fuori prima di salvare.', "Le fatture arrivano all'indirizzo sbagliato."],
    ['nl', 'De declaratietool logt me uit voordat ik opsla.', 'De facturen gaan naar het verkeerde adres.'],
  ];
  test.each(rows)('%s', (lang, thrownOut, wrong) => {
    expect(label(thrownOut, lang)).toBe('negative');
    expect(label(wrong, lang)).toBe('negative');
  });
});

describe('the failure a resolution names is not a new problem ("the update fixed the problem")', () => {
  const rows: [Lang, string][] = [
    ['en', 'The update fixed the problem.'],
    ['de', 'Das Update hat das Problem behoben.'],
    ['fr', 'La mise à jour a résolu le problème.'],
    ['es', 'La actualización ha solucionado el problema.'],
    ['it', "L'aggiornamento ha risolto il problema."],
    ['nl', 'De update heeft het probleem opgelost.'],
  ];
  // de and nl put the participle last, so the resolution is the last signal anyway; en, fr, es and it need the rule.
  test.each(rows)('%s', (lang, text) => expect(label(text, lang)).toBe('positive'));
  test('a failure after a resolution word that is not its object still counts', () => {
    expect(label('Maravilloso, el arreglo me ha borrado todos los marcadores.', 'es')).toBe('negative');
  });
});

describe('a failure that is "back" came back', () => {
  const rows: [Lang, string][] = [
    ['en', 'Thanks for trying, however the problem is back.'],
    ['de', 'Danke, aber der Fehler ist wieder da.'],
    ['fr', 'Merci, mais le problème est de retour.'],
    ['nl', 'Bedankt, maar de storing is terug.'],
  ];
  test.each(rows)('%s', (lang, text) => expect(label(text, lang)).toBe('negative'));
  test('"is back" without a failure is still a resolution', () => {
    expect(label('The shared drive is back, thanks!', 'en')).toBe('positive');
  });
});

test('asking for a resolution is not one (en, es: where the noun is a resolution word)', () => {
  expect(label('We need a permanent fix now.', 'en')).toBe('neutral');
  expect(label('Necesito una solución definitiva para la impresora.', 'es')).toBe('neutral');
  expect(label('The printer is fixed now.', 'en')).toBe('positive');
});

test('Dutch colloquial "t" for "het": "doet t niet" is a negated function verb', () => {
  expect(label('De beamer doet t niet', 'nl')).toBe('negative');
  expect(label("Scanner doet 't weer.", 'nl')).toBe('positive');
});

test('German separable "schlägt … an" (triggers) is not "schlägt fehl" (fails)', () => {
  expect(label('Der Virenscanner schlägt bei der Datei an.', 'de')).toBe('neutral');
  expect(label('Die Anmeldung schlägt seit heute Morgen fehl.', 'de')).toBe('negative');
});

test('German "das vierte Mal" without "zum" is repetition', () => {
  expect(label('Das ist jetzt das dritte Mal, dass ich anrufe!', 'de')).toBe('negative');
});

test('idioms that only look negative: "in no time", "en un rien de temps"', () => {
  expect(label('The new badge arrived in no time, thank you!', 'en')).toBe('positive');
  expect(label('Badge remplacé en un rien de temps, merci !', 'fr')).toBe('positive');
});

describe('accent-insensitive: the rules are written without accents, so the decisive word matches typed either way', () => {
  const rows: [Lang, string, string, string][] = [
    // German typed without umlauts is "geloest" (not handled); the umlaut itself must still match "gelost".
    ['de', 'Das Problem ist gelöst.', '', 'positive'],
    ['fr', "C'est réglé pour le scanner.", "C'est regle pour le scanner.", 'positive'],
    ['es', 'Perdí todos los archivos del escritorio.', 'Perdi todos los archivos del escritorio.', 'negative'],
  ];
  test.each(rows)('%s', (lang, accented, plain, expected) => {
    expect(label(accented, lang)).toBe(expected);
    if (plain) expect(label(plain, lang)).toBe(expected);
  });
});

describe('a clause that says it happens again is no resolution, even with "already/now" and a working verb', () => {
  // "ya" is both "now" ("ya abre": it opens now) and "already" ("ya es la segunda vez": it is already the second time).
  test.each([
    ['es', 'Ya es la segunda vez que abro una incidencia por la impresora.', 'Ya abre la impresora sin problemas.'],
    ['it', 'È già la terza volta che apro un ticket per la stampante.', 'Ora si apre senza problemi.'],
    ['en', 'Already the third time I open a ticket for this printer.', 'It opens fine now.'],
  ] as [Lang, string, string][])('%s', (lang, recurring, resolved) => {
    expect(label(recurring, lang)).toBe('negative');
    expect(label(resolved, lang)).toBe('positive');
  });
});
