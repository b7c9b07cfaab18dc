import { createRequire } from 'node:module';
import { createHash, randomUUID } from 'node:crypto';
import { withLease } from '../store/lease.js';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { AppContext, DeskbridgeModule } from '../app.js';
import { MailAddresses } from './addresses.js';
import { isNoAutomaticMailAddress } from './classify.js';
import { fullMessage, registerFullMessageRoutes, type FullMessage } from './full-message.js';
import { InboundPipeline } from './inbound.js';
import { MessageParser } from './message-parser.js';
import { pollImap } from './imap-poll.js';
import { EmailNotifier } from './outbound.js';
import { Capacity, MailSpool } from './spool.js';
import { startSmtpListener, type SmtpListener } from './smtp-listener.js';
import { BlobStore, ReplyTokens, createMailModels, ensureMailIndexes, mailDb, type MailModels } from './store.js';
import { createMailTransport, type MailTransport } from './transport.js';

/** What the email module builds once per app; the CLI and tests reach it through emailBridgeOf. */
export interface EmailBridge {
  pipeline: InboundPipeline;
  parser: MessageParser;
  spool: MailSpool;
  /** Places for large inbound messages in progress over SMTP (full: 451). */
  largeInFlight: Capacity;
  notifier: EmailNotifier;
  models: MailModels;
  blobs: BlobStore;
  addresses: MailAddresses;
  transport: MailTransport;
  /** The inbound SMTP listener, once started. */
  smtp: SmtpListener | null;
  /** The whole message behind an emailed entry ("show the full message" in Slack and Teams). */
  fullMessage(entryId: string): Promise<FullMessage>;
}

const bridges = new WeakMap<AppContext, EmailBridge>();

export function emailBridgeOf(ctx: AppContext): EmailBridge {
  const b = bridges.get(ctx);
  if (!b) throw new Error('the email module is not set up in this app');
  return b;
}

export const emailModule: DeskbridgeModule = {
  name: 'email',
  async setup(ctx) {
    const { config, logger } = ctx;
    const models = createMailModels(ctx.db.connection);
    await ensureMailIndexes(models);
    const blobs = new BlobStore(mailDb(ctx.db.connection));
    const tokens = new ReplyTokens(models);
    const addresses = new MailAddresses(config);
    const transport = createMailTransport(config, logger);
    const rateWindowMs = config.MAIL_RATE_WINDOW_SECONDS * 1000;
    ctx.onStop(() => transport.close());

    const notifier = new EmailNotifier({ ctx, models, tokens, addresses, transport, blobs, rateLimit: config.MAIL_RATE_LIMIT, rateWindowMs, maxAttachmentBytes: config.MAIL_OUTBOUND_ATTACHMENTS_MAX_BYTES });
    ctx.notifiers.register(notifier);

    // The parse workers store large messages' parts themselves, on their own connection to the same
    // database (so those bytes never pass through the main thread's event loop).
    const parser = new MessageParser(config.MAIL_PARSE_WORKERS, logger, {
      uri: ctx.db.uri, dbName: ctx.db.connection.name, serverSelectionTimeoutMS: config.DB_SERVER_SELECTION_TIMEOUT_MS,
      driver: createRequire(import.meta.url).resolve('mongodb'),
    }, config.MAIL_PARSE_WORKER_IDLE_SECONDS * 1000);
    ctx.onStop(() => parser.close());
    const spool = new MailSpool(config.MAIL_SPOOL_DIR || path.join(config.DATA_DIR, 'mail-spool'), config.MAIL_PARSE_WORKER_BYTES, config.MAIL_MAX_BYTES);
    await spool.init();
    const largeInFlight = new Capacity(config.MAIL_LARGE_IN_FLIGHT);
    const pipeline = new InboundPipeline({
      ctx, models, blobs, files: parser, tokens, addresses, maxBytes: config.MAIL_MAX_BYTES, parser, spool, staleClaimMs: config.MAIL_CLAIM_STALE_SECONDS * 1000,
      authservId: config.MAIL_AUTHSERV_ID,
      async sendRejectionNotice(to, subject, reason) {
        if (isNoAutomaticMailAddress(to) || (await ctx.service.people.isUndeliverable(to))) return;
        const since = new Date(Date.now() - rateWindowMs);
        if ((await models.Outbound.countDocuments({ ticketNumber: 0, email: to, at: { $gte: since } })) >= config.MAIL_RATE_LIMIT) return;
        const messageId = addresses.messageIdFor('event', `notice.${randomUUID()}`);
        await transport.send({
          from: { name: addresses.fromName, address: addresses.fromAddress }, to,
          subject: `Not delivered: ${subject}`.slice(0, 200),
          text: `Your message "${subject}" did not reach the helpdesk: ${reason}.\nPlease send it again with smaller attachments, or share them as links.`,
          messageId: `<${messageId}>`,
          headers: { 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'OOF, AutoReply', 'x-deskbridge-loop': addresses.loopMarker },
        });
        await models.Outbound.create({ _id: `notice:${messageId}`, messageId, ticketNumber: 0, email: to, status: 'sent', reason: 'too-large notice', at: new Date() });
      },
    });

    if (config.IMAP_URL) {
      const url = config.IMAP_URL;
      ctx.scheduler.define('email:imap-poll', async () => {
        // One poller per mailbox across every instance, even when a poll outlasts agenda's job lock.
        const mailbox = createHash('sha256').update(url).digest('hex').slice(0, 16);
        const res = await withLease(mailDb(ctx.db.connection), `imap-poll:${mailbox}`, 60_000, () => pollImap(url, pipeline, logger));
        if (!res.ran) logger.debug('imap poll skipped: another instance is polling this mailbox');
      });
      ctx.scheduler.every(config.IMAP_POLL_INTERVAL, 'email:imap-poll');
    }
    registerFullMessageRoutes(ctx, blobs);
    bridges.set(ctx, { pipeline, parser, spool, largeInFlight, notifier, models, blobs, addresses, transport, smtp: null, fullMessage: (id) => fullMessage(ctx, blobs, id) });
  },

  async start(ctx) {
    const { config } = ctx;
    if (!config.INBOUND_SMTP_ENABLED) return;
    const bridge = emailBridgeOf(ctx);
    const accepted = config.INBOUND_SMTP_ACCEPT.split(',').map((a) => a.trim().toLowerCase()).filter(Boolean);
    const tls = config.SMTP_TLS_CERT && config.SMTP_TLS_KEY
      ? { cert: await readFile(config.SMTP_TLS_CERT), key: await readFile(config.SMTP_TLS_KEY) }
      : null;
    const smtp = await startSmtpListener({
      pipeline: bridge.pipeline, spool: bridge.spool, largeInFlight: bridge.largeInFlight, logger: ctx.logger, host: config.INBOUND_SMTP_HOST, port: config.INBOUND_SMTP_PORT,
      maxBytes: config.MAIL_MAX_BYTES, hostname: bridge.addresses.replyDomain,
      tls,
      auth: config.SMTP_AUTH_USER && config.SMTP_AUTH_PASSWORD ? { user: config.SMTP_AUTH_USER, password: config.SMTP_AUTH_PASSWORD } : null,
      authRequired: config.INBOUND_SMTP_AUTH_REQUIRED,
      acceptsRecipient: (address) => {
        const a = address.toLowerCase();
        return bridge.addresses.isOurs(a) || accepted.some((x) => (x.startsWith('@') ? a.endsWith(x) : a === x));
      },
      maxClients: config.INBOUND_SMTP_MAX_CLIENTS,
      maxConnectionsPerIp: config.INBOUND_SMTP_MAX_CONNECTIONS_PER_IP,
      messagesPerIpPerMinute: config.INBOUND_SMTP_MESSAGES_PER_IP_PER_MINUTE,
      trustedIps: config.INBOUND_SMTP_TRUSTED_IPS.split(',').map((a) => a.trim()).filter(Boolean),
      proxyProtocolFrom: config.INBOUND_SMTP_PROXY_PROTOCOL_FROM.trim() === '*' ? true
        : config.INBOUND_SMTP_PROXY_PROTOCOL_FROM.split(',').map((a) => a.trim()).filter(Boolean),
    });
    bridge.smtp = smtp;
    ctx.logger.info({ port: smtp.port, host: config.INBOUND_SMTP_HOST }, 'inbound SMTP listening');
    ctx.onStop(() => smtp.close());
  },
};
