import { ImapFlow } from 'imapflow';
import type { Logger } from '../logger.js';
import type { InboundPipeline } from './inbound.js';

/** Parses imap(s)://user:password@host[:port]/MAILBOX. */
export function imapSettings(url: string): { host: string; port: number; secure: boolean; user: string; pass: string; mailbox: string } {
  const u = new URL(url);
  const secure = u.protocol === 'imaps:';
  if (!secure && u.protocol !== 'imap:') throw new Error('IMAP_URL: use imap:// or imaps://');
  return {
    host: u.hostname, port: Number(u.port) || (secure ? 993 : 143), secure,
    user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password),
    mailbox: decodeURIComponent(u.pathname.replace(/^\//, '')) || 'INBOX',
  };
}

/**
 * One poll: every unseen message goes through the pipeline and is marked seen only after it was
 * stored, so a failure leaves it for the next poll (duplicates are recognised by Message-ID).
 */
export async function pollImap(url: string, pipeline: InboundPipeline, logger: Logger): Promise<{ processed: number; failed: number }> {
  const s = imapSettings(url);
  const client = new ImapFlow({ host: s.host, port: s.port, secure: s.secure, auth: { user: s.user, pass: s.pass }, logger: false });
  let processed = 0;
  let failed = 0;
  await client.connect();
  try {
    const lock = await client.getMailboxLock(s.mailbox);
    try {
      const uids = (await client.search({ seen: false }, { uid: true })) || [];
      for (const uid of uids) {
        const msg = await client.fetchOne(String(uid), { source: true }, { uid: true });
        if (!msg || !msg.source) continue;
        try {
          const res = await pipeline.ingest(msg.source, { via: 'imap' });
          await client.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true });
          processed++;
          logger.info({ uid, status: res.status, ticket: res.ticketNumber }, 'imap mail');
        } catch (err) {
          failed++;
          logger.error({ err, uid }, 'imap mail could not be stored; will retry on the next poll');
        }
      }
    } finally {
      lock.release();
    }
  } finally {
    await client.logout().catch(() => undefined);
  }
  return { processed, failed };
}
