import { visibleText } from '../domain/reply-text.js';

/*
 * The mail's own thread as a quote detector. The bridge keeps the text of every mail it sent on a
 * ticket, and the ticket keeps the end user's earlier mails: text in a new reply that reproduces
 * one of them is quote, whatever the client, language or header layout around it. Compared after
 * normalising away what clients change when they quote: `>` prefixes, line breaks and white space,
 * HTML markup, punctuation and case.
 */

/** Characters per compared window: long enough that a match is no coincidence. */
const WINDOW = 40;
/** Share of the windows from a line to the end of the mail that must come from earlier mail. */
const MIN_COVERAGE = 0.6;
/** Earlier messages are compared on their first part only, and on a bounded number of windows in all. */
const MAX_EARLIER_CHARS = 200_000;
const MAX_WINDOWS = 2_000_000;
/**
 * Messages shorter than a window ("Any update on this?") are compared whole, and only where a client
 * quotes them (a `>` line, or right under a header line) as the last thing in the mail or above more
 * earlier text: a writer may well type the same short sentence as new text.
 */
const MIN_SHORT = 12;
const MAX_SHORTS = 500;

/** Letters and digits only, lower case: what survives any client's quoting. */
export function normaliseForMatch(text: string): string {
  return text
    .replace(/<[^>]{0,500}>/g, ' ')
    .replace(/&nbsp;|&#160;/g, ' ')
    .replace(/^[ \t]*(>[ \t]?)+/gm, '')
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, '');
}

/** 32-bit FNV-1a of one window (cheap, and two windows must both match: collisions do not matter). */
function hashOf(s: string, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class EarlierMessages {
  private readonly windows = new Set<number>();
  private readonly shorts = new Set<string>();

  constructor(texts: Iterable<string>) {
    for (const text of texts) {
      const n = normaliseForMatch(text.slice(0, MAX_EARLIER_CHARS));
      if (n.length >= MIN_SHORT && n.length < WINDOW && this.shorts.size < MAX_SHORTS) this.shorts.add(n);
      for (let i = 0; i + WINDOW <= n.length && this.windows.size < MAX_WINDOWS; i++) this.windows.add(hashOf(n, i, i + WINDOW));
    }
  }

  get empty(): boolean {
    return this.windows.size === 0 && this.shorts.size === 0;
  }

  /** Length of the longest short earlier message that `s` reproduces from `at` (0 when none). */
  shortAt(s: string, at: number): number {
    let best = 0;
    for (const m of this.shorts) if (m.length > best && s.startsWith(m, at)) best = m.length;
    return best;
  }

  has(s: string, at: number): boolean {
    return at + WINDOW <= s.length && this.windows.has(hashOf(s, at, at + WINDOW));
  }
}

/**
 * Index of the first line from which the rest of the text reproduces earlier messages of the
 * thread, or -1. The line must start a reproduction (its first two windows are earlier text) and
 * most of what follows must be earlier text too, so a reply that quotes one sentence and answers
 * below it keeps its answer.
 */
export function reproductionStart(text: string, earlier: EarlierMessages): number {
  if (earlier.empty) return -1;
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const offsets: number[] = [];
  let all = '';
  for (const line of lines) {
    offsets.push(all.length);
    all += normaliseForMatch(line);
  }
  // hitsFrom[p]: how many windows starting at p or later are earlier text (one pass, so linear time).
  const positions = Math.max(0, all.length - WINDOW + 1);
  const hitsFrom = new Uint32Array(positions + 1);
  for (let p = positions - 1; p >= 0; p--) hitsFrom[p] = hitsFrom[p + 1]! + (earlier.has(all, p) ? 1 : 0);
  const coverage = (from: number): number => (from < positions ? hitsFrom[from]! / (positions - from) : 0);
  for (let i = 0; i < lines.length; i++) {
    const at = offsets[i]!;
    if (!lines[i]!.trim() || offsets[i + 1] === at) continue;
    const short = earlier.shortAt(all, at);
    if (short && quotedHere(lines, i)) {
      const rest = all.length - (at + short);
      if (rest === 0 || (rest >= WINDOW && coverage(at + short) >= MIN_COVERAGE) || signatureBelow(lines, offsets, i, at + short)) return i;
    }
    if (!earlier.has(all, at)) continue;
    if (all.length - at >= 2 * WINDOW && !earlier.has(all, at + WINDOW)) continue;
    if (coverage(at) >= MIN_COVERAGE) return i;
  }
  return -1;
}

/** After the short message that starts on line `i` and ends at `end` comes only the writer's "-- " signature. */
function signatureBelow(lines: string[], offsets: number[], i: number, end: number): boolean {
  let j = i + 1;
  while (j < lines.length && offsets[j]! < end) j++;
  const next = lines.slice(j).find((l) => l.replace(/^[\s>]+/, '').trim());
  return next !== undefined && /^\s*--\s?$/.test(next);
}

/** Line `i` is quoted by a client: `>` in front, or right under a header-like line (a date, an address, a closing colon). */
function quotedHere(lines: string[], i: number): boolean {
  if (/^\s*>/.test(lines[i]!)) return true;
  let k = i - 1;
  while (k >= 0 && !lines[k]!.trim()) k--;
  const above = k >= 0 ? lines[k]!.replace(/^[\s>]+/, '').trim() : '';
  return !!above && above.length <= 160 && (/\d.*@|@.*\d/.test(above) || /[:：]\s*$/.test(above));
}

/**
 * The text before the reproduction of an earlier message, with the lines right above it that
 * introduce it (a header of any layout: short lines with a date, an address or a closing colon),
 * or null when nothing of the thread is reproduced.
 */
export function textBeforeReproduction(text: string, earlier: EarlierMessages): string | null {
  const start = reproductionStart(text, earlier);
  if (start < 0) return null;
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  let end = start;
  while (end > 0 && !lines[end - 1]!.trim()) end--;
  for (let k = 0; k < 6 && end > 0; k++) {
    const l = lines[end - 1]!.replace(/^[\s>]+/, '').trim();
    if (!l || l.length > 160 || !(/\d|@|[:：]\s*$/.test(l) || /^[-_=*—\s]{3,}$/.test(l))) break;
    end--;
    while (end > 0 && !lines[end - 1]!.trim()) end--;
  }
  return lines.slice(0, end).join('\n');
}

/**
 * The new text once the ticket's earlier messages are known: the mail is also cut where it reproduces
 * one of them (any layout, any language), and that cut wins when it leaves less than the text rules.
 * `fullText` is the whole text of the mail (HTML turned into text), `visible` what the rules kept.
 */
export function visibleTextWithThread(fullText: string, visible: string, earlier: EarlierMessages): string {
  const before = textBeforeReproduction(fullText, earlier);
  if (before === null) return visible;
  const cut = visibleText(before);
  return cut.trim() && cut.length < visible.length ? cut : visible;
}
