import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import type { Config } from '../config/index.js';
import type { Logger } from '../logger.js';

export interface SentMail {
  messageId: string;
  accepted: string[];
  rejected: string[];
  /** The .eml file, when mail goes to the outbox folder instead of SMTP. */
  file?: string;
}

export interface MailTransport {
  readonly kind: 'smtp' | 'outbox';
  send(message: SendMailOptions): Promise<SentMail>;
  close(): void;
}

/**
 * Outbound mail: SMTP_URL when set; otherwise (the embedded default) each message is written as an
 * .eml file under DATA_DIR/outbox with one log line, so nothing is lost and a developer can read it.
 */
export function createMailTransport(config: Config, logger: Logger): MailTransport {
  if (config.SMTP_URL) {
    const t = nodemailer.createTransport(config.SMTP_URL);
    return {
      kind: 'smtp',
      async send(message) {
        const info = await t.sendMail(message);
        return {
          messageId: info.messageId,
          accepted: (info.accepted ?? []).map(String),
          rejected: (info.rejected ?? []).map(String),
        };
      },
      close: () => t.close(),
    };
  }
  const dir = path.resolve(config.DATA_DIR, 'outbox');
  const t = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    kind: 'outbox',
    async send(message) {
      const info = await t.sendMail(message);
      mkdirSync(dir, { recursive: true });
      const safeId = info.messageId.replace(/[^A-Za-z0-9@._-]/g, '');
      const file = path.join(dir, `${Date.now()}-${safeId}.eml`);
      writeFileSync(file, info.message as Buffer);
      const to = ([] as unknown[]).concat(message.to ?? []).map(String);
      logger.info({ file, to, subject: message.subject }, 'mail written to outbox (SMTP_URL not set)');
      return { messageId: info.messageId, accepted: to, rejected: [], file };
    },
    close: () => t.close(),
  };
}
