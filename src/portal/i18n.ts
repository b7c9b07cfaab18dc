/** Portal texts in English and German; the browser's Accept-Language picks one. */
const en = {
  lang: 'en',
  portalTitle: 'Service portal',
  signinTitle: 'Sign in',
  signinIntro: 'Enter your email address and we will send you a sign-in link.',
  email: 'Email address',
  sendLink: 'Send sign-in link',
  linkSent: 'If this address is known to us, a sign-in link is on its way. It is valid for {minutes} minutes and works once.',
  confirmTitle: 'Sign in to the service portal',
  confirmIntro: 'Continue to sign in with this link.',
  continue: 'Continue',
  linkInvalid: 'This sign-in link is invalid, expired or has been used. Request a new one.',
  requestNew: 'Request a new link',
  rateLimited: 'Too many sign-in requests. Please wait a few minutes and try again.',
  signOut: 'Sign out',
  myTickets: 'My tickets',
  noTickets: 'You have no tickets yet.',
  number: 'No.',
  subject: 'Title',
  status: 'Status',
  lastUpdate: 'Last update',
  latest: 'Latest message',
  older: 'Older tickets',
  newTicket: 'New ticket',
  description: 'Description',
  create: 'Create ticket',
  attachments: 'Attachments (up to 20 MB in total)',
  reply: 'Reply',
  send: 'Send reply',
  conversation: 'Conversation',
  mergedInto: 'This ticket was merged into ticket #{n}.',
  notFound: 'Not found, or you have no access to it.',
  forbidden: 'This form has expired. Reload the page and try again.',
  tooLarge: 'Attachments exceed 20 MB in total.',
  invalid: 'Please check your input: {message}',
  error: 'Something went wrong. Please try again.',
  signedInAs: 'Signed in as {name}',
  truncated: '(shortened to 65,536 characters)',
  back: 'Back to my tickets',
  support: 'Support',
};
export type Texts = typeof en;

const de: Texts = {
  lang: 'de',
  portalTitle: 'Serviceportal',
  signinTitle: 'Anmelden',
  signinIntro: 'Geben Sie Ihre E-Mail-Adresse ein, und wir senden Ihnen einen Anmeldelink.',
  email: 'E-Mail-Adresse',
  sendLink: 'Anmeldelink senden',
  linkSent: 'Falls uns diese Adresse bekannt ist, ist ein Anmeldelink unterwegs. Er ist {minutes} Minuten gültig und funktioniert einmal.',
  confirmTitle: 'Beim Serviceportal anmelden',
  confirmIntro: 'Mit diesem Link anmelden.',
  continue: 'Weiter',
  linkInvalid: 'Dieser Anmeldelink ist ungültig, abgelaufen oder wurde schon benutzt. Fordern Sie einen neuen an.',
  requestNew: 'Neuen Link anfordern',
  rateLimited: 'Zu viele Anmeldeanfragen. Bitte warten Sie einige Minuten.',
  signOut: 'Abmelden',
  myTickets: 'Meine Tickets',
  noTickets: 'Sie haben noch keine Tickets.',
  number: 'Nr.',
  subject: 'Titel',
  status: 'Status',
  lastUpdate: 'Letzte Änderung',
  latest: 'Letzte Nachricht',
  older: 'Ältere Tickets',
  newTicket: 'Neues Ticket',
  description: 'Beschreibung',
  create: 'Ticket anlegen',
  attachments: 'Anhänge (insgesamt bis 20 MB)',
  reply: 'Antworten',
  send: 'Antwort senden',
  conversation: 'Verlauf',
  mergedInto: 'Dieses Ticket wurde mit Ticket #{n} zusammengeführt.',
  notFound: 'Nicht gefunden, oder Sie haben keinen Zugriff.',
  forbidden: 'Dieses Formular ist abgelaufen. Laden Sie die Seite neu und versuchen Sie es noch einmal.',
  tooLarge: 'Die Anhänge sind zusammen größer als 20 MB.',
  invalid: 'Bitte prüfen Sie Ihre Eingabe: {message}',
  error: 'Etwas ist schiefgegangen. Bitte versuchen Sie es noch einmal.',
  signedInAs: 'Angemeldet als {name}',
  truncated: '(auf 65.536 Zeichen gekürzt)',
  back: 'Zurück zu meinen Tickets',
  support: 'Support',
};

export const LANGUAGES = { en, de } as const;
export type Lang = keyof typeof LANGUAGES;

/** Picks the language from an Accept-Language header (express's req.acceptsLanguages result). */
export function textsFor(accepted: string | false | undefined): Texts {
  return accepted === 'de' ? de : en;
}

export function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => (k in values ? String(values[k]) : m));
}
