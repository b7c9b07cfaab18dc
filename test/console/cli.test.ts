import { spawn } from 'node:child_process';
import path from 'node:path';
import { freshDbName, testMongoUri } from '../support/db.js';
import { startConsoleApp } from './support.js';

/** `deskbridge people add --technician EMAIL --admin`: the offline way to the first admin (the real CLI). */
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

function cli(args: string[], mongoUri: string): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/cli.ts'), ...args], {
    cwd: root, env: { ...process.env, MONGODB_URI: mongoUri, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
}

test('people add --technician --admin creates an admin; the next start prints no setup link', async () => {
  const dbName = freshDbName('console_cli');
  const uri = new URL(testMongoUri());
  uri.pathname = `/${dbName}`;
  const bad = await cli(['people', 'add', '--contact', 'x@corp.example', '--admin'], uri.href);
  expect(bad.code).toBe(1);
  expect(bad.err).toContain('--admin goes with --technician');
  const r = await cli(['people', 'add', '--technician', 'Boss@IT.example', '--name', 'Boss', '--admin'], uri.href);
  expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: '' });
  expect(r.out).toMatch(/added boss@it\.example \(technician, admin\)/);

  const t = await startConsoleApp({ dbName });
  try {
    const boss = await t.app.ctx.service.people.findByEmail('boss@it.example');
    expect(boss!.roles.sort()).toEqual(['admin', 'technician']);
    expect(t.logs.some((l) => 'setupUrl' in l)).toBe(false);
  } finally {
    await t.close();
  }
}, 60_000);
