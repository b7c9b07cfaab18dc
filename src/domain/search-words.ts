import { stemmer } from 'stemmer';

/**
 * The words a ticket is found by, normalised the same way for what is stored and what is asked:
 * lower case, accents folded ("Café" → "cafe"), Porter-stemmed ("printers" → "printer"), common
 * English words dropped. Stored per ticket (tickets.searchWords / publicSearchWords) and matched
 * with $all on a multikey index, which MongoDB and FerretDB/DocumentDB both answer — unlike
 * $text, whose accent handling and availability differ between engines.
 */
const STOP = new Set(('a an and are as at be but by can do for from has have he her his i if in into is it its me my no not of on or our ' +
  'she so that the their them then there they this to was we were what when which who will with you your').split(' '));

/** Most distinct words kept per ticket (a very long thread still finds its first words). */
export const MAX_WORDS_PER_TICKET = 4000;

export function searchWords(text: string): string[] {
  const folded = text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
  const out = new Set<string>();
  for (const raw of folded.split(/[^\p{L}\p{N}]+/u)) {
    if (raw.length < 2 || raw.length > 40 || STOP.has(raw)) continue;
    out.add(/^\p{N}+$/u.test(raw) ? raw : stemmer(raw));
  }
  return [...out];
}

/** The ticket's words with `added` joined (null when nothing new, so no write is needed). */
export function withWords(existing: readonly string[] | null | undefined, added: readonly string[]): string[] | null {
  const have = new Set(existing ?? []);
  const fresh = added.filter((w) => !have.has(w));
  if (fresh.length === 0 || have.size >= MAX_WORDS_PER_TICKET) return null;
  return [...have, ...fresh].slice(0, MAX_WORDS_PER_TICKET);
}
