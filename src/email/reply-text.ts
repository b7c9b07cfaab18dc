import { convert } from 'html-to-text';
import { visibleText } from '../domain/reply-text.js';

/*
 * The HTML side of reply stripping: HTML-only mail is turned into text with the quote containers
 * clients mark left out, then the pure text rules of src/domain/reply-text.ts run on the rest.
 */
export { visibleText };

const QUOTE_CONTAINERS = [
  'blockquote', 'div.gmail_quote', 'div.gmail_extra', '.yahoo_quoted', 'div#divRplyFwdMsg', 'div#appendonsend', '#OLK_SRC_BODY_SECTION',
  'div.moz-cite-prefix', 'div.OutlookMessageHeader', 'div#mail-editor-reference-message-container', 'div.protonmail_quote',
  'div.zmail_extra', '[data-marker="__QUOTED_TEXT__"]', 'div.ms-outlook-mobile-reference-message', 'div[name="quote"]',
  // Signature containers the clients mark (Gmail, Outlook web/mobile, Thunderbird, Proton, Yahoo):
  // the visible text drops signatures, and the mark says where one is better than any text rule.
  '.gmail_signature', '[data-smartmail="gmail_signature"]', 'div#Signature', '.moz-signature', '.protonmail_signature_block',
  'div#ms-outlook-mobile-signature', 'div#ymail_android_signature',
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
  // A message that is only a quote (e.g. a forward with no comment) keeps its text; when even that
  // strips to nothing, the whole text shows (as the plain-text path does): an entry is never empty.
  if (text) return text;
  const whole = htmlToText(html, false);
  return visibleText(whole) || whole.trim();
}
