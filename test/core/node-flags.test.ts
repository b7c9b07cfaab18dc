import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { SERVICE_NODE_FLAGS } from '../../bench/lib/service-process.js';

/*
 * The service runs with a small young generation (--max-semi-space-size=4; issue 16, RSS row:
 * V8's default lets the young space grow to 2 × 16 MB, all of it resident once mail has streamed
 * through). Every way the service is started carries the flag, and the flag does what it says.
 */

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const read = (f: string) => readFileSync(path.join(root, f), 'utf8');

test('bin/deskbridge.js, the Dockerfile, npm start and the benchmark\'s service all start node with the same flags', () => {
  expect(SERVICE_NODE_FLAGS).toContain('--max-semi-space-size=4');
  const shebang = read('bin/deskbridge.js').split('\n')[0]!;
  expect(shebang).toBe(`#!/usr/bin/env -S node ${SERVICE_NODE_FLAGS.join(' ')}`);
  const cmd = /^CMD (\[.*\])$/m.exec(read('Dockerfile'))![1]!;
  expect(JSON.parse(cmd)).toEqual(['node', ...SERVICE_NODE_FLAGS, 'dist/cli.js', 'serve']);
  const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start!;
  expect(start).toContain(`node ${SERVICE_NODE_FLAGS.join(' ')} bin/deskbridge.js serve`);
});

test('a node started as bin/deskbridge.js\'s first line says keeps its young generation at 2 × 4 MB under allocation churn', () => {
  // Run exactly the interpreter line of the installed command (env -S splits it as the kernel would hand it over).
  const interpreter = read('bin/deskbridge.js').split('\n')[0]!.slice(2).trim().split(/\s+/);
  const script = `
    let keep = [];
    for (let i = 0; i < 2e6; i++) { keep.push({ a: i, b: 'x' + i }); if (keep.length > 100000) keep = []; }
    const ns = require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    process.stdout.write(String(ns.space_size));`;
  const newSpace = Number(execFileSync(interpreter[0]!, [...interpreter.slice(1), '-e', script], { encoding: 'utf8' }));
  expect(newSpace).toBeGreaterThan(0);
  expect(newSpace).toBeLessThanOrEqual(8 * 2 ** 20);
});
