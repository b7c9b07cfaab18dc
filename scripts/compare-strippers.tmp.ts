import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { visibleText, htmlToText, visibleTextFromHtml } from '../src/email/reply-text.js';
import { scoreCorpus } from '../test/email/corpus.js';
const req = createRequire('/tmp/mailtext-libs/package.json');
const planer = req('planer');
const ERP = req('email-reply-parser').default;
const { JSDOM } = req('jsdom');
const doc = new JSDOM('').window.document;
const normalise = (s: string) => s.replace(/\r\n?/g, '\n').split('\n').map((l) => l.trimEnd()).join('\n').trim();
const strippers: Record<string, { text(s: string): string; html(s: string): string }> = {
  bridge: { text: visibleText, html: visibleTextFromHtml },
  planer: { text: (s) => planer.extractFrom(s, 'text/plain'), html: (s) => htmlToText(planer.extractFrom(s, 'text/html', doc)) },
  planerThenBridge: { text: (s) => visibleText(planer.extractFrom(s, 'text/plain')), html: (s) => visibleText(htmlToText(planer.extractFrom(s, 'text/html', doc))) },
  shorter: { text: (s) => { const a = visibleText(s); const b = visibleText(planer.extractFrom(s, 'text/plain')); return b.length < a.length ? b : a; }, html: visibleTextFromHtml },
  erp: { text: (s) => new ERP().read(s).getVisibleText(), html: (s) => new ERP().read(htmlToText(s)).getVisibleText() },
};
const dir = path.resolve('test/fixtures/mail-eval/tuning');
const cases = JSON.parse(readFileSync(path.join(dir, 'cases.json'), 'utf8'));
const show = process.argv[2];
for (const [name, s] of Object.entries(strippers)) {
  let ok = 0; const misses: string[] = [];
  for (const c of cases) {
    let got = '';
    try { got = s.text(readFileSync(path.join(dir, c.file), 'utf8')); } catch (e) { got = 'ERR ' + e; }
    if (normalise(got) === normalise(c.expected)) ok++; else misses.push(c.file);
    if (show === name && normalise(got) !== normalise(c.expected)) console.log(`--- MISS ${c.file}\n${got}\n--- expected\n${c.expected}`);
  }
  const corpus = await scoreCorpus(undefined, s);
  const cok = corpus.filter((r) => r.ok).length;
  console.log(`${name}: new fixtures tuning ${ok}/${cases.length}; shared corpus ${cok}/${corpus.length}`);
  if (name !== 'bridge') {
    const bridgeMiss = new Set(misses);
    console.log('  misses:', misses.join(' '));
  }
}
