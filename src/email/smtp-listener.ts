import { timingSafeEqual, createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Logger } from '../logger.js';
import { headerEnd, type InboundPipeline } from './inbound.js';
import { SpoolBusyError, type Capacity, type MailSpool } from './spool.js';

export interface SmtpListener {
  port: number;
  close(): Promise<void>;
}

const smtpError = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

type SessionWithCount = SMTPServerSession & { counted?: boolean };

const digest = (s: string) => createHash('sha256').update(s).digest();
const safeEqual = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

/** Drops the windows of addresses that sent nothing in the last minute (bounded memory under a flood of IPs). */
function pruneWindows(windows: Map<string, number[]>, now: number): void {
  for (const [ip, times] of windows) if (!times.some((t) => t > now - 60_000)) windows.delete(ip);
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
 * oversize mail gets 552; more large messages at once than there are places get 451. Overload is always a 4xx (421 at connect, 451 at MAIL FROM): a well-behaved
 * MTA queues and retries, nothing is lost.
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
  const { pipeline, logger, maxBytes, spool, largeInFlight } = opts;
  const connections = new Map<string, number>();
  const recentMessages = new Map<string, number[]>();
  const trusted = new Set(opts.trustedIps ?? []);
  const disabledCommands = [...(opts.auth ? [] : ['AUTH']), ...(opts.tls ? [] : ['STARTTLS'])];
  const server = new SMTPServer({
    name: opts.hostname,
    banner: 'deskbridge inbound mail',
    size: maxBytes,
    authOptional: !opts.authRequired,
    authMethods: ['PLAIN', 'LOGIN'],
    disabledCommands,
    ...(opts.tls ? { key: opts.tls.key, cert: opts.tls.cert } : {}),
    maxClients: opts.maxClients,
    ...(opts.proxyProtocolFrom === true || opts.proxyProtocolFrom?.length ? { useProxy: opts.proxyProtocolFrom } : {}),
    logger: false,
    onConnect(session, callback) {
      const ip = session.remoteAddress;
      const open = (connections.get(ip) ?? 0) + 1;
      const limit = opts.maxConnectionsPerIp;
      if (limit && open > limit && !trusted.has(ip)) {
        logger.warn({ ip, open: open - 1 }, 'inbound SMTP: too many connections from one address');
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
      const expected = opts.auth;
      if (expected && auth.username !== undefined && safeEqual(auth.username, expected.user) && safeEqual(auth.password ?? '', expected.password)) {
        return callback(null, { user: auth.username });
      }
      callback(smtpError(535, '5.7.8 authentication failed'));
    },
    onMailFrom(address, session, callback) {
      if (opts.authRequired && !session.user) return callback(smtpError(530, '5.7.0 authentication required'));
      // The sender announced a large message (SIZE=) while no place is free: refuse before the transfer.
      const announced = Number((address.args as Record<string, string> | false | undefined || {}).SIZE ?? 0);
      if (announced && spool.spills(announced) && largeInFlight.full) {
        return callback(smtpError(451, '4.3.2 too many large messages in progress, try again later'));
      }
      const limit = opts.messagesPerIpPerMinute;
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
      if (opts.acceptsRecipient && !opts.acceptsRecipient(address.address)) {
        return callback(smtpError(550, `5.1.1 <${address.address}>: no such recipient here`));
      }
      callback();
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null, message?: string) => void) {
      const mailFrom = session.envelope.mailFrom;
      const envelopeFrom = mailFrom === false ? null : mailFrom.address;
      // A large message holds a place in the large-mail capacity from the moment it spills to disk
      // until it is stored; without a place it is read to its end, dropped, and answered 451.
      let release: (() => void) | null = null;
      const takePlace = () => {
        release = largeInFlight.take();
        if (!release) throw new SpoolBusyError();
      };
      const answer = async (): Promise<{ error: Error } | { message: string }> => {
        const spooled = await spool.fromStream(stream, takePlace);
        try {
          if (stream.sizeExceeded || spooled.oversize) {
            const reason = `message too large: at most ${maxBytes} bytes (attachments included)`;
            pipeline.noticeForOversize(spooled.head.subarray(0, headerEnd(spooled.head)), reason, envelopeFrom)
              .catch((err) => logger.warn({ err }, 'could not send the too-large notice'));
            return { error: smtpError(552, `5.3.4 ${reason}`) };
          }
          const res = await pipeline.ingestSpooled(spooled, { via: 'smtp', envelopeFrom, envelopeTo: session.envelope.rcptTo.map((r) => r.address) });
          logger.info({ status: res.status, ticket: res.ticketNumber, reason: res.reason }, 'inbound mail');
          if (res.status === 'rejected') return { error: smtpError(550, `5.7.1 ${res.reason ?? 'rejected'}`) };
          return { message: `${res.status}${res.ticketNumber ? ` #${res.ticketNumber}` : ''}` };
        } finally {
          // Before the answer: when the sender hears back, no temporary file of its message is left.
          await spooled.dispose().catch((err) => logger.warn({ err }, 'could not remove a spooled message'));
        }
      };
      answer()
        .catch((err) => {
          if (err instanceof SpoolBusyError) {
            logger.warn({ inFlight: largeInFlight.inUse }, 'inbound SMTP: large-mail capacity full, answered 451');
            return { error: smtpError(451, '4.3.2 too many large messages in progress, try again later') };
          }
          logger.error({ err }, 'inbound mail could not be stored; the sender will retry');
          return { error: smtpError(451, '4.3.0 temporary failure, try again later') };
        })
        .then((reply) => {
          release?.();
          if ('error' in reply) callback(reply.error);
          else callback(null, reply.message);
        });
    },
  });
  server.on('error', (err) => logger.warn({ err }, 'inbound SMTP error'));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
