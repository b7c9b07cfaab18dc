import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { Capacity, MailSpool, SpoolBusyError } from './spool.js';

/*
 * The inbound SMTP listener's thread (started by smtp-listener.ts). It owns the SMTP server and
 * every session: the protocol, TLS, AUTH, the per-IP limits, and DATA, which it reads, dot-unstuffs,
 * hashes and spools (a large message to a file) here, so none of a message's bytes cross the main
 * thread's event loop (where they stalled Slack acks). The main thread is asked only what needs it
 * (is this recipient ours; store this spooled message) and answers with the outcome, which this
 * thread turns into the SMTP reply (250 / 451 / 550 / 552).
 */

export interface SmtpWorkerSettings {
  host: string;
  port: number;
  hostname: string;
  maxBytes: number;
  spoolDir: string;
  spillBytes: number;
  /** In the names of this thread's work folders: the main thread removes them if the thread dies. */
  workDirTag: string;
  tls: { cert: Uint8Array; key: Uint8Array } | null;
  auth: { user: string; password: string } | null;
  authRequired: boolean;
  /** Whether RCPT TO is checked (by the main thread, which has the configuration). */
  checksRecipients: boolean;
  maxClients?: number;
  maxConnectionsPerIp?: number;
  messagesPerIpPerMinute?: number;
  trustedIps: string[];
  proxyProtocolFrom?: string[] | true;
  /** The large-mail capacity's shared count, and this thread's share of it (given back if it dies). */
  largeInFlight: { shared: SharedArrayBuffer; limit: number };
  held: SharedArrayBuffer;
}

export interface SerializedError { message: string; stack?: string; code?: string }

/** A message as this thread spooled it: in memory when small, else a file in its work folder. */
export interface ReceivedMail {
  size: number;
  sha256: string;
  bytes: Uint8Array | null;
  path: string | null;
  workDir: string | null;
}

/** From this thread to the main thread. */
export type FromSmtpWorker =
  | { type: 'listening'; port: number }
  | { type: 'listen-failed'; error: SerializedError }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; fields: Record<string, unknown>; msg: string }
  | { type: 'recipient'; id: number; address: string }
  | { type: 'mail'; id: number; mail: ReceivedMail; envelopeFrom: string | null; envelopeTo: string[] }
  | { type: 'oversize'; head: Uint8Array; reason: string; envelopeFrom: string | null };

/** The main thread's answer to a message: the SMTP reply (code only for refusals) or, for RCPT TO, a verdict. */
export type SmtpOutcome = { message: string } | { code: number; message: string };
export type ToSmtpWorker =
  | { type: 'recipient'; id: number; verdict: 'accept' | 'refuse' | 'retry' }
  | { type: 'outcome'; id: number; reply: SmtpOutcome }
  | { type: 'close' };

export const serializeError = (err: unknown): SerializedError => {
  const e = err as Error & { code?: unknown };
  return { message: String(e?.message ?? err), stack: e?.stack, ...(typeof e?.code === 'string' ? { code: e.code } : {}) };
};

const port = parentPort!;
const s = workerData as SmtpWorkerSettings;
const post = (msg: FromSmtpWorker, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
const log = (level: 'info' | 'warn' | 'error', fields: Record<string, unknown>, msg: string) => post({ type: 'log', level, fields, msg });

const smtpError = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });
type SessionWithCount = SMTPServerSession & { counted?: boolean };
const digest = (v: string) => createHash('sha256').update(v).digest();
const safeEqual = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

/** Drops the windows of addresses that sent nothing in the last minute (bounded memory under a flood of IPs). */
function pruneWindows(windows: Map<string, number[]>, now: number): void {
  for (const [ip, times] of windows) if (!times.some((t) => t > now - 60_000)) windows.delete(ip);
}

/** The spool, with this thread's tag in its work folders' names (see workDirTag). */
class ThreadSpool extends MailSpool {
  override async newWorkDir(): Promise<string> {
    const dir = path.join(this.dir, `in-${process.pid}-${s.workDirTag}-${randomUUID().slice(0, 8)}`);
    await mkdir(dir, { recursive: true });
    return dir;
  }
}

const spool = new ThreadSpool(s.spoolDir, s.spillBytes, s.maxBytes);
const largeInFlight = Capacity.over(s.largeInFlight.shared, s.largeInFlight.limit);
const held = new Int32Array(s.held);

/** Requests to the main thread waiting for its answer, by id. */
let nextId = 1;
const waiting = new Map<number, (answer: ToSmtpWorker) => void>();
const ask = (send: (id: number) => void) => new Promise<ToSmtpWorker>((resolve) => {
  const id = nextId++;
  waiting.set(id, resolve);
  send(id);
});

const connections = new Map<string, number>();
const recentMessages = new Map<string, number[]>();
const trusted = new Set(s.trustedIps);
const disabledCommands = [...(s.auth ? [] : ['AUTH']), ...(s.tls ? [] : ['STARTTLS'])];
const server = new SMTPServer({
  name: s.hostname,
  banner: 'deskbridge inbound mail',
  size: s.maxBytes,
  authOptional: !s.authRequired,
  authMethods: ['PLAIN', 'LOGIN'],
  disabledCommands,
  ...(s.tls ? { key: Buffer.from(s.tls.key), cert: Buffer.from(s.tls.cert) } : {}),
  maxClients: s.maxClients,
  ...(s.proxyProtocolFrom === true || s.proxyProtocolFrom?.length ? { useProxy: s.proxyProtocolFrom } : {}),
  logger: false,
  onConnect(session, callback) {
    const ip = session.remoteAddress;
    const open = (connections.get(ip) ?? 0) + 1;
    const limit = s.maxConnectionsPerIp;
    if (limit && open > limit && !trusted.has(ip)) {
      log('warn', { ip, open: open - 1 }, 'inbound SMTP: too many connections from one address');
      return callback(smtpError(421, `4.7.0 too many connections from ${ip}, try again later`));
    }
    connections.set(ip, open);
    (session as SessionWithCount).counted = true;
    callback();
  },
  onClose(session) {
    if (!(session as SessionWithCount).counted) return;
    const ip = session.remoteAddress;
    const left = (connections.get(ip) ?? 1) - 1;
    if (left <= 0) connections.delete(ip);
    else connections.set(ip, left);
  },
  onAuth(auth, _session, callback) {
    const expected = s.auth;
    if (expected && auth.username !== undefined && safeEqual(auth.username, expected.user) && safeEqual(auth.password ?? '', expected.password)) {
      return callback(null, { user: auth.username });
    }
    callback(smtpError(535, '5.7.8 authentication failed'));
  },
  onMailFrom(address, session, callback) {
    if (s.authRequired && !session.user) return callback(smtpError(530, '5.7.0 authentication required'));
    // The sender announced a large message (SIZE=) while no place is free: refuse before the transfer.
    const announced = Number((address.args as Record<string, string> | false | undefined || {}).SIZE ?? 0);
    if (announced && spool.spills(announced) && largeInFlight.full) {
      return callback(smtpError(451, '4.3.2 too many large messages in progress, try again later'));
    }
    const limit = s.messagesPerIpPerMinute;
    if (limit && !session.user && !trusted.has(session.remoteAddress)) {
      const now = Date.now();
      const ip = session.remoteAddress;
      const recent = (recentMessages.get(ip) ?? []).filter((t) => t > now - 60_000);
      if (recent.length >= limit) {
        recentMessages.set(ip, recent);
        return callback(smtpError(451, `4.7.1 too many messages from ${ip}, try again later`));
      }
      recent.push(now);
      recentMessages.set(ip, recent);
      if (recentMessages.size > 10_000) pruneWindows(recentMessages, now);
    }
    callback();
  },
  onRcptTo(address, _session, callback) {
    if (!s.checksRecipients) return callback();
    void ask((id) => post({ type: 'recipient', id, address: address.address })).then((answer) => {
      const verdict = answer.type === 'recipient' ? answer.verdict : 'retry';
      if (verdict === 'accept') return callback();
      if (verdict === 'refuse') return callback(smtpError(550, `5.1.1 <${address.address}>: no such recipient here`));
      callback(smtpError(451, '4.3.0 temporary failure, try again later'));
    });
  },
  onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null, message?: string) => void) {
    const mailFrom = session.envelope.mailFrom;
    const envelopeFrom = mailFrom === false ? null : mailFrom.address;
    // A large message holds a place in the large-mail capacity from the moment it spills to disk
    // until it is stored; without a place it is read to its end, dropped, and answered 451.
    let release: (() => void) | null = null;
    const takePlace = () => {
      const give = largeInFlight.take();
      if (!give) throw new SpoolBusyError();
      Atomics.add(held, 0, 1);
      release = () => { release = null; give(); Atomics.sub(held, 0, 1); };
    };
    const answer = async (): Promise<SmtpOutcome> => {
      const spooled = await spool.fromStream(stream, takePlace);
      if (stream.sizeExceeded || spooled.oversize) {
        await spooled.dispose().catch((err) => log('warn', { err: serializeError(err) }, 'could not remove a spooled message'));
        const reason = `message too large: at most ${s.maxBytes} bytes (attachments included)`;
        post({ type: 'oversize', head: spooled.head, reason, envelopeFrom });
        return { code: 552, message: `5.3.4 ${reason}` };
      }
      // From here the main thread owns the spooled message (it removes its work folder before answering).
      const bytes = spooled.bytes;
      const own = bytes && bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length && !(bytes.buffer instanceof SharedArrayBuffer);
      const mail: ReceivedMail = { size: spooled.size, sha256: spooled.sha256, bytes, path: spooled.path, workDir: spooled.workDir };
      const outcome = await ask((id) => post({ type: 'mail', id, mail, envelopeFrom, envelopeTo: session.envelope.rcptTo.map((r) => r.address) }, own ? [bytes.buffer as ArrayBuffer] : []));
      return outcome.type === 'outcome' ? outcome.reply : { code: 451, message: '4.3.0 temporary failure, try again later' };
    };
    answer()
      .catch((err): SmtpOutcome => {
        if (err instanceof SpoolBusyError) {
          log('warn', { inFlight: largeInFlight.inUse }, 'inbound SMTP: large-mail capacity full, answered 451');
          return { code: 451, message: '4.3.2 too many large messages in progress, try again later' };
        }
        log('error', { err: serializeError(err) }, 'inbound mail could not be received; the sender will retry');
        return { code: 451, message: '4.3.0 temporary failure, try again later' };
      })
      .then((reply) => {
        (release as (() => void) | null)?.();
        if ('code' in reply) callback(smtpError(reply.code, reply.message));
        else callback(null, reply.message);
      });
  },
});
server.on('error', (err) => log('warn', { err: serializeError(err) }, 'inbound SMTP error'));

port.on('message', (msg: ToSmtpWorker) => {
  if (msg.type === 'close') {
    // Sessions still running get their answers meanwhile; the thread ends when the port is closed.
    server.close(() => port.close());
    return;
  }
  const resolve = waiting.get(msg.id);
  waiting.delete(msg.id);
  resolve?.(msg);
});

const listenFailed = (err: Error) => {
  post({ type: 'listen-failed', error: serializeError(err) });
  port.close();
};
server.server.once('error', listenFailed);
server.listen(s.port, s.host, () => {
  server.server.off('error', listenFailed);
  post({ type: 'listening', port: (server.server.address() as AddressInfo).port });
});
