import vader from 'vader-sentiment';

/*
 * Lexicon sentiment for support messages, no model needed. English goes through VADER; German
 * through a compact word list (no maintained German list is on npm). On top of both sit rules for
 * what general-purpose lexicons miss in helpdesk mail:
 *  - problem and resolution phrases ("still doesn't work", "funktioniert wieder") carry sentiment
 *    that plain words ("work") do not;
 *  - contrast ("thanks, but...", "danke, aber...") lets the last clause dominate;
 *  - sarcasm cues ("oh great", "na toll", "thanks for nothing") next to any problem phrase turn
 *    praise words negative.
 */

export type SentimentLabel = 'positive' | 'negative' | 'neutral';
export interface SentimentResult {
  label: SentimentLabel;
  /** -1 (very negative) .. 1 (very positive) */
  score: number;
  lang: 'en' | 'de';
}

type VaderModule = { SentimentIntensityAnalyzer: { polarity_scores(text: string): { compound: number } } };
const analyzer = (vader as unknown as VaderModule).SentimentIntensityAnalyzer;

/** Compact German valence list on VADER's scale (-4..4); covers typical support vocabulary. */
const GERMAN: Record<string, number> = {
  danke: 1.9, dank: 1.9, bedanke: 1.9, super: 2.5, top: 2, toll: 2.2, klasse: 2.2, prima: 2.2, perfekt: 2.8, wunderbar: 2.8,
  einwandfrei: 2.2, gut: 1.8, bestens: 2.5, geholfen: 2, gelöst: 2, behoben: 2, freundlich: 2, zufrieden: 2, klappt: 1.5,
  hervorragend: 3, genial: 2.8, spitze: 2.5, schnelle: 0.8, schnell: 0.8, erfolgreich: 2, hilfreich: 2, freue: 2, froh: 2,
  kaputt: -2.5, defekt: -2.2, fehler: -1.5, fehlermeldung: -0.8, problem: -1, probleme: -1.2, leider: -1.5,
  verärgert: -3, ärgerlich: -2.5, ärgert: -2.5, katastrophe: -3, katastrophal: -3, schlecht: -2.5, schlechter: -2.5,
  langsam: -1.5, ausgefallen: -2, abgestürzt: -2.5, stürzt: -2, absturz: -2.5, nervig: -2.5, frustriert: -3,
  frustrierend: -3, unzumutbar: -3, inakzeptabel: -3, enttäuscht: -2.5, enttäuschend: -2.5, dringend: -0.8, schlimm: -2.5,
  unmöglich: -2, wütend: -3, sauer: -2.5, störung: -1.8, hängt: -1.5, eskalieren: -2,
  nervt: -2.5, nerven: -2, ständig: -1, abgelehnt: -1.5, gesperrt: -1.5, verloren: -2, gelöscht: -1.5, zerschossen: -2.5,
  großartig: 2.8, passt: 1.2, geklappt: 1.8, läuft: 0.5, funktioniert: 0.5,
};
const GERMAN_NEGATORS = new Set(['nicht', 'kein', 'keine', 'keinen', 'nie', 'niemals', 'nichts']);
const GERMAN_HINTS = new Set([
  'der', 'die', 'das', 'und', 'nicht', 'ist', 'ich', 'ein', 'eine', 'mit', 'für', 'wieder', 'immer', 'noch', 'bitte',
  'danke', 'aber', 'jetzt', 'geht', 'funktioniert', 'sie', 'mein', 'meine', 'schon', 'gibt', 'es', 'auf', 'auch', 'bin',
  'läuft', 'klappt', 'leider', 'vielen', 'dank', 'kann', 'alles', 'nichts', 'gar', 'mehr', 'diese', 'woche', 'anbei',
]);

/** Support-specific phrases VADER and the word list miss. Weight on VADER's raw scale. */
const PROBLEM_PHRASES: RegExp[] = [
  /\b(does ?n[o']?t|do ?n[o']?t|did ?n[o']?t|is ?n[o']?t|wo ?n[o']?t|still not|not) (work|working|start|load|open|connect|print|help)/,
  /\bdoesnt work\b/, /\bstill (not|doesn[’']?t|isn[’']?t|won[’']?t|can[’']?t|waiting|offline|broken|down|failing|crashing)\b/,
  /\b(can[’']?t|cannot|unable to) (\w+ ){0,2}(log|work|open|access|connect|print|send|login|use|see)\b/,
  /\b(crash|crashes|crashed|crashing|freezing|freezes|froze)\b/, /\bkeeps? (crashing|freezing|failing|dropping)\b/,
  /\b(broken|breaks|broke)\b/, /\b(is|are|was|been|went) (down|offline)\b/, /\boutage\b/, /\b(failed|fails)\b/,
  /\b(error|problem|issue) (appears|is back|came back|again|persists)\b/, /\b(nobody|no one)( is)? (help|answer|respond)/,
  /\b(third|fourth|fifth) time\b/, /\bevery (hour|day|time)\b/,
  /\b(unreachable|inaccessible|blocked|locked out|overheats?|overheating|deleted|disappeared|missing|lost)\b/,
  /\b(drops|dropped|dropping) (every|all|my|the)\b/, /\b(same|the) (bug|error|problem|issue) is back\b/,
  /\ba whole (day|week|month)\b/, /\b(since|for) (yesterday|days|a week|weeks|hours)\b/, /\blosing\b/, /\bescalate\b/, /\bworse\b/, /\bunacceptable\b/,
  /funktioniert (\w+ ){0,2}(nicht|gar nicht)/, /\bgeht (\w+ ){0,2}(nicht|gar nichts|nichts)\b/, /\bgeht nichts\b/,
  /\bnichts (mehr|passiert)\b/, /\bkomme? nicht\b/, /\bnicht (mehr )?arbeiten\b/, /\bschon wieder\b/, /\bimmer noch\b/,
  /\bweiterhin nicht\b/, /\bgar nicht mehr\b/, /\bnichts gebracht\b/, /\bwarte (\w+ ){0,2}seit\b/,
  /\bzum (dritten|vierten|x-ten) mal\b/, /\b(gelöscht|verloren|zerschossen|gesperrt|abgelehnt)\b/, /\bleere seiten\b/,
  /\b(ging|lief|klappte) (\w+ ){0,2}nicht\b/, /\btritt (\w+ ){0,2}auf\b/, /\bkein (internet|netz|zugriff|ton|bild)\b/, /\bab(gestürzt|stürzt)\b/,
  /\bstürzt (\w+ ){0,3}ab\b/, /\bausgefallen\b/, /\bseit tagen\b/, /\b(ist|sind) (\w+ ){0,4}weg\b/, /\b(kaputt|defekt)\b/,
];
const RESOLVED_PHRASES: RegExp[] = [
  /\b(works|working|worked) (again|now|fine|great|perfectly|like a charm)\b/, /\b(fix|fixed|solution|suggestion) (it|worked|solved)\b/,
  /\b(fixed it|solved|resolved)\b/, /\ball good\b/, /\b(running|runs) smoothly\b/, /\bclose the ticket\b/, /\bwithout any (issue|problem)/,
  /\b(funktioniert|läuft|klappt) (\w+ ){0,2}(wieder|jetzt|alles|einwandfrei|wunderbar)\b/, /\b(jetzt|wieder) (funktioniert|läuft|klappt)\b/,
  /\bläuft es\b/, /\balles bestens\b/, /\bgeschlossen werden\b/, /\b(gelöst|behoben)\b/,
];
/** Openers and closers that, next to a problem, mean the opposite of what they say. */
const SARCASM_CUES: RegExp[] = [
  /^(oh,? )?(great|wonderful|perfect|fantastic|brilliant|lovely|awesome|nice)\b[,!.]/, /^oh (great|wonderful|perfect|joy)\b/,
  /^just (perfect|great|wonderful)\b/, /^wow\b/, /\b(impressive|well done|good job)[.!]*$/,
  /^(wunderbar|großartig|fantastisch|spitze|na super)\b[,!]/, /\byeah,? right\b/, /\blove how\b/, /\b(brilliant|great|perfect)[.!]*$/,
  /^(super|toll|klasse|prima|perfekt|wunderbar)\b[,!]/, /\bna (toll|super|prima|klasse)\b/, /\btoll gemacht\b/, /\bdanke auch\b/,
  /['‘’"„“]\s*(fixed|solved|gelöst|behoben)\s*['‘’"“]/,
];
const ALWAYS_SARCASTIC: RegExp[] = [/\bthanks? (you )?for nothing\b/, /\bdank(e)? für nichts\b/, /\bna toll\b/];
const CONTRAST = /\b(but|however|though|although|unfortunately|yet|aber|jedoch|allerdings|trotzdem|doch|leider)\b/;

const ALPHA = 15;
const normalise = (raw: number) => raw / Math.sqrt(raw * raw + ALPHA);
/** VADER's compound back to its raw sum, so our phrase weights add on the same scale. */
const vaderRaw = (compound: number) => {
  const c = Math.max(-0.999, Math.min(0.999, compound));
  return c * Math.sqrt(ALPHA / (1 - c * c));
};

const tokens = (s: string) => s.match(/[\p{L}\p{N}']+/gu) ?? [];

export function detectLanguage(text: string): 'en' | 'de' {
  const words = tokens(text.toLowerCase());
  const german = words.filter((w) => GERMAN_HINTS.has(w)).length + (/[äöüß]/.test(text) ? 1 : 0);
  return german >= 2 && german >= words.length * 0.15 ? 'de' : 'en';
}

function germanRaw(clause: string): number {
  const words = tokens(clause);
  let sum = 0;
  words.forEach((w, i) => {
    const v = GERMAN[w];
    if (v === undefined) return;
    const negated = words.slice(Math.max(0, i - 3), i).some((x) => GERMAN_NEGATORS.has(x)) || GERMAN_NEGATORS.has(words[i + 1] ?? '');
    sum += negated ? v * -0.74 : v;
  });
  return sum;
}

function phraseRaw(clause: string): { raw: number; problems: number } {
  const problems = PROBLEM_PHRASES.filter((r) => r.test(clause)).length;
  const resolved = RESOLVED_PHRASES.filter((r) => r.test(clause)).length;
  return { raw: resolved * 2.2 - problems * 2.4, problems };
}

function clauseScore(clause: string, lang: 'en' | 'de'): { raw: number; problems: number } {
  const lexical = lang === 'de' ? germanRaw(clause) : vaderRaw(analyzer.polarity_scores(clause).compound);
  const phrases = phraseRaw(clause);
  return { raw: lexical + phrases.raw, problems: phrases.problems };
}

export function analyzeLexicon(text: string): SentimentResult {
  const lower = text.toLowerCase().replace(/[’]/g, "'").trim();
  const lang = detectLanguage(lower);
  if (!lower) return { label: 'neutral', score: 0, lang };

  // Contrast: split at the markers; the clause after the last marker counts three times.
  const parts = lower.split(CONTRAST).filter((p, i) => i % 2 === 0 && p.trim());
  const scored = parts.map((p) => clauseScore(p, lang));
  const weights = scored.map((_, i) => (i === scored.length - 1 && scored.length > 1 ? 3 : 1));
  let raw = scored.reduce((s, c, i) => s + c.raw * weights[i]!, 0) / weights.reduce((a, b) => a + b, 0);
  const problems = scored.reduce((s, c) => s + c.problems, 0);

  const sarcastic = ALWAYS_SARCASTIC.some((r) => r.test(lower))
    || (problems > 0 && SARCASM_CUES.some((r) => r.test(lower)));
  if (sarcastic) raw = Math.min(raw, -2.5);

  const score = Math.round(normalise(raw) * 1000) / 1000;
  const label: SentimentLabel = score >= 0.4 ? 'positive' : score <= -0.25 ? 'negative' : 'neutral';
  return { label, score, lang };
}
