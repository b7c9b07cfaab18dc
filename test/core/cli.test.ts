import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../../src/store/embedded.js';

/** The quick start as a user runs it: the real CLI, the embedded database, real HTTP. */
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const cli = (args: string[], env: Record<string, string>) =>
  spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli.ts'), ...args], {
    cwd: root, env: { ...process.env, MONGODB_URI: '', LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill('SIGINT');
  });
}

let dataDir: string;
beforeAll(() => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-cli-'));
  chmodSync(dataDir, 0o711); // as root the embedded PostgreSQL runs as postgres and must pass through
});
afterAll(() => { rmSync(dataDir, { recursive: true, force: true }); });

test('`deskbridge db` prints MONGODB_URI first and stops cleanly on Ctrl-C', async () => {
  if (process.env.MONGODB_URI) return; // the embedded database is not used with MONGODB_URI
  const child = cli(['db'], { DATA_DIR: path.join(dataDir, 'db-only') });
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`exited ${code}`)));
  });
  expect(first).toMatch(/^MONGODB_URI=mongodb:\/\/127\.0\.0\.1:\d+\/deskbridge$/);
  expect(await stop(child)).toBe(0);
}, 60_000);

test('`deskbridge serve` on the embedded database answers /healthz and the API, and `people add` registers a technician', async () => {
  const port = await freePort();
  const env = { DATA_DIR: path.join(dataDir, 'serve'), PORT: String(port), HOST: '127.0.0.1', INBOUND_SMTP_PORT: '0', DESKBRIDGE_API_TOKEN: 'cli-test-token-0123456789', ...(process.env.DESKBRIDGE_TEST_MONGODB_URI && process.env.MONGODB_URI ? { MONGODB_URI: process.env.MONGODB_URI } : {}) };
  const add = cli(['people', 'add', '--technician', 'ops@it.example', '--name', 'Ops'], env);
  let out = '';
  let addErr = '';
  add.stdout!.on('data', (d) => (out += d));
  add.stderr!.on('data', (d) => (addErr += d));
  const addCode = await new Promise((r) => add.once('exit', r));
  expect({ addCode, addErr }).toEqual({ addCode: 0, addErr: '' });
  expect(out).toMatch(/added ops@it.example \(technician\)/);

  const child = cli(['serve'], env);
  let serveErr = '';
  child.stderr!.on('data', (d) => (serveErr += d));
  try {
    const deadline = Date.now() + 45_000;
    let status = 0;
    while (Date.now() < deadline) {
      status = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 0);
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect({ status, serveErr }).toEqual({ status: 200, serveErr: expect.any(String) });
    const people = await fetch(`http://127.0.0.1:${port}/api/v1/people?role=technician`, { headers: { authorization: 'Bearer cli-test-token-0123456789' } });
    expect((await people.json()).items.map((p: { email: string }) => p.email)).toEqual(['ops@it.example']);
  } finally {
    const code = await stop(child);
    expect({ code, serveErr: code === 0 ? '' : serveErr }).toEqual({ code: 0, serveErr: '' });
  }
}, 90_000);
