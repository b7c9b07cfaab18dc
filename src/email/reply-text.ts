import { convert } from 'html-to-text';

/*
 * Only the new text of a reply becomes a ticket entry. Rules for mail in general (many clients,
 * several languages), applied line by line in one pass over the text:
 *  - a quote header ("On … wrote:", "Am … schrieb …:", "Le … a écrit :", "2014-10-17 … <a@b>:")
 *    followed by `>` lines removes that quoted block (text after it is kept: bottom-posting);
 *    followed by unquoted text, it cuts everything from there (Gmail/Apple Mail "quote as text");
 *  - "-----Original Message-----" (and localised variants) cuts everything from there;
 *  - an Outlook header block (From:/Sent:/To:/Subject: in several languages) cuts from there;
 *  - `>` quoted lines are removed;
 *  - a signature ("-- " delimiter, "Sent from my iPhone" and localised mobile footers) is cut.
 * HTML-only mail is turned into text first, with the quote containers clients mark (blockquote,
 * .gmail_quote, Yahoo, Outlook's reply div) left out.
 */

/** Verbs clients put at the end of a quote header, in many languages. */
const WROTE = String.raw`(?:wrote|writes|sent|schrieb|hat geschrieben|geschrieben|a écrit|a ecrit|escribió|escribio|schreef|geschreven|ha scritto|scrisse|escreveu|skrev|skrev følgende|kirjoitti|napisał\(a\)|napisał|napisala|napisal|написал\(а\)|написал|написала|yazdı|đã viết|írta|napsal|a scris)`;
const WROTE_AT_END = new RegExp(String.raw`${WROTE}\s*:?\s*-*\s*$`, 'i');
/** "Am 27.11.2026 um 14:03 schrieb Helpdesk:" — in German and Dutch the name follows the verb. */
const WROTE_THEN_NAME = new RegExp(String.raw`(^|\s)${WROTE}\s.{1,120}:\s*$`, 'i');
/** Words a multi-line quote header starts with (the date and name wrap onto the next lines). */
const HEADER_LEAD = /^\s*-*\s*(on|am|le|el|op|il|em|w dniu|den|på|vào|dne|el día|le \w+\.?|\d)/i;
/** A quote header that shares its line with the reply ("reply On Wed, … wrote:"). */
const INLINE_ON = /\s(On|Am|Le|El|Op|Il|Em)\s.{4,200}$/;

const ORIGINAL_MESSAGE = /^\s*[-_=*\s]{2,}\s*(original message|reply message|forwarded by|ursprüngliche nachricht|antwort nachricht|originalnachricht|oprindelig meddelelse|message d'origine|message original|mensaje original|mensagem original|oorspronkelijk bericht|origineel bericht|messaggio originale|originalmeddelande|ursprungligt meddelande|opprinnelig melding|alkuperäinen viesti|wiadomość oryginalna|původní zpráva|исходное сообщение)\s*[-_=*\s]{2,}\s*$/i;

/** Header names of a quoted message header block (Outlook and webmail), several languages. */
const FROM_NAMES = ['from', 'von', 'de', 'van', 'da', 'från', 'fra', 'od', 'от', 'từ', 'lähettäjä', 'feladó', 'kimden'];
const OTHER_NAMES = [
  'sent', 'date', 'to', 'cc', 'subject', 'gesendet', 'datum', 'an', 'betreff', 'envoyé', 'envoye', 'date', 'à', 'a', 'objet',
  'enviado', 'enviada', 'fecha', 'para', 'asunto', 'verzonden', 'aan', 'onderwerp', 'inviato', 'data', 'oggetto', 'skickat',
  'till', 'ämne', 'sendt', 'til', 'emne', 'dato', 'wysłano', 'do', 'temat', 'отправлено', 'кому', 'тема', 'ngày', 'tới',
  'chủ đề', 'lähetetty', 'vastaanottaja', 'aihe', 'gönderildi', 'kime', 'konu', 'kopie', 'cco', 'bcc', 'reply-to',
];
const headerName = (line: string): string | null => {
  const m = /^\s*[*_]{0,2}([\p{L} -]{1,20}?)[*_]{0,2}\s*:[*_]{0,2}(\s|$)/u.exec(line);
  return m ? m[1]!.trim().toLowerCase() : null;
};
const isFromHeader = (line: string) => FROM_NAMES.includes(headerName(line) ?? '');
const isOtherHeader = (line: string) => OTHER_NAMES.includes(headerName(line) ?? '');
const DATE_NAMES = ['sent', 'date', 'gesendet', 'datum', 'envoyé', 'envoye', 'enviado', 'enviada', 'fecha', 'verzonden', 'inviato', 'data', 'skickat', 'sendt', 'dato', 'wysłano', 'отправлено', 'ngày', 'lähetetty', 'gönderildi'];
const isDateHeader = (line: string) => DATE_NAMES.includes(headerName(line) ?? '');
const FORWARD_MARKER = /^\s*(-{3,}\s*(forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado|doorgestuurd bericht|messaggio inoltrato)\s*-{3,}|begin forwarded message:|anfang der weitergeleiteten nachricht:|début du message réexpédié :?)\s*$/i;
/** A mailing-list footer under an underscore rule (Mailman and friends). */
const LIST_FOOTER = /mailing list|listinfo|unsubscribe|abmelden/i;

const SEPARATOR = /^\s*([-_=*]\s*){5,}$/;
const QUOTED_PREFIX = /^\s*>/;
/** `>` at the start of a line quotes it, except arrows used as decoration (">>> link <<<"). */
const isQuoted = (line: string) => QUOTED_PREFIX.test(line) && !/<<<\s*$/.test(line);
/** "2011/4/7 Nathan <support@example.com>" right above a quote introduces it. */
const looksLikeQuoteIntro = (line: string) => line.length < 200 && /\d/.test(line) && /<[^<>\s]+@[^<>\s]+>\s*:?\s*$/.test(line);
const SIGNATURE_DELIMITER = /^(-- ?|--|__|—)\s*$/;
/** Mobile and webmail footers; the line and anything after it are dropped. */
const MOBILE_FOOTER = new RegExp(
  String.raw`^\s*(sent from (my |the )?[\w .'-]{2,40}|sent with [\w .-]{2,30}|sent via [\w .-]{2,30}|get outlook for \w+|` +
  String.raw`von meinem [\w .-]{2,30} gesendet|gesendet von meinem [\w .-]{2,30}|gesendet mit [\w .-]{2,30}|` +
  String.raw`envoyé de mon [\w .-]{2,30}|envoyé depuis mon [\w .-]{2,30}|enviado desde mi [\w .-]{2,30}|enviado do meu [\w .-]{2,30}|` +
  String.raw`verzonden (vanaf|met) mijn [\w .-]{2,30}|inviato da(l mio)? [\w .-]{2,30}|skickat från min [\w .-]{2,30}|sendt fra min [\w .-]{2,30})\s*$`,
  'i',
);
/** "-Name" sign-off on one of the last lines (as github/email_reply_parser treats it). */
const DASH_SIGNOFF = /^-\p{L}[\p{L} .'-]{0,40}$/u;

function isQuoteHeader(line: string): boolean {
  if (line.length <= 300 && HEADER_LEAD.test(line) && /\d/.test(line) && WROTE_THEN_NAME.test(line)) return true;
  if (line.length > 300 || !WROTE_AT_END.test(line)) {
    // "2014-10-17 11:28 GMT+03:00 Postmaster <postmaster@example.com>:" — date, address, colon.
    if (line.length > 300) return false;
    // "2014-10-17 11:28 GMT+03:00 Postmaster <postmaster@example.com>:" — date, address, colon.
    if (/\d/.test(line) && /<\s*[^<>\s]+@[^<>\s]+\s*>\s*:\s*$/.test(line)) return true;
    // "---- John Smith wrote ----" (Android)
    return /^\s*-{2,}.*\bwrote\b\s*-{2,}\s*$/i.test(line);
  }
  return /\d|@|:\s*-*\s*$/.test(line) || /^\s*-{2,}.*-{2,}\s*$/.test(line);
}

interface HeaderMatch {
  /** Lines the header spans. */
  span: number;
  /** Text on the header's first line that belongs to the reply ("reply On … wrote:"). */
  keep: string;
}

function quoteHeaderAt(lines: string[], i: number): HeaderMatch | null {
  const line = lines[i]!;
  if (!line.trim()) return null;
  if (isQuoteHeader(line)) {
    const inline = INLINE_ON.exec(line);
    if (inline && inline.index > 0 && !HEADER_LEAD.test(line)) return { span: 1, keep: line.slice(0, inline.index).replace(/[\s-]+$/, '') };
    return { span: 1, keep: '' };
  }
  if (!HEADER_LEAD.test(line)) return null;
  // Wrapped headers: up to 3 more lines (5 when the first line carries a date, skipping blanks).
  let joined = line.trim();
  const reach = /\d/.test(line) ? 5 : 2;
  for (let k = 1; k <= reach && i + k < lines.length; k++) {
    const next = lines[i + k]!.trim();
    if (!next) {
      if (reach === 2) break;
      continue;
    }
    joined += ' ' + next.replace(/^>\s*/, '');
    if (isQuoteHeader(joined)) return { span: k + 1, keep: '' };
  }
  return null;
}

/** An Outlook-style header block: a From line with at least two known header lines right after. */
function headerBlockAt(lines: string[], i: number): boolean {
  const line = lines[i]!;
  const from = isFromHeader(line);
  if (!from && !isOtherHeader(line)) return false;
  // HTML converted to text can put the whole block on one line.
  if (from && /\s[*_]{0,2}(date|sent|gesendet|datum|envoyé|enviado|verzonden|inviato)[*_]{0,2}\s*:/i.test(line)) return true;
  let headers = 1;
  let sawFrom = from;
  let sawDate = isDateHeader(line);
  for (let k = i + 1; k < Math.min(lines.length, i + 8); k++) {
    const l = lines[k]!;
    if (!l.trim()) {
      if (headers >= 3) break;
      continue;
    }
    if (isFromHeader(l)) { sawFrom = true; headers++; continue; }
    if (isOtherHeader(l)) { headers++; sawDate ||= isDateHeader(l); continue; }
    // Long values wrap onto the next line (e.g. "On Behalf Of", long To: lists).
    if (/^\s+\S/.test(l) || /^\s*[*_]{0,2}on behalf of/i.test(l)) continue;
    break;
  }
  // From + Date/Sent, or Date/Sent + another header, or three headers including From.
  return (sawFrom && (headers >= 3 || sawDate)) || (sawDate && headers >= 2 && /^\s*[*_]{0,2}(date|sent|datum|gesendet)/i.test(line));
}

/** Returns the new text of a plain-text reply. */
export function visibleText(input: string): string {
  const lines = input.replace(/\r\n?/g, '\n').split('\n');
  const out: string[] = [];
  let inQuote = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (isQuoted(line) && !inQuote) {
      let k = out.length - 1;
      while (k >= 0 && !out[k]!.trim()) k--;
      if (k >= 0 && looksLikeQuoteIntro(out[k]!)) out.length = k;
    }
    if (isQuoted(line) || (inQuote && /\s>\s*$/.test(line) && line.trim() !== '>')) {
      inQuote = true;
      continue;
    }
    if (inQuote && !line.trim()) continue;
    inQuote = false;
    if (ORIGINAL_MESSAGE.test(line)) break;
    if (FORWARD_MARKER.test(line)) {
      // A forward's content is what the sender wants us to read: keep it as it is.
      out.push(...lines.slice(i));
      return trimLines(out);
    }
    if (SEPARATOR.test(line) && /_{10,}/.test(line) && lines.slice(i + 1, i + 6).some((l) => LIST_FOOTER.test(l))) break;
    const header = quoteHeaderAt(lines, i);
    if (header) {
      if (header.keep) out.push(header.keep);
      let j = i + header.span;
      while (j < lines.length && !lines[j]!.trim()) j++;
      if (j < lines.length && isQuoted(lines[j]!)) {
        // A header introducing a `>` block: drop both, keep what follows (bottom-posting).
        i = j - 1;
        inQuote = true;
        continue;
      }
      break;
    }
    if (headerBlockAt(lines, i)) {
      // A separator line right above the block belongs to it.
      while (out.length > 0 && (SEPARATOR.test(out[out.length - 1]!) || !out[out.length - 1]!.trim())) out.pop();
      break;
    }
    out.push(line);
  }
  return stripSignature(out);
}

function stripSignature(lines: string[]): string {
  let end = lines.length;
  // A signature delimiter: everything after it goes (search from the top of the last 15 lines up).
  for (let i = Math.max(0, lines.length - 15); i < lines.length; i++) {
    if (SIGNATURE_DELIMITER.test(lines[i]!) && i > 0) {
      end = i;
      break;
    }
  }
  for (let i = 0; i < end; i++) {
    if (MOBILE_FOOTER.test(lines[i]!) && lines.slice(i + 1, end).every((l) => !l.trim() || l.trim().length < 60) && end - i <= 6) {
      end = i;
      break;
    }
  }
  let text = trimLines(lines.slice(0, end));
  const rest = text.split('\n');
  const last = rest[rest.length - 1]!;
  if (rest.length > 1 && DASH_SIGNOFF.test(last.trim())) text = trimLines(rest.slice(0, -1));
  return text;
}

function trimLines(lines: string[]): string {
  let a = 0;
  let b = lines.length;
  while (a < b && !lines[a]!.trim()) a++;
  while (b > a && !lines[b - 1]!.trim()) b--;
  return lines.slice(a, b).map((l) => l.replace(/\s+$/, '')).join('\n');
}

const QUOTE_CONTAINERS = [
  'blockquote', 'div.gmail_quote', 'div.gmail_extra', '.yahoo_quoted', 'div#divRplyFwdMsg', 'div#appendonsend', '#OLK_SRC_BODY_SECTION',
  'div.moz-cite-prefix', 'div.OutlookMessageHeader', 'div#mail-editor-reference-message-container', 'div.protonmail_quote',
  'div.zmail_extra', '[data-marker="__QUOTED_TEXT__"]', 'div.ms-outlook-mobile-reference-message',
];

/** HTML to readable text; `dropQuotes` leaves out the containers mail clients put quotes in. */
export function htmlToText(html: string, dropQuotes = false): string {
  return convert(html, {
    wordwrap: false,
    selectors: [
      { selector: 'a', options: { ignoreHref: true } },
      { selector: 'img', format: 'skip' },
      { selector: 'p', options: { leadingLineBreaks: 1, trailingLineBreaks: 1 } },
      ...(dropQuotes ? QUOTE_CONTAINERS.map((selector) => ({ selector, format: 'skip' })) : []),
    ],
  });
}

/** Elements after which everything is the quoted message (Outlook, Gmail, Yahoo, Thunderbird). */
const QUOTE_START = /<(div|span|blockquote)\b[^>]*\b(id\s*=\s*["']?(divRplyFwdMsg|appendonsend|OLK_SRC_BODY_SECTION|mail-editor-reference-message-container)|class\s*=\s*["']?(gmail_quote|yahoo_quoted|moz-cite-prefix|protonmail_quote))\b/i;

/** The HTML before the client's quote container (the whole HTML when there is none). */
export function newHtml(html: string): string {
  const start = html.search(QUOTE_START);
  return start > 0 ? html.slice(0, start) : html;
}

/** The new text of an HTML reply. */
export function visibleTextFromHtml(html: string): string {
  const start = html.search(QUOTE_START);
  const text = visibleText(htmlToText(start > 0 ? html.slice(0, start) : html, true));
  // A message that is only a quote (e.g. a forward with no comment) keeps its text.
  return text || visibleText(htmlToText(html, false));
}
