import { rm, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Logger } from '../logger.js';
import { headerEnd, type InboundPipeline } from './inbound.js';
import { workerScriptSource } from './parse-worker-script.js';
import type { FromSmtpWorker, ReceivedMail, SerializedError, SmtpOutcome, SmtpWorkerSettings, ToSmtpWorker } from './smtp-worker.js';
import type { Capacity, MailSpool, SpooledMail } from './spool.js';

export interface SmtpListener {
  port: number;
  close(): Promise<void>;
  /** The thread running the SMTP sessions now (null while it restarts); tests stop it to check a crash loses no mail. */
  readonly thread: Worker | null;
  /** How many times that thread died and was started again. */
  readonly restarts: number;
}

/** What makes the listener fit to face the internet (each part optional). */
export interface SmtpHardening {
  /** PEM certificate and key: STARTTLS is offered (AUTH only after it). */
  tls?: { cert: Buffer; key: Buffer } | null;
  /** Credentials for relays; authenticated sessions are exempt from the per-IP message rate. */
  auth?: { user: string; password: string } | null;
  /** Refuse MAIL FROM from sessions that did not authenticate (530). */
  authRequired?: boolean;
  /** RCPT TO is accepted only for these (550 before DATA otherwise). */
  acceptsRecipient?: (address: string) => boolean;
  /** Connections in total (421 beyond), per client IP at once (421), messages per IP per minute (451). */
  maxClients?: number;
  maxConnectionsPerIp?: number;
  messagesPerIpPerMinute?: number;
  /** Client IPs exempt from the per-IP limits (the MTA in front of us sends everyone's mail). */
  trustedIps?: string[];
  /**
   * Peers that send a PROXY protocol header first (true: every peer): the session's address, and so
   * every per-IP limit, is then the original client's. Connections from other peers are served as
   * they are; a listed peer that sends no header is refused by smtp-server.
   */
  proxyProtocolFrom?: string[] | true;
}

/**
 * The built-in inbound SMTP listener. A message is acknowledged (250) only after the pipeline has
 * stored it; a failure that retrying can fix (database down) answers 451 so the sender retries;
 * oversize mail gets 552; more large messages at once than there are places get 451. Overload is
 * always a 4xx (421 at connect, 451 at MAIL FROM): a well-behaved MTA queues and retries, nothing is lost.
 *
 * The SMTP sessions run on a thread of their own (smtp-worker.ts): receiving DATA (dot-unstuffing,
 * hashing, writing the spool file) never runs on the main thread's event loop. The main thread
 * answers that thread's questions (recipient accepted?) and runs the pipeline on each spooled
 * message. If the thread dies, its sessions are dropped unanswered (senders retry), what it had
 * spooled is removed, its large-mail places are given back, and it is started again on the same port.
 */
export async function startSmtpListener(opts: {
  pipeline: InboundPipeline;
  /** Where DATA goes while it arrives (large messages to a file, never whole in memory). */
  spool: MailSpool;
  /** Places for large messages in progress; beyond them DATA is answered 451 (the sender retries). */
  largeInFlight: Capacity;
  logger: Logger;
  host: string;
  port: number;
  maxBytes: number;
  hostname: string;
} & SmtpHardening): Promise<SmtpListener> {
  const { pipeline, logger, spool, largeInFlight } = opts;
  const source = await workerScriptSource('smtp-worker', logger, import.meta.url);
  /** Work folders handed to the pipeline (kept when the thread that spooled them dies). */
  const handed = new Set<string>();
  let generation = 0;
  let thread: Worker | null = null;
  let restarts = 0;
  let closing = false;
  let restarting: Promise<void> | null = null;
  /** Ends the wait between restart attempts (close() does not wait out the back-off). */
  let wakeRestart: (() => void) | null = null;

  const settings = (port: number, workDirTag: string, held: SharedArrayBuffer): SmtpWorkerSettings => ({
    host: opts.host, port, hostname: opts.hostname, maxBytes: opts.maxBytes,
    spoolDir: spool.dir, spillBytes: spool.spillBytes, workDirTag,
    tls: opts.tls ?? null, auth: opts.auth ?? null, authRequired: !!opts.authRequired, checksRecipients: !!opts.acceptsRecipient,
    maxClients: opts.maxClients, maxConnectionsPerIp: opts.maxConnectionsPerIp, messagesPerIpPerMinute: opts.messagesPerIpPerMinute,
    trustedIps: opts.trustedIps ?? [], proxyProtocolFrom: opts.proxyProtocolFrom,
    largeInFlight: { shared: largeInFlight.shared, limit: largeInFlight.limit }, held,
  });

  /** Runs the pipeline on a message the thread spooled; answers the SMTP reply. */
  const store = async (m: Extract<FromSmtpWorker, { type: 'mail' }>): Promise<SmtpOutcome> => {
    const spooled = adopt(m.mail, handed);
    try {
      const res = await pipeline.ingestSpooled(spooled, { via: 'smtp', envelopeFrom: m.envelopeFrom, envelopeTo: m.envelopeTo });
      logger.info({ status: res.status, ticket: res.ticketNumber, reason: res.reason }, 'inbound mail');
      if (res.status === 'rejected') return { code: 550, message: `5.7.1 ${res.reason ?? 'rejected'}` };
      return { message: `${res.status}${res.ticketNumber ? ` #${res.ticketNumber}` : ''}` };
    } catch (err) {
      logger.error({ err }, 'inbound mail could not be stored; the sender will retry');
      return { code: 451, message: '4.3.0 temporary failure, try again later' };
    } finally {
      // Before the answer: when the sender hears back, no temporary file of its message is left.
      await spooled.dispose().catch((err) => logger.warn({ err }, 'could not remove a spooled message'));
    }
  };

  const recipientVerdict = (address: string): 'accept' | 'refuse' | 'retry' => {
    try {
      return !opts.acceptsRecipient || opts.acceptsRecipient(address) ? 'accept' : 'refuse';
    } catch (err) {
      logger.error({ err }, 'inbound SMTP: could not check a recipient; answered 451');
      return 'retry';
    }
  };

  /** Starts the thread; resolves with the port once it listens, rejects if it cannot. */
  const start = (port: number) => new Promise<number>((resolve, reject) => {
    const tag = `smtp${++generation}`;
    const held = new SharedArrayBuffer(4);
    const workerData = settings(port, tag, held);
    const worker = source.kind === 'tsx' ? new Worker(source.evalSource, { eval: true, workerData }) : new Worker(source.file, { workerData });
    const send = (msg: ToSmtpWorker) => worker.postMessage(msg);
    let listening = false;
    let failure: Error | null = null;
    worker.on('message', (msg: FromSmtpWorker) => {
      switch (msg.type) {
        case 'listening':
          listening = true;
          port = msg.port; // a restart listens on the same port (also when 0 asked for any)
          thread = worker;
          return resolve(msg.port);
        case 'listen-failed':
          failure = revive(msg.error);
          return;
        case 'log':
          return logger[msg.level]({ ...msg.fields, ...(msg.fields.err ? { err: revive(msg.fields.err as SerializedError) } : {}) }, msg.msg);
        case 'recipient':
          return send({ type: 'recipient', id: msg.id, verdict: recipientVerdict(msg.address) });
        case 'mail':
          void store(msg).then((reply) => send({ type: 'outcome', id: msg.id, reply }));
          return;
        case 'oversize': {
          const head = Buffer.from(msg.head.buffer, msg.head.byteOffset, msg.head.byteLength);
          pipeline.noticeForOversize(head.subarray(0, headerEnd(head)), msg.reason, msg.envelopeFrom)
            .catch((err) => logger.warn({ err }, 'could not send the too-large notice'));
        }
      }
    });
    worker.on('error', (err) => { failure = err; });
    worker.on('exit', (code) => {
      if (thread === worker) thread = null;
      // What the dead thread held: its large-mail places, and the work folders it had not handed over.
      largeInFlight.giveBack(Atomics.exchange(new Int32Array(held), 0, 0));
      void removeLeftovers(spool.dir, tag, handed).catch((err) => logger.warn({ err }, 'inbound SMTP: could not remove what a stopped thread spooled'));
      if (!listening) return reject(failure ?? new Error(`the inbound SMTP thread stopped (exit code ${code}) before listening`));
      if (closing) return;
      logger.error({ err: failure, exitCode: code }, 'inbound SMTP thread died: its sessions were dropped unanswered (senders retry); restarting it');
      restarting = restart(port).finally(() => { restarting = null; });
    });
  });

  const restart = async (port: number) => {
    for (let delay = 100; !closing; delay = Math.min(delay * 2, 30_000)) {
      try {
        await start(port);
        restarts++;
        if (closing) await stop();
        return;
      } catch (err) {
        logger.error({ err }, 'inbound SMTP thread: could not start it again; retrying');
        await new Promise<void>((r) => { const timer = setTimeout(r, delay); wakeRestart = () => { clearTimeout(timer); r(); }; });
        wakeRestart = null;
      }
    }
  };

  const stop = async () => {
    const w = thread;
    if (!w) return;
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.postMessage({ type: 'close' } satisfies ToSmtpWorker);
    await exited;
  };

  const port = await start(opts.port);
  return {
    port,
    get thread() { return thread; },
    get restarts() { return restarts; },
    async close() {
      closing = true;
      wakeRestart?.();
      await restarting;
      await stop();
    },
  };
}

/** The main thread's view of a message the SMTP thread spooled (it removes the work folder). */
function adopt(m: ReceivedMail, handed: Set<string>): SpooledMail {
  const bytes = m.bytes ? Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength) : null;
  if (m.workDir) handed.add(m.workDir);
  return {
    size: m.size, sha256: m.sha256, bytes, path: m.path, workDir: m.workDir, oversize: false,
    // Only the oversize path reads the head, and oversize messages are refused on the SMTP thread.
    head: bytes ? bytes.subarray(0, 256 * 1024) : Buffer.alloc(0),
    async dispose() {
      if (!m.workDir) return;
      await rm(m.workDir, { recursive: true, force: true });
      handed.delete(m.workDir);
    },
  };
}

/** Removes the work folders a stopped SMTP thread left (`in-<pid>-<tag>-...`), except those handed over. */
async function removeLeftovers(dir: string, tag: string, handed: Set<string>): Promise<void> {
  const prefix = `in-${process.pid}-${tag}-`;
  for (const name of await readdir(dir)) {
    const full = path.join(dir, name);
    if (name.startsWith(prefix) && !handed.has(full)) await rm(full, { recursive: true, force: true });
  }
}

const revive = (e: SerializedError): Error => Object.assign(new Error(e.message), { stack: e.stack, ...(e.code ? { code: e.code } : {}) });
