import { createRequire } from 'node:module';
import { francAll } from 'franc-min';
import { FRANC_CODES, LANGUAGES, RULES, type Language, type LanguageRules } from './lexicon-rules.js';

/*
 * Lexicon sentiment for helpdesk messages, no model needed, in English, German, French, Spanish,
 * Italian and Dutch.
 *  - Language: franc-min (trigram detector) restricted to these six, helped by each language's most
 *    frequent words, which carry short messages ("works now, thx") that trigrams alone misread.
 *  - Words: the lexicons @nlpjs ships per language (SentiCon for en/de/es, AFINN for es, the Pattern
 *    lexicon for fr/it/nl), looked up by stem with the language's own @nlpjs stemmer, the way
 *    @nlpjs/sentiment does; our negators and intensifiers per language instead of its single
 *    "negate everything after" switch.
 *  - Helpdesk rules (lexicon-rules.ts): for a helpdesk a problem report is negative even when it is
 *    polite or terse, and a resolution is positive. The last such signal in the message decides
 *    ("thanks, but it still fails" is negative, "it was broken but works now" positive); sarcastic
 *    praise next to a problem is a problem. Without either, gratitude and the lexicon decide, and
 *    text that carries neither is neutral.
 */

export type SentimentLabel = 'positive' | 'negative' | 'neutral';
export interface SentimentResult {
  label: SentimentLabel;
  /** -1 (very negative) .. 1 (very positive) */
  score: number;
  lang: Language;
}

type Stemmer = { stemWord(word: string): string };
interface LangPackage { stemmer: Stemmer; lexicon: Record<string, number> }

const require = createRequire(import.meta.url);
const PACKAGES: Record<Language, () => LangPackage> = {
  en: () => load(require('@nlpjs/lang-en'), 'En'),
  de: () => load(require('@nlpjs/lang-de'), 'De'),
  fr: () => load(require('@nlpjs/lang-fr'), 'Fr'),
  es: () => load(require('@nlpjs/lang-es'), 'Es'),
  it: () => load(require('@nlpjs/lang-it'), 'It'),
  nl: () => load(require('@nlpjs/lang-nl'), 'Nl'),
};

type NlpjsLang = Record<string, unknown>;
interface NlpjsSentiment { senticon?: Record<string, number>; afinn?: Record<string, number>; pattern?: Record<string, number> }

/** One lexicon per language on a -1..1 scale: SentiCon or Pattern, AFINN (-5..5) where they lack a word. */
function load(pkg: NlpjsLang, suffix: string): LangPackage {
  const Stemmer = pkg[`Stemmer${suffix}`] as new () => Stemmer;
  const data = pkg[`Sentiment${suffix}`] as NlpjsSentiment;
  const lexicon: Record<string, number> = {};
  for (const [k, v] of Object.entries(data.afinn ?? {})) lexicon[k] = v / 5;
  Object.assign(lexicon, data.pattern ?? {}, data.senticon ?? {});
  return { stemmer: new Stemmer(), lexicon };
}

const loaded = new Map<Language, LangPackage>();
/** The languages whose lexicon is loaded in this process (for the warm-up's test). */
export const loadedLanguages = (): Language[] => [...loaded.keys()];

function langPackage(lang: Language): LangPackage {
  let p = loaded.get(lang);
  if (!p) loaded.set(lang, (p = PACKAGES[lang]()));
  return p;
}

/** Lower case, no accents, ß → ss, straight apostrophes, English contractions spelt out. */
export function normalise(text: string): string {
  return text
    .normalize('NFD').replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/ß/g, 'ss')
    .replace(/[’‘`´]/g, "'")
    .replace(/\b(can)'?t\b/g, 'can not').replace(/\bcannot\b/g, 'can not').replace(/\bwon'?t\b/g, 'will not')
    .replace(/\b(\w+)n't\b/g, '$1 not')
    .replace(/\s+/g, ' ')
    .trim();
}

interface Token { w: string; start: number; end: number; segment: number }

function tokenise(norm: string, rules: LanguageRules): Token[] {
  const tokens: Token[] = [];
  let segment = 0;
  // Segments end at sentence punctuation, commas and contrast words: a negation does not reach past them.
  const re = /([\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)*)|([.!?;:,()\n])/gu;
  for (let m = re.exec(norm); m; m = re.exec(norm)) {
    if (m[2]) { segment++; continue; }
    if (rules.contrast.test(m[1]!)) segment++;
    tokens.push({ w: m[1]!, start: m.index, end: m.index + m[1]!.length, segment });
  }
  return tokens;
}

/** Letters and elisions that only some of the six languages use; short messages lean on them. */
const LETTER_HINTS: [RegExp, Partial<Record<Language, number>>][] = [
  [/[äöüß]/i, { de: 0.5 }],
  [/[ñ¿¡]/i, { es: 0.5 }],
  [/[éêç]|\b[cdjmnst]'|\bqu'/i, { fr: 0.4 }],
  [/\bl'/i, { fr: 0.15, it: 0.15 }],
  [/[èàìòù]/i, { it: 0.3, fr: 0.2 }],
  [/[áíóú]/i, { es: 0.3 }],
  [/ij/i, { nl: 0.2 }],
];

/** In how many of the languages' frequent-word lists each word appears. */
const SHARED = new Map<string, number>();
for (const lang of LANGUAGES) for (const w of RULES[lang].functionWords) SHARED.set(w, (SHARED.get(w) ?? 0) + 1);
const FUNCTION_WORD_WEIGHT = 0.35;
const RULE_WORD_WEIGHT = 0.15;
const RULE_VOCABULARY = ['gratitude', 'praise', 'failure', 'resolution', 'functionVerbs', 'persistence', 'resolvedAdverbs', 'stillAgain'] as const;

export function detectLanguage(text: string): Language {
  const norm = normalise(text);
  const words = norm.match(/[\p{L}]+/gu) ?? [];
  const franc = new Map(francAll(text, { only: Object.keys(FRANC_CODES), minLength: 1 }).map(([code, score]) => [FRANC_CODES[code], score]));
  let best: Language = 'en';
  let bestScore = -Infinity;
  for (const lang of LANGUAGES) {
    // A word frequent in several of the languages ("de", "la") says less than one only this language uses.
    const hits = words.filter((w) => RULES[lang].functionWords.has(w)).reduce((sum, w) => sum + 1 / (SHARED.get(w) ?? 1), 0);
    const letters = LETTER_HINTS.reduce((sum, [re, w]) => sum + (re.test(text) ? w[lang] ?? 0 : 0), 0);
    // Words our rules know in this language ("de nuevo", "imprime", "gracias") are evidence too.
    const known = RULE_VOCABULARY.reduce((sum, key) => sum + count(RULES[lang][key], norm), 0);
    const score = (franc.get(lang) ?? 0) + FUNCTION_WORD_WEIGHT * hits + RULE_WORD_WEIGHT * known + letters;
    if (score > bestScore) { best = lang; bestScore = score; }
  }
  return best;
}

/** "without (that)" negates the rest of its clause: "zonder dat er iets is opgelost", "sans que rien ne soit réparé". */
const WITHOUT = /^(without|ohne|sans|sin|senza|zonder)$/;
/** "sans cesse", "sin duda", "senza dubbio": a negator word that negates nothing. */
const IDIOMS_AFTER_NEGATOR = /^(cesse|arret|embargo|duda|dubbio|doubt|zweifel|twijfel|doute)$/;

const DETERMINERS = /^(the|a|an|this|that|my|our|your|le|la|les|l|un|une|ce|cette|mon|ma|mes|el|los|las|lo|il|gli|i|der|die|das|den|dem|het|de|een|mijn|ons)$/;
const BACK = /\b(is back|are back|wieder da|de retour|tornat\w*|terug)\b/;

interface Signal { at: number; kind: 'problem' | 'resolution' }

class Message {
  readonly tokens: Token[];
  readonly signals: Signal[] = [];
  private readonly bySegment = new Map<number, Token[]>();
  constructor(readonly norm: string, readonly rules: LanguageRules) {
    this.tokens = tokenise(norm, rules);
    for (const t of this.tokens) {
      const list = this.bySegment.get(t.segment);
      if (list) list.push(t);
      else this.bySegment.set(t.segment, [t]);
    }
  }

  /** Tokens of the segment around [start, end), split into before / inside / after. */
  window(start: number, end: number) {
    const first = this.tokens.find((t) => t.end > start);
    const same = first ? this.bySegment.get(first.segment)! : [];
    const inside = same.filter((t) => t.start >= start && t.end <= end);
    return {
      before: same.filter((t) => t.end <= start),
      inside,
      after: same.filter((t) => t.start >= end),
      segment: same,
    };
  }

  negated(start: number, end: number, { reachBefore = 4, countInside = true, reachAfter = this.rules.negatorAfter } = {}): boolean {
    const { before, inside, after } = this.window(start, end);
    const neg = (t: Token) => this.rules.negators.test(t.w) && !IDIOMS_AFTER_NEGATOR.test(this.tokens[this.tokens.indexOf(t) + 1]?.w ?? '');
    return before.slice(-reachBefore).some(neg) || before.some((t) => WITHOUT.test(t.w) && neg(t))
      || (countInside && inside.some(neg)) || after.slice(0, reachAfter).some((t) => neg(t) && !WITHOUT.test(t.w));
  }

  segmentText(start: number, end: number): string {
    const { segment } = this.window(start, end);
    return segment.map((t) => t.w).join(' ');
  }

  isQuestion(start: number): boolean {
    const rest = this.norm.slice(start);
    const stop = rest.search(/[.!\n]/);
    const q = rest.indexOf('?');
    return q >= 0 && (stop < 0 || q < stop);
  }

  each(re: RegExp, fn: (m: RegExpExecArray) => void) {
    re.lastIndex = 0;
    for (let m = re.exec(this.norm); m; m = re.exec(this.norm)) {
      fn(m);
      if (m[0].length === 0) re.lastIndex++;
    }
  }

  add(at: number, kind: Signal['kind']) {
    this.signals.push({ at, kind });
  }
}

function helpdeskSignals(msg: Message) {
  const r = msg.rules;
  const failureStarts = new Set<number>();
  msg.each(r.failure, (m) => failureStarts.add(m.index));
  const resolutionEnds = new Set<number>();
  msg.each(r.resolution, (m) => resolutionEnds.add(m.index + m[0].length));

  msg.each(r.failure, (m) => {
    const end = m.index + m[0].length;
    const seg = msg.window(m.index, end).segment;
    const isGone = r.gone.test(m[0]);
    // "the error is gone" / "der Fehler ist weg": the failure went away.
    if (isGone && seg.some((t) => t.end <= m.index && failureStarts.has(t.start) && !r.gone.test(t.w))) return;
    if (!isGone && seg.some((t) => t.start >= end && r.gone.test(t.w))) return msg.add(end, 'resolution');
    // The object of a resolution ("a résolu le problème", "fixed the error") is not a new problem.
    const before = msg.window(m.index, end).before;
    const last = before[before.length - 1];
    if (last && (resolutionEnds.has(last.end) || (DETERMINERS.test(last.w) && resolutionEnds.has(before[before.length - 2]?.end ?? -1)))) return;
    // A negator inside a failure phrase ("no hay quien…", "nicht erreichbar") is part of it.
    // A failure is negated next to it ("kein Fehler", "stürzt nicht mehr ab"), not by a "nicht" at the far end of the clause.
    msg.add(m.index, msg.negated(m.index, end, { countInside: false, reachAfter: Math.min(2, r.negatorAfter) }) ? 'resolution' : 'problem');
  });
  msg.each(r.resolution, (m) => {
    const end = m.index + m[0].length;
    // Scare quotes: 'resolved', „gelöst", « résolu » mean it is not.
    const quoted = /['"«»„“”]\s*$/.test(msg.norm.slice(Math.max(0, m.index - 2), m.index)) && /^\s*['"«»„“”]/.test(msg.norm.slice(end, end + 2));
    // "the problem is back" / "der Fehler ist wieder da": the failure came back.
    const returned = BACK.test(m[0]) && msg.window(m.index, end).before.some((t) => failureStarts.has(t.start));
    msg.add(m.index, quoted || returned || msg.negated(m.index, end) ? 'problem' : 'resolution');
  });
  msg.each(r.workedPast, (m) => msg.add(m.index, msg.negated(m.index, m.index + m[0].length) ? 'problem' : 'resolution'));
  msg.each(r.functionVerbs, (m) => {
    const end = m.index + m[0].length;
    if (msg.negated(m.index, end)) return msg.add(m.index, 'problem');
    const seg = msg.segmentText(m.index, end);
    r.failure.lastIndex = 0;
    const segmentNegated = msg.window(m.index, end).segment.some((t) => r.negators.test(t.w));
    // "ya es la tercera vez que abro un ticket": a clause that says it happens again is no resolution.
    if (!msg.isQuestion(m.index) && !segmentNegated && r.resolvedAdverbs.test(seg) && !r.failure.test(seg) && !has(r.persistence, seg)) msg.add(m.index, 'resolution');
    r.failure.lastIndex = 0;
  });
  for (const t of msg.tokens) {
    if (r.services.test(t.w) && msg.negated(t.start, t.end, { reachBefore: 2 })) msg.add(t.start, 'problem');
  }
  msg.each(r.persistence, (m) => msg.add(m.index, 'problem'));
  msg.each(r.totalNegators, (m) => {
    const seg = msg.window(m.index, m.index + m[0].length).segment;
    if (!seg.some((t) => failureStarts.has(t.start))) msg.add(m.index, 'problem');
  });
  msg.each(r.unfortunately, (m) => msg.add(m.index, 'problem'));
  // "Sorry to bother you, but my invites go to the wrong people again" / "Agradezco su ayuda, pero otra vez…":
  // recurrence after the last contrast word, in a clause that says nothing works again, is a problem.
  const marks = msg.tokens.filter((t) => r.contrast.test(t.w));
  const lastContrast = marks[marks.length - 1];
  if (lastContrast) {
    msg.each(new RegExp(r.recurrence.source, 'g'), (m) => {
      if (m.index < lastContrast.end) return;
      const seg = msg.segmentText(m.index, m.index + m[0].length);
      if (!has(r.functionVerbs, seg) && !has(r.resolution, seg) && !has(r.workedPast, seg)) msg.add(m.index, 'problem');
    });
  }
  msg.each(new RegExp(r.stillAgain.source, 'g'), (m) => {
    const seg = msg.window(m.index, m.index + m[0].length).segment;
    if (seg.some((t) => r.negators.test(t.w)) && !seg.some((t) => failureStarts.has(t.start))) msg.add(m.index, 'problem');
  });
}

function count(re: RegExp, s: string): number {
  const global = re.global ? re : new RegExp(re.source, 'g');
  global.lastIndex = 0;
  return s.match(global)?.length ?? 0;
}

/** Weaker lexicon entries are mostly noise in these lexicons ("afectado" +0.6, "to" +0.4). */
const LEXICON_CUTOFF = 0.7;

/** Contrast: the clause after the last "but" counts three times. */
function contrastWeight(msg: Message): (at: number) => number {
  const marks = msg.tokens.filter((t) => msg.rules.contrast.test(t.w));
  const last = marks[marks.length - 1];
  return (at) => (last && at >= last.start ? 3 : 1);
}

/** Gratitude and praise, each 0.8; negated ("nicht zufrieden", "pas content") they count against. */
function warmthScore(msg: Message): number {
  const weight = contrastWeight(msg);
  let sum = 0;
  for (const re of [msg.rules.gratitude, msg.rules.praise]) {
    msg.each(re, (m) => {
      sum += 0.8 * weight(m.index) * (msg.negated(m.index, m.index + m[0].length, { reachAfter: 0 }) ? -1 : 1);
    });
  }
  return sum;
}

/** Lexicon score of the words, with negation and intensifiers; the clause after the last contrast counts three times. */
function lexicalScore(msg: Message, lang: Language): number {
  const { stemmer, lexicon } = langPackage(lang);
  const r = msg.rules;
  const weight = contrastWeight(msg);
  let sum = 0;
  msg.tokens.forEach((t, i) => {
    if (r.functionWords.has(t.w) || r.negators.test(t.w) || t.w.length < 3 || /\d/.test(t.w)) return;
    const v = lexicon[t.w] ?? lexicon[stemmer.stemWord(t.w)];
    if (v === undefined || Math.abs(v) < LEXICON_CUTOFF) return;
    let value = v;
    if (i > 0 && r.intensifiers.test(msg.tokens[i - 1]!.w)) value *= 1.5;
    if (msg.negated(t.start, t.end)) value *= -0.5;
    sum += value * weight(t.start);
  });
  return sum;
}

/** As much of one message as the model reads; also keeps the rules' cost bounded on a 64K comment. */
const MAX_CHARS = 4000;

const has = (re: RegExp, s: string) => { re.lastIndex = 0; const found = re.test(s); re.lastIndex = 0; return found; };

/**
 * A closing at the very end ("…? Grazie, Luca", "…lunes. Gracias.", "Bonne journée, Luc") closes a
 * request or a question: politeness, not sentiment. Wishes and regards ("have a nice day",
 * "cordialement") never are sentiment. "Works now. Thanks, Anna" keeps its thanks.
 */
export function withoutClosing(text: string, norm: string, rules: LanguageRules): string {
  const m = /(^|[.!?\n])([^.!?\n]*)[.!?\s]*$/.exec(norm);
  if (!m) return norm;
  const bodyEnd = m.index + m[1]!.length;
  const body = norm.slice(0, bodyEnd);
  if (!/\p{L}/u.test(body)) return norm;
  const words = m[2]!.replace(/,/g, ' ').split(/\s+/).filter(Boolean);
  // The name after the closing, as the end user typed it (capitalised): "Grazie, Luca".
  const typed = text.trim().replace(/[.!]+$/, '').split(/\s+/);
  for (let k = words.length; k >= 1 && words.length - k <= 3; k--) {
    const closing = words.slice(0, k).join(' ');
    if (!rules.closing.test(closing)) continue;
    const names = typed.slice(typed.length - (words.length - k)).slice(0, words.length - k);
    if (words.length > k && !names.every((w) => /^\p{Lu}/u.test(w))) continue;
    if (rules.closingWish.test(closing) || has(rules.request, body)) return body;
  }
  return norm;
}

/**
 * IT terms that are not emotions ("kill a hung process", "faux positif", "errore critico" as a label):
 * the term is neutral, and a question that contains one, or an error text quoted in a question,
 * asks about it rather than complains. "The app crashes with a critical error" is still a problem.
 */
export function withoutTechnical(norm: string, rules: LanguageRules): string {
  const question = norm.includes('?');
  let out = norm.replace(/[^.!?\n]*(?:[.!?\n]+|$)/g, (sentence) => {
    const asks = /\?\s*$/.test(sentence);
    if (asks && (has(rules.technical, sentence) || has(rules.errorLabel, sentence))) return ' '.repeat(Math.max(0, sentence.length - 1)) + '.';
    return sentence.replace(rules.technical, (t) => ' '.repeat(t.length));
  });
  if (question) {
    // An error text quoted in a message that asks a question: "the log says 'FATAL: snapshot aborted'. Should I…?"
    out = out.replace(/(["“”«»„]|(?<=^|\s)')([^"“”«»„\n]{2,80}?)(["“”«»„]|'(?=[\s.,;:!?]|$))/g, (q, _a, inner: string) => (has(rules.failure, inner) ? ' '.repeat(q.length) : q));
  }
  return out;
}

export function analyzeLexicon(fullText: string, lang: Language = detectLanguage(fullText.slice(0, MAX_CHARS))): SentimentResult {
  const text = fullText.slice(0, MAX_CHARS);
  const rules = RULES[lang];
  let norm = normalise(text);
  // Dutch colloquial "'t" / "t" for "het": "printer doet t niet".
  if (lang === 'nl') norm = norm.replace(/(^|\s)'?t(?=[\s.,!?]|$)/g, '$1het');
  norm = withoutClosing(text, norm, rules);
  norm = withoutTechnical(norm, rules);
  if (rules.wantResolution) norm = norm.replace(rules.wantResolution, ' ');
  norm = norm.replace(rules.politeness, ' ');
  if (!/[\p{L}]/u.test(norm)) return { label: 'neutral', score: 0, lang };
  const msg = new Message(norm, rules);
  helpdeskSignals(msg);

  const problems = msg.signals.filter((s) => s.kind === 'problem');
  const resolutions = msg.signals.filter((s) => s.kind === 'resolution');
  const lastProblem = Math.max(-1, ...problems.map((s) => s.at));
  const lastResolution = Math.max(-1, ...resolutions.map((s) => s.at));
  const gratitude = count(rules.gratitude, norm);
  const lexical = lexicalScore(msg, lang);

  let label: SentimentLabel;
  let score: number;
  if (problems.length > 0 && lastProblem >= lastResolution) {
    label = 'negative';
    score = -Math.min(1, 0.5 + 0.1 * problems.length + Math.max(0, -lexical) * 0.1);
  } else if (resolutions.length > 0) {
    label = 'positive';
    score = Math.min(1, 0.5 + 0.1 * resolutions.length + 0.1 * gratitude);
  } else {
    const raw = warmthScore(msg) + lexical;
    label = raw >= 0.6 ? 'positive' : raw <= -0.6 ? 'negative' : 'neutral';
    const squashed = raw / Math.sqrt(raw * raw + 1);
    score = label === 'positive' ? Math.max(0.4, squashed) : label === 'negative' ? Math.min(-0.25, squashed) : Math.max(-0.24, Math.min(0.39, squashed));
  }
  return { label, score: Math.round(score * 1000) / 1000, lang };
}
