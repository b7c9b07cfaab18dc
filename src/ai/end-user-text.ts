import { visibleText } from '../domain/reply-text.js';

/*
 * What the end user wrote in this message, for sentiment: the email bridge's visible text (no quoted
 * reply, no signature, no mobile footer), then without the greeting line and the sign-off, which
 * carry politeness rather than mood ("Hi team," / "Kind regards, Jane" / "Mit freundlichen Grüßen").
 */

/** A greeting that opens the message, alone on its line or before a comma ("Hi Tom, the printer…"). */
const GREETING = /^\s*(hi|hello|hey|dear|good (morning|afternoon|evening)|hallo|hi zusammen|liebe[rs]?|sehr geehrte[rs]?|guten (morgen|tag|abend)|moin|servus|gruezi|bonjour|bonsoir|salut|cher|chere|madame|monsieur|hola|buenos dias|buenas( tardes| noches)?|estimad[oa]s?|ciao|buongiorno|buonasera|salve|gentile|egregio|hoi|hallo allemaal|beste|geachte|goedemorgen|goedemiddag)\b[^\n,!.:]{0,40}[,!.:]?\s*(\n|$)/i;
const GREETING_PREFIX = /^\s*(hi|hello|hey|dear|hallo|bonjour|hola|ciao|buongiorno|hoi|beste)\b[^\n,!:]{0,30}[,!:]\s+/i;

/** A sign-off line; it and everything after it go. "Thanks," alone on a line before a name counts too. */
const SIGN_OFF = /^\s*((best|kind|warm|many thanks and)? ?regards|best( wishes)?|cheers|thanks( again| a lot| in advance)?|thank you|many thanks|sincerely|yours( truly| sincerely)?|mit freundlichen gr(ü|ue)(ß|ss)en|freundliche gr(ü|ue)(ß|ss)e|viele gr(ü|ue)(ß|ss)e|beste gr(ü|ue)(ß|ss)e|gr(ü|ue)(ß|ss)e|lg|vg|mfg|danke( und gr(ü|ue)(ß|ss)e)?|vielen dank|cordialement|bien (à|a) vous|bien cordialement|salutations|merci( d'avance| beaucoup)?|bonne journ(é|e)e|saludos( cordiales)?|un saludo|atentamente|gracias|cordiali saluti|distinti saluti|saluti|grazie( mille)?|buona giornata|met vriendelijke groet(en)?|vriendelijke groet(en)?|groet(en|jes)?|mvg|bedankt|alvast bedankt)\s*[,.!]?\s*$/i;

export function endUserText(raw: string): string {
  // Interleaved replies keep the quoted lines they answer (marked "> ") for the technician; those
  // are someone else's words and carry no mood of the end user's.
  let text = (visibleText(raw) || raw.trim()).split('\n').filter((l) => !/^\s*>/.test(l)).join('\n').trim() || raw.trim();
  const lines = text.split('\n');
  // Sign-off: only in the last lines, followed by nothing but short lines (a name, a title, a phone).
  for (let i = Math.max(1, lines.length - 6); i < lines.length; i++) {
    if (SIGN_OFF.test(lines[i]!) && lines.slice(i + 1).every((l) => l.trim().length <= 40)) {
      lines.length = i;
      break;
    }
  }
  text = lines.join('\n').trim();
  const withoutGreeting = text.replace(GREETING, '').replace(GREETING_PREFIX, '').trim();
  // A message that is only a greeting or only "Thanks!" keeps its text.
  return withoutGreeting || text || raw.trim();
}
