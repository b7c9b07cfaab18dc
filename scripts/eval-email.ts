/*
 * Measures reply stripping: exact-new-text rate per part (tuning / held-out), per source and per
 * language, plus human-vs-automatic on the shared .eml corpora. Held-out failures are only
 * counted, never printed, unless --show-heldout is given (do not use it while writing rules).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleParser } from 'mailparser';
import { classifyAutomatic } from '../src/email/classify.js';
import { htmlToText, visibleText, visibleTextFromHtml } from '../src/email/reply-text.js';
import { EarlierMessages, visibleTextWithThread } from '../src/email/thread-match.js';
import { corporaDir, corpusPresent, scoreCorpus } from '../test/email/corpus.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const evalDir = path.join(root, 'test/fixtures/mail-eval');
const showHeldout = process.argv.includes('--show-heldout');
const quiet = process.argv.includes('--quiet');
/** `--tuning-only` while writing rules: the held-out part is not even scored. */
const tuningOnly = process.argv.includes('--tuning-only');
/**
 * `--batch <dir>` scores one blind batch alone (test/fixtures/mail-eval/<dir>): a batch is annotated
 * and committed before it is scored, and its first score is the honest figure (see SOURCES.md).
 */
const batchIdx = process.argv.indexOf('--batch');
const batch = batchIdx > 0 ? process.argv[batchIdx + 1] : undefined;
/** `--hide <dir>` leaves a sealed batch out of the full run (a batch waiting for its one blind scoring). */
const hidden = new Set(process.argv.flatMap((a, i) => (process.argv[i - 1] === '--hide' ? [a] : [])));

/** `threadOk`: when the case knows its thread, whether the text rules alone (without it) were right too. */
interface Row { part: string; source: string; lang: string; file: string; ok: boolean; got: string; expected: string; threadOk?: boolean }
const withoutBlankLines = (s: string) => normalise(s).split('\n').filter((l) => l.trim()).join('\n');
const normalise = (s: string) => s.replace(/\r\n?/g, '\n').split('\n').map((l) => l.trimEnd()).join('\n').trim();

/** The blind batches (blind1, blind2, …): scored once blind when added; their later scores are development figures. */
const blindBatches = () => readdirSync(evalDir).filter((d) => /^blind\d+$/.test(d) && !hidden.has(d)).sort();

export async function evaluate(parts = batch ? [batch] : tuningOnly ? ['tuning'] : ['tuning', 'heldout']): Promise<Row[]> {
  const rows: Row[] = [];
  for (const part of parts) {
    // `thread`: the ticket's earlier messages where the case shows them (the help desk's mail the reply
    // quotes, the end user's earlier mail), as the bridge has them: the stripper gets them as it does in
    // production (src/email/inbound.ts), and the rules alone are scored too.
    const cases = JSON.parse(readFileSync(path.join(evalDir, part, 'cases.json'), 'utf8')) as { file: string; source: string; lang: string; expected: string; thread?: string[] }[];
    for (const c of cases) {
      const body = readFileSync(path.join(evalDir, part, c.file), 'utf8');
      const html = c.file.endsWith('.html');
      // HTML-only mail: where blank lines fall is the converter's choice, so HTML cases compare without them.
      const same = (got: string) => (html ? withoutBlankLines(got) === withoutBlankLines(c.expected) : normalise(got) === normalise(c.expected));
      const rules = html ? visibleTextFromHtml(body) : visibleText(body);
      const got = c.thread?.length ? visibleTextWithThread(html ? htmlToText(body) : body, rules, new EarlierMessages(c.thread)) : rules;
      rows.push({ part, source: c.source, lang: c.lang, file: c.file, ok: same(got), got, expected: c.expected, ...(c.thread?.length ? { threadOk: same(rules) } : {}) });
    }
  }
  if (corpusPresent() && !batch && parts.includes('tuning')) {
    for (const r of await scoreCorpus()) {
      rows.push({ part: 'tuning', source: `shared/${r.set}`, lang: 'en+', file: r.file, ok: r.ok, got: r.got, expected: r.expected ?? '' });
    }
  }
  return rows;
}

/** Human mail taken for automatic (and the reverse) on the shared .eml files that are replies by people. */
async function humanVsAutomatic(): Promise<{ human: number; takenForAutomatic: string[] }> {
  const dir = path.join(corporaDir(), 'talon', 'standard_replies');
  const files = readdirSync(dir).filter((f) => f.endsWith('.eml'));
  const takenForAutomatic: string[] = [];
  for (const f of files) {
    const mail = await simpleParser(readFileSync(path.join(dir, f)));
    const lines = mail.headerLines ?? [];
    const all = (name: string) => lines.filter((l) => l.key === name).map((l) => l.line.slice(l.line.indexOf(':') + 1).trim());
    const verdict = classifyAutomatic({
      headers: { all, get: (n) => all(n)[0] }, from: mail.from?.value[0]?.address ?? null, subject: mail.subject ?? '',
      contentType: all('content-type')[0] ?? '', messageId: mail.messageId ?? null, loopMarker: 'eval', isOurMessageId: () => false,
    });
    if (verdict) takenForAutomatic.push(f);
  }
  return { human: files.length, takenForAutomatic };
}

/** The cases that know their thread: rules alone vs. rules + the thread match. */
function threadLine(rows: Row[]): string[] {
  const t = rows.filter((r) => r.threadOk !== undefined);
  if (!t.length) return [];
  return [`thread known (${t.length} cases): rules alone ${pct(t.filter((r) => r.threadOk).length, t.length)}, with the thread ${pct(t.filter((r) => r.ok).length, t.length)}`];
}

const pct = (ok: number, all: number) => `${ok}/${all} (${all ? ((ok / all) * 100).toFixed(1) : '-'} %)`;

function table(rows: Row[], key: (r: Row) => string, title: string): string[] {
  const groups = new Map<string, { ok: number; all: number }>();
  for (const r of rows) {
    const k = key(r);
    const g = groups.get(k) ?? { ok: 0, all: 0 };
    g.all++;
    if (r.ok) g.ok++;
    groups.set(k, g);
  }
  return [`| ${title} | tuning | held-out |`, '|---|---|---|', ...[...new Set([...groups.keys()].map((k) => k.split('\t')[1]!))].sort().map((name) => {
    const t = groups.get(`tuning\t${name}`);
    const h = groups.get(`heldout\t${name}`);
    return `| ${name} | ${t ? pct(t.ok, t.all) : '–'} | ${h ? pct(h.ok, h.all) : '–'} |`;
  })];
}

async function main(): Promise<void> {
  const rows = await evaluate();
  if (batch) {
    const out = [`${batch}: exact new text ${pct(rows.filter((x) => x.ok).length, rows.length)}`, ...threadLine(rows), '',
      ...table(rows.map((r) => ({ ...r, part: 'tuning' })), (r) => `${r.part}\t${r.source}`, 'source'), '',
      ...table(rows.map((r) => ({ ...r, part: 'tuning' })), (r) => `${r.part}\t${r.lang}`, 'language')];
    if (!quiet) for (const r of rows.filter((x) => !x.ok)) out.push('', `MISS ${r.part} ${r.source} ${r.file}`, '--- got', r.got, '--- expected', r.expected);
    console.log(out.join('\n'));
    return;
  }
  const out: string[] = [];
  for (const part of ['tuning', 'heldout']) {
    const r = rows.filter((x) => x.part === part);
    out.push(`${part}: exact new text ${pct(r.filter((x) => x.ok).length, r.length)}`);
  }
  out.push(...threadLine(rows));
  const own = rows.filter((r) => !r.source.startsWith('shared/'));
  out.push(`new fixtures only — tuning ${pct(own.filter((r) => r.part === 'tuning' && r.ok).length, own.filter((r) => r.part === 'tuning').length)}, held-out ${pct(own.filter((r) => r.part === 'heldout' && r.ok).length, own.filter((r) => r.part === 'heldout').length)}`);
  out.push('', ...table(rows, (r) => `${r.part}\t${r.source}`, 'source'), '', ...table(rows, (r) => `${r.part}\t${r.lang}`, 'language'));
  if (corpusPresent()) {
    const h = await humanVsAutomatic();
    out.push('', `human-vs-automatic: ${h.human - h.takenForAutomatic.length}/${h.human} human replies (talon standard_replies .eml) taken for human; taken for automatic: ${h.takenForAutomatic.join(', ') || 'none'}`);
  }
  // The batches' first (blind) scores are recorded in SOURCES.md; this is where they stand now.
  for (const b of blindBatches()) {
    const r = await evaluate([b]);
    const t = r.filter((x) => x.threadOk !== undefined);
    out.push(`${b} (first score blind, see SOURCES.md; now): ${pct(r.filter((x) => x.ok).length, r.length)}${t.length ? ` (of which ${t.length} with their thread known: rules alone ${t.filter((x) => x.threadOk).length}, with the thread ${t.filter((x) => x.ok).length})` : ''}`);
  }
  if (!quiet) {
    for (const r of rows.filter((x) => !x.ok && (x.part === 'tuning' || showHeldout))) {
      out.push('', `MISS ${r.part} ${r.source} ${r.file}`, '--- got', r.got, '--- expected', r.expected);
    }
  }
  console.log(out.join('\n'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
