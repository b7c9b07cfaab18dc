import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freshDbName, testMongoUri } from '../support/db.js';

/* `deskbridge mail ingest`: the real command in its own process, against the test database. */

function run(args: string[], env: Record<string, string>, stdin?: string): Promise<{ code: number; lines: any[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'mail', 'ingest', ...args], {
      env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, lines: out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)), stderr: err }));
    child.stdin.end(stdin ?? '');
  });
}

test('imports files in order, prints one JSON line each, and exits non-zero when one is rejected', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-ingest-'));
  const file = (name: string, body: string) => {
    const p = path.join(dir, name);
    writeFileSync(p, body.replace(/\n/g, '\r\n'));
    return p;
  };
  const first = file('1.eml', 'From: Ann <ann@corp.example>\nTo: support@help.example\nSubject: Mouse broken\nMessage-ID: <cli-1@corp.example>\n\nThe mouse is broken.\n');
  const reply = file('2.eml', 'From: ann@corp.example\nTo: support@help.example\nSubject: Re: Mouse broken\nIn-Reply-To: <cli-1@corp.example>\nMessage-ID: <cli-2@corp.example>\n\nIt is the left button.\n\nOn Fri, Nov 27, 2026 at 9:00 AM Ann <ann@corp.example> wrote:\n> The mouse is broken.\n');
  const auto = file('3.eml', 'From: ann@corp.example\nTo: support@help.example\nSubject: Out of office\nAuto-Submitted: auto-replied\nMessage-ID: <cli-3@corp.example>\n\naway\n');
  const big = file('4.eml', `From: ann@corp.example\nTo: support@help.example\nSubject: big\nMessage-ID: <cli-4@corp.example>\n\n${'x'.repeat(5000)}\n`);
  const env = {
    MONGODB_URI: `${testMongoUri()}${freshDbName('cli')}`, DATA_DIR: dir, LOG_LEVEL: 'silent', MAIL_MAX_BYTES: '4096',
    MAIL_FROM: 'Helpdesk <support@help.example>', DESKBRIDGE_API_TOKEN: 'cli-test-token-0123456789',
  };
  const res = await run([first, reply, first, auto, big], env);
  expect(res.lines.map((l) => l.status)).toEqual(['created', 'appended', 'ignored', 'ignored', 'rejected']);
  expect(res.lines[0]).toMatchObject({ file: first, ticketNumber: 1, entryId: expect.any(String), author: { kind: 'contact', email: 'ann@corp.example' }, visibleText: 'The mouse is broken.', reason: null });
  expect(res.lines[1]).toMatchObject({ ticketNumber: 1, visibleText: 'It is the left button.' });
  expect(res.lines[2].reason).toMatch(/^duplicate/);
  expect(res.lines[3].reason).toMatch(/^auto-reply/);
  expect(res.lines[4].reason).toMatch(/too large/);
  expect(res.code).not.toBe(0);

  // Ticket notifications are recorded for `serve` to send; only the too-large notice (no ticket) goes out here.
  const { readdirSync } = await import('node:fs');
  expect(readdirSync(path.join(dir, 'outbox'))).toEqual([expect.stringMatching(/deskbridge\.vnotice\./)]);

  const piped = await run(['-'], env, 'From: ann@corp.example\r\nTo: support@help.example\r\nSubject: Keyboard\r\nMessage-ID: <cli-5@corp.example>\r\n\r\nKeys stick.\r\n');
  expect(piped.lines).toEqual([expect.objectContaining({ status: 'created', ticketNumber: 2, visibleText: 'Keys stick.' })]);
  expect(piped.code).toBe(0);
}, 60_000);
