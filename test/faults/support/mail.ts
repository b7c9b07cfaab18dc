import nodemailer from 'nodemailer';

/** One SMTP delivery attempt as a sending MTA makes it: a fresh connection, one message. */
export interface SmtpAttempt {
  /** The SMTP reply code (250, 451, 550...), or 0 when the connection died without an answer. */
  code: number;
  response: string;
}

export async function sendOnce(port: number, raw: string, envelope: { from: string; to: string[] }, timeoutMs = 20_000): Promise<SmtpAttempt> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1', port, secure: false, ignoreTLS: true,
    connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs,
  });
  try {
    const info = await transport.sendMail({ envelope, raw });
    return { code: Number(/^(\d{3})/.exec(info.response)?.[1] ?? 250), response: info.response };
  } catch (err) {
    const e = err as { responseCode?: number; message: string };
    return { code: e.responseCode ?? 0, response: e.message };
  } finally {
    transport.close();
  }
}

/** A small, plain customer mail with its own Message-ID. */
export function plainMail(i: number, opts: { idPrefix: string; from?: string }): { raw: string; messageId: string } {
  const messageId = `${opts.idPrefix}-${i}@corp.example`;
  const from = opts.from ?? `user${i % 50}@corp.example`;
  const raw = [
    `From: User ${i % 50} <${from}>`, 'To: support@help.example', `Subject: Fault mail ${i}`,
    `Message-ID: <${messageId}>`, 'Date: Fri, 27 Nov 2026 10:00:00 +0000', 'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8', '', `Mail number ${i} from the fault test.`, '',
  ].join('\r\n');
  return { raw, messageId };
}

export function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}
