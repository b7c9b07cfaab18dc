import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/*
 * ARCHITECTURE.md's import rules that a move can silently break: domain/ imports nothing of ours
 * outside itself, and ai/ never reaches into an adapter (it used to import the email bridge's
 * visibleText; the pure text rules now live in domain/reply-text.ts).
 */
const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');
const importsOf = (dir: string) => readdirSync(path.join(src, dir)).filter((f) => f.endsWith('.ts')).flatMap((f) => {
  const text = readFileSync(path.join(src, dir, f), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+['"]([^'"]+)['"]/gm)].map((m) => ({ file: `${dir}/${f}`, target: m[1]! }));
});

test('domain/ imports only itself and libraries (no email, store or other adapter code)', () => {
  const ours = importsOf('domain').filter((i) => i.target.startsWith('.') && !i.target.startsWith('./'));
  expect(ours).toEqual([]);
});

test('ai/ does not import the email bridge', () => {
  expect(importsOf('ai').filter((i) => /(^|\/)email\//.test(i.target))).toEqual([]);
});

test('ai/ imports only domain/ and itself, apart from module.ts, the glue that wires it into the app', () => {
  const outside = importsOf('ai').filter((i) => i.file !== 'ai/module.ts' && i.target.startsWith('.') && !i.target.startsWith('./') && !i.target.startsWith('../domain/'));
  expect(outside).toEqual([]);
});

test('the email bridge and the sentiment share one visibleText (from domain/)', async () => {
  const bridge = await import('../../src/email/reply-text.js');
  const domain = await import('../../src/domain/reply-text.js');
  expect(bridge.visibleText).toBe(domain.visibleText);
  expect(readFileSync(path.join(src, 'ai/end-user-text.ts'), 'utf8')).toMatch(/from '\.\.\/domain\/reply-text\.js'/);
});
