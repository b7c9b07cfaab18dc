import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { emailBridgeOf, emailModule } from '../../src/email/module.js';
import { startTestApp, type TestApp } from '../support/db.js';

export interface Captured {
  raw: Buffer;
  mail: ParsedMail;
  envelopeTo: string[];
}

/** A real SMTP server on loopback standing in for the outbound relay; records what it receives. */
export async function startCaptureSmtp() {
  const received: Captured[] = [];
  /** Per-recipient behaviour: a 5xx code rejects permanently, 4xx temporarily (count times). */
  const failures = new Map<string, { code: number; times: number }>();
  const server = new SMTPServer({
    authOptional: true, disabledCommands: ['AUTH', 'STARTTLS'], logger: false,
    onRcptTo(address, _session, cb) {
      const f = failures.get(address.address.toLowerCase());
      if (f && f.times > 0) {
        f.times--;
        return cb(Object.assign(new Error(f.code >= 500 ? 'mailbox unavailable' : 'try again later'), { responseCode: f.code }));
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const raw = Buffer.concat(chunks);
        received.push({ raw, mail: await simpleParser(raw), envelopeTo: session.envelope.rcptTo.map((r) => r.address) });
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port, received, failures,
    to: (email: string) => received.filter((c) => c.envelopeTo.includes(email)),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export type Capture = Awaited<ReturnType<typeof startCaptureSmtp>>;

export interface MailTestApp extends TestApp {
  capture: Capture;
  inboundPort: number;
  /** Sends a message into the app's own SMTP listener over loopback. */
  send(message: SendMailOptions): Promise<{ response: string }>;
  /** Waits for the notifiers to finish. */
  drain(): Promise<void>;
}

export async function startMailApp(env: Record<string, string> = {}, opts: { workers?: boolean } = {}): Promise<MailTestApp> {
  const capture = await startCaptureSmtp();
  const t = await startTestApp({
    modules: [emailModule],
    env: {
      SMTP_URL: `smtp://127.0.0.1:${capture.port}?ignoreTLS=true`, MAIL_FROM: 'Helpdesk <support@help.example>',
      INBOUND_SMTP_PORT: '0', PUBLIC_URL: 'http://desk.example', ...env,
    },
    workers: opts.workers,
  });
  const inboundPort = emailBridgeOf(t.app.ctx).smtp!.port;
  const sender = nodemailer.createTransport({ host: '127.0.0.1', port: inboundPort, secure: false, ignoreTLS: true });
  return {
    ...t, capture, inboundPort,
    send: (message) => sender.sendMail(message),
    drain: () => t.app.ctx.deliveries.drain(),
    async close() {
      sender.close();
      await t.close();
      await capture.close();
    },
  };
}

/** Polls until fn returns a truthy value (short interval; fails after timeoutMs). */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
