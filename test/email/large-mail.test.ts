import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import nodemailer from 'nodemailer';
import { buildMail } from '../../bench/lib/mail.js';
import { emailBridgeOf } from '../../src/email/module.js';
import { startMailApp, type MailTestApp } from './support.js';

/*
 * Large inbound mail is spooled to a file as it arrives and parsed on the worker pool, never held
 * whole on the main thread; beyond the large-mail capacity SMTP answers 451 and the sender's retry
 * lands exactly once; a message that cannot be parsed leaves nothing behind.
 */

const SPILL = 200_000;
let t: MailTestApp;
let spoolDir: string;

beforeAll(async () => {
  spoolDir = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-spool-test-'));
  t = await startMailApp({ MAIL_PARSE_WORKER_BYTES: String(SPILL), MAIL_PARSE_WORKERS: '2', MAIL_LARGE_IN_FLIGHT: '8', MAIL_SPOOL_DIR: spoolDir });
});
afterAll(async () => { await t.close(); });

const spooled = () => readdirSync(spoolDir).filter((n) => n.startsWith('in-'));
// A full collection on demand (the flag set at run time, as jest is not started with --expose-gc).
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const mainThreadBytes = () => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };

async function sendRaw(raw: Buffer, from = 'sender@customer.example'): Promise<{ response: string }> {
  const tr = nodemailer.createTransport({ host: '127.0.0.1', port: t.inboundPort, secure: false, ignoreTLS: true });
  try {
    return await tr.sendMail({ envelope: { from, to: ['support@help.example'] }, raw });
  } finally {
    tr.close();
  }
}

/**
 * Sends files over SMTP from a separate process, one connection each, all at once: the sender's
 * own buffers are not in this process, so what this process holds is the receiving side only.
 */
function sendFromOtherProcess(files: string[]): Promise<string[]> {
  const script = `
    import nodemailer from 'nodemailer';
    const files = JSON.parse(process.argv[1]);
    const answers = await Promise.all(files.map(async (file) => {
      const tr = nodemailer.createTransport({ host: '127.0.0.1', port: ${t.inboundPort}, secure: false, ignoreTLS: true });
      try { return (await tr.sendMail({ envelope: { from: 'sender@customer.example', to: ['support@help.example'] }, raw: { path: file } })).response; }
      catch (err) { return 'failed: ' + err.message; }
      finally { tr.close(); }
    }));
    process.stdout.write(JSON.stringify(answers));`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(files)], { cwd: process.cwd(), maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout) as string[]);
    });
  });
}

/** EHLO and MAIL FROM with SIZE= over a plain socket; answers the reply to MAIL FROM. */
async function mailFromWithSize(size: number): Promise<string> {
  const socket = net.connect(t.inboundPort, '127.0.0.1');
  let buffer = '';
  const next = () => new Promise<string>((resolve) => {
    const check = () => {
      const m = /(^|\r\n)(\d{3}) [^\r\n]*\r\n/.exec(buffer);
      if (!m) return void socket.once('data', (d) => { buffer += d; check(); });
      const end = m.index + m[0].length;
      const reply = buffer.slice(0, end).trim().split('\r\n').at(-1)!;
      buffer = buffer.slice(end);
      resolve(reply);
    };
    check();
  });
  try {
    await next();
    socket.write('EHLO sender.example\r\n');
    await next();
    socket.write(`MAIL FROM:<sender@customer.example> SIZE=${size}\r\n`);
    return await next();
  } finally {
    socket.end('QUIT\r\n');
  }
}

test('six 5 MB mails at once: each spooled to a file and parsed on a worker, main-thread memory stays bounded, files removed after', async () => {
  const { parser, blobs } = emailBridgeOf(t.app.ctx);
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-large-out-'));
  const markers: string[] = [];
  const files: string[] = [];
  for (let i = 0; i < 6; i++) {
    const m = await buildMail('large', i, 'spool');
    markers.push(m.marker);
    files.push(path.join(outDir, `${i}.eml`));
    writeFileSync(files[i]!, m.raw);
  }
  const size = statSync(files[0]!).size;
  const before = { ...parser.stats };
  await new Promise((r) => setTimeout(r, 50));
  collectGarbage();
  collectGarbage();
  const baseline = mainThreadBytes();
  let peak = 0;
  let sawSpoolFile = false;
  // Live memory once at least four are spooled at the same time (one full collection first: it is
  // slow on jest's heap, so once; garbage waiting for the collector is not held).
  let inFlightAtSample = 0;
  const sampler = setInterval(() => {
    const spooledNow = spooled().filter((d) => existsSync(path.join(spoolDir, d, 'message.eml'))).length;
    if (spooledNow > 0) sawSpoolFile = true;
    if (spooledNow >= 4 && !inFlightAtSample) {
      collectGarbage();
      inFlightAtSample = spooledNow;
      peak = mainThreadBytes() - baseline;
    }
  }, 5);
  let answers: string[];
  try {
    answers = await sendFromOtherProcess(files);
  } finally {
    clearInterval(sampler);
    rmSync(outDir, { recursive: true, force: true });
  }
  for (const a of answers) expect(a).toMatch(/^250 .*created #\d+/);
  // Structural: every one went through the spool file and a worker; nothing large was parsed inline.
  expect(sawSpoolFile).toBe(true);
  expect(parser.stats.onWorker - before.onWorker).toBe(6);
  expect(parser.stats.largestInlineBytes).toBeLessThan(SPILL);
  // From sources the workers run the esbuild bundle, not TypeScript through tsx (~60 MB more each).
  expect(parser.workerKind).toBe('bundled');
  // Held whole, the six raw messages alone would be 6 × 7 MB (and the old path copied each 3 times).
  console.log(`main-thread live heap + buffers growth with ${inFlightAtSample} of 6 × ${(size / 2 ** 20).toFixed(1)} MB spooled at once: ${(peak / 2 ** 20).toFixed(1)} MB`);
  expect(inFlightAtSample).toBeGreaterThanOrEqual(4);
  expect(peak).toBeLessThan(2 * size);
  expect(spooled()).toEqual([]);
  // The attachment arrived intact, streamed from the worker's file into GridFS.
  const number = Number(/#(\d+)/.exec(answers[0]!)![1]);
  const entry = (await t.api('GET', `/tickets/${number}`)).body.entries[0];
  expect(markers.some((m) => entry.text.includes(m))).toBe(true);
  expect(entry.attachments[0]).toMatchObject({ filename: 'log.bin', size: 5 * 1024 * 1024 });
  const stored = await blobs.get(entry.attachments[0].id);
  expect(stored.length).toBe(5 * 1024 * 1024);
}, 120_000);

test('a large message is stored by the parse worker: the main thread never handles its raw bytes or its attachment', async () => {
  const { parser, blobs } = emailBridgeOf(t.app.ctx);
  const content = randomBytes(3_000_000);
  const id = 'worker-store-1@corp.example';
  const raw = (await nodemailer.createTransport({ streamTransport: true, buffer: true }).sendMail({
    from: 'kim@corp.example', to: 'support@help.example', subject: 'Trace attached', messageId: `<${id}>`,
    text: 'The trace is attached.', attachments: [{ filename: 'trace.bin', content }],
  })).message as Buffer;
  // The main thread's way to GridFS (its own connection), watched, not replaced: nothing of a
  // large message may go that way (neither streamed from the spool nor read whole and put).
  const onMain = [jest.spyOn(blobs, 'putFile'), jest.spyOn(blobs, 'put')];
  try {
    expect(parser.storesOnWorkers).toBe(true);
    expect((await sendRaw(raw)).response).toMatch(/created #\d+/);
    for (const spy of onMain) expect(spy).not.toHaveBeenCalled();
  } finally {
    for (const spy of onMain) spy.mockRestore();
  }
  // What the worker stored is what was sent: the attachment decoded, the raw message byte for byte.
  const entry = await t.app.ctx.db.connection.collection('entries').findOne({ messageId: id });
  expect(entry).not.toBeNull();
  const refs = entry!.attachments as { id: string; filename: string; size: number }[];
  expect(refs).toHaveLength(1);
  expect(refs[0]).toMatchObject({ filename: 'trace.bin', size: content.length });
  expect((await blobs.get(refs[0]!.id)).equals(content)).toBe(true);
  const rawId = (entry!.external as { email: { rawId: string } }).email.rawId;
  expect((await blobs.get(rawId)).equals(raw)).toBe(true);
  expect(spooled()).toEqual([]);
}, 60_000);

test('a parse worker that dies while storing a large message: 451, nothing half-written; the retry lands once', async () => {
  const { parser } = emailBridgeOf(t.app.ctx);
  const view = parser as unknown as { pool: { worker: import('node:worker_threads').Worker; stores: Map<number, unknown> }[] };
  const mail = await buildMail('large', 8, 'store-crash');
  const id = mail.messageId.slice(1, -1);
  let stop = false;
  const killer = (async () => {
    while (!stop) {
      const storing = view.pool.find((w) => w.stores.size > 0);
      if (storing) { await storing.worker.terminate(); return; }
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  let refused: (Error & { responseCode?: number }) | null = null;
  try {
    await sendRaw(mail.raw);
  } catch (err) {
    refused = err as Error & { responseCode?: number };
  } finally {
    stop = true;
    await killer;
  }
  expect(refused?.responseCode).toBe(451);
  const entries = () => t.app.ctx.db.connection.collection('entries').countDocuments({ messageId: id });
  expect(await entries()).toBe(0);
  expect(await emailBridgeOf(t.app.ctx).models.Inbound.countDocuments({ _id: id })).toBe(0);
  expect(spooled()).toEqual([]);
  // The sender's retry is stored once (a new worker is started), a replay is a duplicate.
  expect((await sendRaw(mail.raw)).response).toMatch(/created #\d+/);
  expect((await sendRaw(mail.raw)).response).toMatch(/ignored/);
  expect(await entries()).toBe(1);
}, 60_000);

test('large-mail capacity full: 451 4.3.2, nothing stored; the retry lands once, a replay is a duplicate', async () => {
  const { largeInFlight, models } = emailBridgeOf(t.app.ctx);
  const mail = await buildMail('large', 99, 'busy');
  const ticketsBefore = (await t.api('GET', '/tickets?limit=100')).body;
  // Take every place, as six other large messages in progress would.
  const held = Array.from({ length: largeInFlight.limit }, () => largeInFlight.take()!);
  expect(largeInFlight.full).toBe(true);
  let refused: (Error & { responseCode?: number; response?: string }) | null = null;
  let announced: string;
  try {
    // A sender that announces the size (SIZE=) is refused before it transfers anything.
    announced = await mailFromWithSize(mail.raw.length);
    await sendRaw(mail.raw);
  } catch (err) {
    refused = err as Error & { responseCode?: number };
  } finally {
    for (const release of held) release();
  }
  expect(announced!).toMatch(/^451 4\.3\.2/);
  expect(refused?.responseCode).toBe(451);
  expect(refused?.response).toMatch(/4\.3\.2/);
  expect(await models.Inbound.countDocuments({ _id: mail.messageId.slice(1, -1) })).toBe(0);
  expect(spooled()).toEqual([]);
  expect((await t.api('GET', '/tickets?limit=100')).body).toEqual(ticketsBefore);

  const retry = await sendRaw(mail.raw);
  expect(retry.response).toMatch(/created #\d+/);
  const replay = await sendRaw(mail.raw);
  expect(replay.response).toMatch(/ignored/);
  const number = Number(/#(\d+)/.exec(retry.response)![1]);
  expect((await t.api('GET', `/tickets/${number}`)).body.entries).toHaveLength(1);
  expect(largeInFlight.inUse).toBe(0);
}, 120_000);

test('a large message that cannot be parsed: 550 with the reason, no claim, no entry, no temp files', async () => {
  const { models } = emailBridgeOf(t.app.ctx);
  // One header line over mailparser's 1 MB header limit: spooled (it is large), fails on the worker.
  const raw = Buffer.from(`From: kim@corp.example\r\nTo: support@help.example\r\nSubject: broken\r\nMessage-ID: <broken-1@corp.example>\r\nX-Padding: ${'a'.repeat(1_200_000)}\r\n\r\nhello\r\n`);
  const before = (await t.api('GET', '/tickets?limit=100')).body;
  let refused: (Error & { responseCode?: number; response?: string }) | null = null;
  try {
    await sendRaw(raw);
  } catch (err) {
    refused = err as Error & { responseCode?: number };
  }
  expect(refused?.responseCode).toBe(550);
  expect(refused?.response).toMatch(/unparseable message/);
  expect(await models.Inbound.countDocuments({ _id: 'broken-1@corp.example' })).toBe(0);
  expect((await t.api('GET', '/tickets?limit=100')).body).toEqual(before);
  expect(spooled()).toEqual([]);
}, 60_000);
