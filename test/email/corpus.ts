import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleParser } from 'mailparser';
import { htmlToText, visibleText, visibleTextFromHtml } from '../../src/email/reply-text.js';

/** The shared development corpora (read in place, never copied into the repository). */
export function corporaDir(): string {
  const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  return path.join(process.env.DESKBRIDGE_SHARED_DIR ?? path.resolve(repoRoot, '../shared'), 'corpora', 'email');
}

export interface CaseResult { set: string; file: string; ok: boolean; got: string; expected?: string }

const noWs = (s: string) => s.replace(/\s+/g, '');

/** Runs the bridge's reply stripping over every case with an expected visible text. */
export interface Stripper { text(s: string): string; html(s: string): string }
const bridge: Stripper = { text: visibleText, html: visibleTextFromHtml };

/** Scores a stripper (the bridge's by default; others to compare libraries against it). */
export async function scoreCorpus(dir = corporaDir(), strip: Stripper = bridge): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  const read = (p: string) => readFileSync(path.join(dir, p));
  const gh = JSON.parse(read('github-email_reply_parser/expected.json').toString());
  for (const m of gh.messages) {
    if (m.kind === 'performance') {
      const started = Date.now();
      strip.text(read(`github-email_reply_parser/${m.file}`).toString());
      results.push({ set: 'github', file: m.file, ok: Date.now() - started < 1000, got: `${Date.now() - started} ms` });
      continue;
    }
    const body = read(`github-email_reply_parser/${m.file}`).toString();
    const got = strip.text(body);
    let ok = true;
    const expected = m.expected_visible_text_is_whole_body ? body.replace(/\r\n?/g, '\n').trim() : m.expected_visible_text;
    if (expected !== undefined && got.trim() !== expected.trim()) ok = false;
    for (const rx of m.visible_must_match ?? []) if (!new RegExp(rx, 'm').test(got)) ok = false;
    for (const rx of m.removed_part_must_match ?? []) if (new RegExp(rx, 'm').test(got)) ok = false;
    results.push({ set: 'github', file: m.file, ok, got, expected });
  }
  const talon = JSON.parse(read('talon/expected.json').toString());
  for (const c of talon.standard_replies) {
    const mail = await simpleParser(read(`talon/${c.file}`));
    const got = mail.text ? strip.text(mail.text) : strip.html(String(mail.html || ''));
    // Talon keeps signatures; the bridge strips them, so every standard reply's new text is "Hello".
    results.push({ set: 'talon-standard', file: c.file, ok: got.trim() === 'Hello', got, expected: 'Hello' });
  }
  for (const c of talon.text_cases) {
    // Runs with talon's line limit patched down to 1: not a property of real mail.
    if (/patch\.object/.test(c.note ?? '')) continue;
    const got = strip.text(read(`talon/${c.file}`).toString());
    // Talon keeps signatures; the bridge drops a one-line sign-off set apart by a blank line.
    const withoutSignOff = String(c.expected_reply_text).replace(/\n\n+Regards, Roman\s*$/, '');
    const ok = got.trim() === c.expected_reply_text.trim() || got.trim() === withoutSignOff.trim();
    results.push({ set: 'talon-text', file: c.file, ok, got, expected: c.expected_reply_text });
  }
  for (const c of talon.html_replies) {
    if (c.assertions) {
      // A whole .eml: parsed first, as the bridge always does (talon fed the raw file to its text stripper).
      const mail = await simpleParser(read(`talon/${c.file}`));
      const got = mail.text ? strip.text(mail.text) : strip.html(String(mail.html || ''));
      results.push({ set: 'talon-html', file: c.file, ok: got.trim() !== '' && !got.includes('From'), got });
      continue;
    }
    const got = strip.html(read(`talon/${c.file}`).toString());
    // Talon keeps signatures; the bridge drops the sign-off block ("Thanks,\nAlex") from the visible text.
    const expected = String(c.expected_reply_text).replace(/\n\s*Thanks,\s*\n\s*Alex\s*$/, '');
    results.push({ set: 'talon-html', file: c.file, ok: noWs(got) === noWs(expected), got, expected });
  }
  for (const c of talon.html_cases) {
    const html = read(`talon/${c.file}`).toString();
    const wholeBody = /RE_WHITESPACE\.sub\('', msg_body\)/.test(c.assertion ?? '');
    // Cases comparing against a value the transcription does not carry are left out.
    if (c.expected === undefined && !wholeBody) continue;
    const got = strip.html(html);
    const expected = wholeBody ? htmlToText(html) : htmlToText(c.expected);
    results.push({ set: 'talon-html-cases', file: c.file, ok: noWs(got) === noWs(expected), got, expected });
  }
  return results;
}

export const corpusPresent = () => existsSync(path.join(corporaDir(), 'talon', 'expected.json'));
