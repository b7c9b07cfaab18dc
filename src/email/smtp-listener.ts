import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Logger } from '../logger.js';
import { headerEnd, type InboundPipeline } from './inbound.js';

export interface SmtpListener {
  port: number;
  close(): Promise<void>;
}

const smtpError = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

/**
 * The built-in inbound SMTP listener. A message is acknowledged (250) only after the pipeline has
 * stored it; a failure that retrying can fix (database down) answers 451 so the sender retries;
 * oversize mail gets 552.
 */
export async function startSmtpListener(opts: {
  pipeline: InboundPipeline;
  logger: Logger;
  host: string;
  port: number;
  maxBytes: number;
  hostname: string;
}): Promise<SmtpListener> {
  const { pipeline, logger, maxBytes } = opts;
  const server = new SMTPServer({
    name: opts.hostname,
    banner: 'deskbridge inbound mail',
    size: maxBytes,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null, message?: string) => void) {
      const chunks: Buffer[] = [];
      let kept = 0;
      stream.on('data', (c: Buffer) => {
        // Past the limit only the headers matter (for the notice); the rest is not buffered.
        if (kept <= maxBytes) {
          chunks.push(c);
          kept += c.length;
        }
      });
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const mailFrom = session.envelope.mailFrom;
        const envelopeFrom = mailFrom === false ? null : mailFrom.address;
        if (stream.sizeExceeded) {
          const reason = `message too large: at most ${maxBytes} bytes (attachments included)`;
          pipeline.noticeForOversize(raw.subarray(0, headerEnd(raw)), reason, envelopeFrom)
            .catch((err) => logger.warn({ err }, 'could not send the too-large notice'));
          return callback(smtpError(552, `5.3.4 ${reason}`));
        }
        pipeline.ingest(raw, { via: 'smtp', envelopeFrom, envelopeTo: session.envelope.rcptTo.map((r) => r.address) })
          .then((res) => {
            logger.info({ status: res.status, ticket: res.ticketNumber, reason: res.reason }, 'inbound mail');
            if (res.status === 'rejected') return callback(smtpError(550, `5.7.1 ${res.reason ?? 'rejected'}`));
            callback(null, `${res.status}${res.ticketNumber ? ` #${res.ticketNumber}` : ''}`);
          })
          .catch((err) => {
            logger.error({ err }, 'inbound mail could not be stored; the sender will retry');
            callback(smtpError(451, '4.3.0 temporary failure, try again later'));
          });
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
