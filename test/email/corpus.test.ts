import { corporaDir, corpusPresent, scoreCorpus } from './corpus.js';

/*
 * The development corpora in ../shared/corpora/email (real replies from many clients, with the
 * visible text their upstream projects expect). Read in place; skipped visibly when absent.
 */
const present = corpusPresent();
if (!present) console.warn(`email corpus not found at ${corporaDir()}: set DESKBRIDGE_SHARED_DIR; corpus test skipped`);

(present ? test : test.skip)(`reply stripping on the shared corpora${present ? '' : ' (SKIPPED: ../shared/corpora/email absent)'}`, async () => {
  const results = await scoreCorpus();
  const bySet = new Map<string, { ok: number; all: number }>();
  for (const r of results) {
    const s = bySet.get(r.set) ?? { ok: 0, all: 0 };
    s.all++;
    if (r.ok) s.ok++;
    bySet.set(r.set, s);
  }
  const ok = results.filter((r) => r.ok).length;
  const share = ok / results.length;
  const lines = [...bySet].map(([k, s]) => `  ${k}: ${s.ok}/${s.all}`);
  const misses = results.filter((r) => !r.ok).map((r) => `  miss ${r.set} ${r.file}`);
  console.log(`email corpus: ${ok}/${results.length} right (${(share * 100).toFixed(1)}%)\n${lines.join('\n')}\n${misses.join('\n')}`);
  // A floor, so a regression in the rules shows up here.
  expect(share).toBeGreaterThanOrEqual(0.9);
});
