import sanitizeHtml from 'sanitize-html';

/**
 * Server-side templates as tagged template literals: every interpolated value is escaped unless it
 * is already Safe (produced by `html` itself or by `sanitizedEmailHtml`). There is no other way to
 * put a string into a page, so user text can never become markup.
 */
export class Safe {
  constructor(readonly value: string) {}
  toString() {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };
export const escapeHtml = (s: string) => s.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);

type Value = Safe | string | number | boolean | null | undefined | Value[];

function render(v: Value): string {
  if (v == null || v === false) return '';
  if (v instanceof Safe) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Safe {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Safe(out);
}

/**
 * HTML that arrived by email, reduced to a strict allowlist: text structure and links only. No
 * scripts, styles, event handlers, images (tracking pixels) or forms survive.
 */
export function sanitizedEmailHtml(input: string): Safe {
  return new Safe(sanitizeHtml(input, {
    allowedTags: ['p', 'br', 'div', 'span', 'b', 'strong', 'i', 'em', 'u', 's', 'ul', 'ol', 'li', 'blockquote', 'pre', 'code',
      'h1', 'h2', 'h3', 'h4', 'hr', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'a'],
    allowedAttributes: { a: ['href', 'rel', 'target'], td: ['colspan', 'rowspan'], th: ['colspan', 'rowspan'] },
    allowedSchemes: ['http', 'https', 'mailto'],
    allowProtocolRelative: false,
    disallowedTagsMode: 'discard',
    transformTags: { a: sanitizeHtml.simpleTransform('a', { rel: 'noopener noreferrer nofollow', target: '_blank' }) },
  }));
}

/*
 * One date formatter per language for the process (portal and console): building an
 * Intl.DateTimeFormat is costly and holds ICU memory outside the JS heap until GC, and a long
 * ticket page formats hundreds of dates.
 */
const dateFormats = {
  en: new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }),
  de: new Intl.DateTimeFormat('de-DE', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' }),
};
/** A date as "7 Dec 2026, 18:40 UTC" in the page's language. */
export const formatUtcDate = (lang: string, d: Date) => `${dateFormats[lang === 'de' ? 'de' : 'en'].format(d)} UTC`;
