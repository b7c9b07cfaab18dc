import type { EntryDoc, TicketDoc } from '../store/models.js';
import { searchWords, withWords } from '../domain/search-words.js';
import type { TicketCore } from './core.js';

/** Most tickets a search ranks (a person reads the first few pages; beyond that, refine the words). */
export const MAX_SEARCH_HITS = 200;
/** A word in the title counts this much more than the same word in the conversation. */
const TITLE_WEIGHT = 2;
/** A ticket holding every asked word (stored word lists) scores this, plus TITLE_WEIGHT when the title holds them all. */
const WORD_MATCH = 1;

/**
 * Ticket numbers matching free text, best first: the text index on `tickets.title` and the one on
 * `entries.text` (the conversation), scores merged per ticket (title ×2 + best entry). A number in
 * the text ("#42", "42") puts that ticket first. `filter` is the list's other filters; for an
 * end-user audience only entries recorded as public count, so a word that appears only in an
 * internal note never reveals that a ticket matched.
 */
export async function searchMatches(core: TicketCore, text: string, filter: Record<string, unknown>, audience: 'technician' | 'end-user'): Promise<number[]> {
  const words = text.trim().slice(0, 500);
  const scores = new Map<number, number>();
  const add = (n: number, s: number) => scores.set(n, (scores.get(n) ?? 0) + s);
  const score = { score: { $meta: 'textScore' } } as const;

  // The stored word lists (domain/search-words.ts): every asked word, accents folded and stemmed,
  // on the audience's list — an end user's never holds a note's words. Newest first among equals.
  const asked = searchWords(words);
  const wordHits = asked.length === 0 ? [] : await core.models.Ticket.find(
    { ...filter, [audience === 'end-user' ? 'publicSearchWords' : 'searchWords']: { $all: asked } }, { number: 1, title: 1 },
  ).sort({ updatedAt: -1 }).limit(MAX_SEARCH_HITS).lean<TicketDoc[]>();
  wordHits.forEach((t, i) => {
    const inTitle = new Set(searchWords(t.title));
    add(t.number, WORD_MATCH + (asked.every((w) => inTitle.has(w)) ? TITLE_WEIGHT : 0) + (MAX_SEARCH_HITS - i) / (MAX_SEARCH_HITS * 100));
  });

  // The engine's text search adds its scores where it has one; an engine that refuses $text
  // (some DocumentDB configurations) leaves the word lists to answer alone.
  const textSearch = async <T>(run: () => Promise<T[]>): Promise<T[]> => {
    try { return await run(); } catch (err) {
      core.logger.warn({ err: String(err) }, 'text search refused by the database; using the stored word lists only');
      return [];
    }
  };
  const titled = await textSearch(() => core.models.Ticket.find({ ...filter, $text: { $search: words } }, { number: 1, ...score })
    .sort(score).limit(MAX_SEARCH_HITS).lean<(TicketDoc & { score: number })[]>());
  for (const t of titled) add(t.number, TITLE_WEIGHT * t.score);

  const entryFilter: Record<string, unknown> = { $text: { $search: words } };
  if (audience === 'end-user') Object.assign(entryFilter, { visibility: 'public', kind: { $ne: 'note' } });
  const said = await textSearch(() => core.models.Entry.find(entryFilter, { ticketNumber: 1, ...score })
    .sort(score).limit(MAX_SEARCH_HITS * 2).lean<(EntryDoc & { score: number })[]>());
  const best = new Map<number, number>();
  for (const e of said) best.set(e.ticketNumber, Math.max(best.get(e.ticketNumber) ?? 0, e.score));

  const exact = [...words.matchAll(/(?:^|\s)#?(\d{1,9})(?=\s|$)/g)].map((m) => Number(m[1]));
  // Tickets found only through their conversation or number must still pass the other filters.
  const unchecked = [...new Set([...best.keys(), ...exact])].filter((n) => !scores.has(n));
  const passing = new Set([...titled.map((t) => t.number), ...wordHits.map((t) => t.number)]);
  if (unchecked.length > 0) {
    const ok = await core.models.Ticket.find({ ...filter, number: { $in: unchecked } }, { number: 1 }).lean<TicketDoc[]>();
    for (const t of ok) passing.add(t.number);
  }
  for (const [n, s] of best) if (passing.has(n)) add(n, s);
  for (const n of exact) if (passing.has(n)) add(n, 1_000);
  return [...scores.entries()].filter(([n]) => passing.has(n))
    .sort((a, b) => b[1] - a[1] || b[0] - a[0]).slice(0, MAX_SEARCH_HITS).map(([n]) => n);
}

/**
 * Gives tickets written before the word lists existed their words (title + whole conversation,
 * and title + public entries), a batch at a time; returns how many it did. The write is guarded by
 * the version read and bumps it, so a concurrent change retries on top of the full lists instead
 * of replacing them with its own few words.
 */
export async function backfillSearchWords(core: TicketCore, batch = 100): Promise<number> {
  const todo = await core.models.Ticket.find({ searchWords: { $exists: false } }, { _id: 1, number: 1, title: 1, version: 1 }).limit(batch).lean<TicketDoc[]>();
  let done = 0;
  for (const t of todo) {
    const entries = await core.models.Entry.find({ ticketNumber: t.number }, { text: 1, visibility: 1 }).lean<EntryDoc[]>();
    let all = searchWords(t.title);
    let seenByContact = all;
    for (const e of entries) {
      const said = searchWords(e.text ?? '');
      all = withWords(all, said) ?? all;
      if (e.visibility === 'public') seenByContact = withWords(seenByContact, said) ?? seenByContact;
    }
    const res = await core.models.Ticket.collection.updateOne(
      { _id: t._id, version: t.version, searchWords: { $exists: false } },
      { $set: { searchWords: all, publicSearchWords: seenByContact }, $inc: { version: 1 } },
    );
    done += res.modifiedCount;
  }
  return done;
}
