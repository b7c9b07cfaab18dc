import { jest } from '@jest/globals';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import nodemailer from 'nodemailer';
import { buildMail } from '../../bench/lib/mail.js';
import { emailBridgeOf } from '../../src/email/module.js';
import { startMailApp, type MailTestApp } from './support.js';

/*
 * The SMTP sessions run on a thread of their own: a message's DATA is received, dot-unstuffed,
 * hashed and spooled there, not on the main thread's event loop (where it stalled Slack acks).
 * That thread dying mid-DATA loses nothing: the sender is dropped unanswered (it retries), nothing
 * it spooled is left, the large-mail places it held are given back, and it is started again.
 */

const SPILL = 200_000;
let t: MailTestApp;
let spoolDir: string;

beforeAll(async () => {
  spoolDir = mkdtempSync(path.join(os.tmpdir(), 'deskbridge-smtp-thread-'));
  t = await startMailApp({ MAIL_PARSE_WORKER_BYTES: String(SPILL), MAIL_SPOOL_DIR: spoolDir });
});
afterAll(async () => {
  await t.close();
  rmSync(spoolDir, { recursive: true, force: true });
});

const spooled = () => readdirSync(spoolDir).filter((n) => n.startsWith('in-'));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function waitFor(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; !check();) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/*
 * An SMTP client on another thread (this one's event loop is about to be blocked): it sends one
 * message, reports when the server said 354, sends the DATA only once the main thread is blocked
 * (1 in shared memory), and signals (2) once the whole message is in its spool file, which only
 * the receiving side's event loop can have written.
 */
const CLIENT = `
const { workerData, parentPort } = require('node:worker_threads');
const net = require('node:net');
const fs = require('node:fs');
const path = require('node:path');
const { port, spoolDir, raw, flag } = workerData;
const signal = new Int32Array(flag);
const sock = net.connect(port, '127.0.0.1');
const replies = [];
let buffer = '';
let wake = null;
sock.on('data', (d) => {
  buffer += d;
  for (let i; (i = buffer.indexOf('\\r\\n')) >= 0;) {
    const line = buffer.slice(0, i);
    buffer = buffer.slice(i + 2);
    if (line[3] !== '-') { replies.push(line); if (wake) { const w = wake; wake = null; w(); } }
  }
});
const next = () => new Promise((resolve) => { const check = () => (replies.length ? resolve(replies.shift()) : (wake = check)); check(); });
const spooledWhole = () => fs.readdirSync(spoolDir).some((d) => {
  try { return fs.statSync(path.join(spoolDir, d, 'message.eml')).size >= raw.length; } catch { return false; }
});
(async () => {
  await next();
  sock.write('EHLO client.example\\r\\n'); await next();
  sock.write('MAIL FROM:<kim@corp.example>\\r\\n'); await next();
  sock.write('RCPT TO:<support@help.example>\\r\\n'); await next();
  sock.write('DATA\\r\\n');
  parentPort.postMessage({ type: 'data', reply: await next() });
  Atomics.wait(signal, 0, 0); // until the main thread is blocked: all of DATA goes while it is
  sock.write(Buffer.from(raw));
  sock.write('.\\r\\n');
  while (!spooledWhole()) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(signal, 0, 2);
  Atomics.notify(signal, 0);
  const reply = await next();
  sock.end('QUIT\\r\\n');
  parentPort.postMessage({ type: 'reply', reply });
})().catch((err) => parentPort.postMessage({ type: 'reply', reply: 'client failed: ' + err.message }));
`;

test('DATA is received on the SMTP thread: with the main thread\'s event loop blocked, a large message still arrives whole in its spool file', async () => {
  const mail = await buildMail('large', 1, 'thread');
  const raw = mail.raw.subarray(-2).toString() === '\r\n' ? mail.raw : Buffer.concat([mail.raw, Buffer.from('\r\n')]);
  expect(raw.length).toBeGreaterThan(5 * 1024 * 1024);
  const flag = new SharedArrayBuffer(4);
  const client = new Worker(CLIENT, { eval: true, workerData: { port: t.inboundPort, spoolDir, raw, flag } });
  try {
    const [data] = await once(client, 'message') as [{ reply: string }];
    expect(data.reply).toMatch(/^354/);
    const replied = once(client, 'message') as Promise<[{ reply: string }]>;
    // The main thread blocks (no event loop turn) until the client sees all of DATA on disk. On
    // the main thread's own SMTP server nothing more would be read, and the wait would time out.
    const signal = new Int32Array(flag);
    const blockedFrom = Date.now();
    Atomics.store(signal, 0, 1);
    Atomics.notify(signal, 0);
    const woken = Atomics.wait(signal, 0, 1, 60_000);
    console.log(`main thread blocked ${Date.now() - blockedFrom} ms while the SMTP thread received ${(raw.length / 2 ** 20).toFixed(1)} MB: ${woken}`);
    // ('not-equal': all of it arrived before the wait began; still no event-loop turn in between.)
    expect(['ok', 'not-equal']).toContain(woken);
    // Then the main thread stores it as before: the answer comes only after the pipeline.
    const [{ reply }] = await replied;
    expect(reply).toMatch(/^250 .*created #\d+/);
    expect(spooled()).toEqual([]);
  } finally {
    await client.terminate();
  }
}, 120_000);

/** Starts a message over a plain socket and sends `part` of its DATA; answers the socket and what it was told. */
async function startData(part: Buffer): Promise<{ socket: net.Socket; replies: string[]; closed: Promise<unknown> }> {
  const socket = net.connect(t.inboundPort, '127.0.0.1');
  // (events.once would reject on the reset the drop causes)
  const closed = new Promise((resolve) => socket.once('close', resolve));
  const replies: string[] = [];
  let buffer = '';
  socket.on('error', () => undefined);
  socket.on('data', (d) => {
    buffer += d;
    for (let i; (i = buffer.indexOf('\r\n')) >= 0;) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 2);
      if (line[3] !== '-') replies.push(line);
    }
  });
  const next = async () => { await waitFor(() => replies.length > 0, 'an SMTP reply'); return replies.shift()!; };
  await next();
  for (const cmd of ['EHLO client.example', 'MAIL FROM:<kim@corp.example>', 'RCPT TO:<support@help.example>', 'DATA']) {
    socket.write(`${cmd}\r\n`);
    await next();
  }
  socket.write(part);
  return { socket, replies, closed };
}

test('the SMTP thread dies mid-DATA: the sender is dropped unanswered, nothing is left spooled or stored, the places are given back; it restarts and the retry lands once', async () => {
  const bridge = emailBridgeOf(t.app.ctx);
  const smtp = bridge.smtp!;
  const first = smtp.thread!;
  const restartsBefore = smtp.restarts;
  const mail = await buildMail('large', 2, 'thread-crash');
  const id = mail.messageId.slice(1, -1);
  const errors = jest.spyOn(t.app.ctx.logger, 'error');
  try {
    const { replies, closed } = await startData(mail.raw.subarray(0, 2_000_000));
    // Half of it spooled to a file, holding a large-mail place.
    await waitFor(() => spooled().length === 1 && bridge.largeInFlight.inUse === 1, 'the message half spooled');
    await first.terminate();
    await closed;
    // Dropped: no 250 (and no other answer) for a message that was not stored; the sender retries.
    expect(replies).toEqual([]);
    await waitFor(() => smtp.thread !== null && smtp.thread !== first, 'the SMTP thread restarted');
    expect(smtp.restarts).toBe(restartsBefore + 1);
    await waitFor(() => spooled().length === 0, 'the half-spooled message removed');
    expect(bridge.largeInFlight.inUse).toBe(0);
    expect(errors).toHaveBeenCalledWith(expect.objectContaining({ exitCode: 1 }), expect.stringMatching(/SMTP thread died/));
  } finally {
    errors.mockRestore();
  }
  expect(await bridge.models.Inbound.countDocuments({ _id: id })).toBe(0);
  const entries = () => t.app.ctx.db.connection.collection('entries').countDocuments({ messageId: id });
  expect(await entries()).toBe(0);

  // The sender's retry, on the same port, is stored once; a replay is a duplicate.
  const send = async () => {
    const tr = nodemailer.createTransport({ host: '127.0.0.1', port: t.inboundPort, secure: false, ignoreTLS: true });
    try { return (await tr.sendMail({ envelope: { from: 'kim@corp.example', to: ['support@help.example'] }, raw: mail.raw })).response; } finally { tr.close(); }
  };
  expect(await send()).toMatch(/^250 .*created #\d+/);
  expect(await send()).toMatch(/^250 .*ignored/);
  expect(await entries()).toBe(1);
  expect(spooled()).toEqual([]);
}, 120_000);
