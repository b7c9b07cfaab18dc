import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import nodemailer from 'nodemailer';
import { createLogger } from '../../src/logger.js';
import { parseMessage } from '../../src/email/parse.js';
import { parseWorkerSource } from '../../src/email/parse-worker-script.js';

/*
 * From TypeScript sources the parse worker runs a JavaScript bundle made once with esbuild in the
 * cache folder (a worker loading TypeScript through tsx costs ~60 MB more); built code runs
 * dist/email/parse-worker.js; tsx is only the fallback when the bundle cannot be made.
 */

const sourceUrl = new URL('../../src/email/message-parser.ts', import.meta.url).href;
let cacheDir: string;
const warnings: unknown[] = [];
const logger = createLogger('silent');
logger.warn = ((obj: unknown) => { warnings.push(obj); }) as typeof logger.warn;

beforeAll(() => { cacheDir = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-cache-test-')); });
afterAll(() => { rmSync(cacheDir, { recursive: true, force: true }); });

async function rawMail(): Promise<Buffer> {
  const built = await nodemailer.createTransport({ streamTransport: true, buffer: true }).sendMail({
    from: 'kim@corp.example', to: 'support@help.example', subject: 'Bundle', messageId: '<bundle-1@corp.example>',
    text: 'Hello from the bundle.\n\nOn Mon, Jan 5, 2026 Helpdesk wrote:\n> old text',
    attachments: [{ filename: 'a.bin', content: Buffer.alloc(70_000, 7) }],
  });
  return built.message as Buffer;
}

test('from sources: the worker is bundled into one JavaScript file in the cache folder and parses like the inline parser', async () => {
  const src = await parseWorkerSource(logger, sourceUrl, cacheDir);
  expect(src.kind).toBe('bundled');
  if (src.kind === 'tsx') throw new Error('unreachable');
  const file = fileURLToPath(src.file);
  expect(path.dirname(file)).toBe(path.join(cacheDir, 'parse-worker'));
  expect(file).toMatch(/parse-worker-[0-9a-f]{16}\.cjs$/);
  // Self-contained: nothing is loaded through a TypeScript loader.
  expect(readFileSync(file, 'utf8')).not.toMatch(/from ['"]tsx|require\(["']tsx/);

  // The same content is not written again: a second start reuses the file (and marks it used).
  const content = readFileSync(file);
  const inode = statSync(file).ino;
  const old = new Date(Date.now() - 30 * 24 * 3600_000);
  utimesSync(file, old, old);
  // Bundles of other sources: one no process started from for 30 days, one from yesterday.
  const stale = path.join(cacheDir, 'parse-worker', 'parse-worker-00000000000000aa.cjs');
  const recent = path.join(cacheDir, 'parse-worker', 'parse-worker-00000000000000bb.cjs');
  writeFileSync(stale, '/* old */');
  writeFileSync(recent, '/* recent */');
  utimesSync(stale, old, old);
  const yesterday = new Date(Date.now() - 24 * 3600_000);
  utimesSync(recent, yesterday, yesterday);
  const again = await parseWorkerSource(logger, sourceUrl, cacheDir);
  expect(again).toEqual(src);
  expect(statSync(file).ino).toBe(inode);
  expect(readFileSync(file).equals(content)).toBe(true);
  expect(statSync(file).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
  expect(readdirSync(path.join(cacheDir, 'parse-worker')).sort()).toEqual([path.basename(recent), path.basename(file)].sort());

  const raw = await rawMail();
  const work = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-bundle-work-'));
  const worker = new Worker(src.file);
  try {
    const eml = path.join(work, 'message.eml');
    writeFileSync(eml, raw);
    const answer = await new Promise<{ parsed?: Record<string, unknown>; error?: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
      worker.postMessage({ file: eml, outDir: work });
    });
    expect(answer.error).toBeUndefined();
    const inline = await parseMessage(raw);
    const parsed = answer.parsed as unknown as typeof inline;
    expect(parsed.visibleText).toBe('Hello from the bundle.');
    expect(parsed.visibleText).toBe(inline.visibleText);
    expect(parsed.messageId).toBe(inline.messageId);
    expect(parsed.attachments).toHaveLength(1);
    expect(parsed.attachments[0]).toMatchObject({ filename: 'a.bin', size: 70_000, content: null });
    expect(readFileSync(parsed.attachments[0]!.path!).equals(Buffer.alloc(70_000, 7))).toBe(true);
  } finally {
    await worker.terminate();
    rmSync(work, { recursive: true, force: true });
  }
}, 60_000);

test('built code runs the compiled worker next to it, nothing is bundled', async () => {
  const builtUrl = 'file:///app/dist/email/message-parser.js';
  const src = await parseWorkerSource(logger, builtUrl, path.join(cacheDir, 'unused'));
  expect(src).toEqual({ kind: 'built', file: new URL('file:///app/dist/email/parse-worker.js') });
  expect(() => statSync(path.join(cacheDir, 'unused'))).toThrow();
});

test('when the bundle cannot be made, the worker falls back to tsx and says so', async () => {
  warnings.length = 0;
  // A source folder without the worker file: esbuild fails.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-nosrc-'));
  try {
    const src = await parseWorkerSource(logger, new URL(`file://${dir}/message-parser.ts`).href, cacheDir);
    expect(src.kind).toBe('tsx');
    if (src.kind !== 'tsx') throw new Error('unreachable');
    expect(src.evalSource).toContain('tsImport');
    expect(warnings).toHaveLength(1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
