import type { CliCommand } from '../cli-commands.js';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../logger.js';
import { resolveDatabase } from '../runtime.js';
import { headerEnd, type IngestResult } from './inbound.js';
import { Capacity } from './spool.js';

function deferred<T>(): { promise: Promise<T>; resolve(v: T): void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

/**
 * `deskbridge mail ingest [FILE...|-]`: one RFC 822 message per file (or one from stdin), in
 * order, through the same pipeline as SMTP and IMAP, in one process with one database
 * connection, MAIL_INGEST_CONCURRENCY at a time. Prints one JSON line per message; exits non-zero when any was rejected or failed.
 */
export const mailIngestCommand: CliCommand = {
  name: 'mail',
  usage: 'deskbridge mail ingest [FILE...|-]    import RFC 822 messages (one per file, or stdin)',
  async run(args) {
    const [sub, ...files] = args;
    if (sub !== 'ingest') {
      process.stderr.write('usage: deskbridge mail ingest [FILE...|-]\n');
      process.exitCode = 2;
      return;
    }
    const sources = files.length === 0 ? ['-'] : files;
    // Imported lazily: the app pulls in every module, which the other commands do not need.
    const { createApp } = await import('../app.js');
    const { emailBridgeOf } = await import('./module.js');
    const config = { ...loadConfig(), INBOUND_SMTP_ENABLED: false };
    const logger = createLogger(process.env.LOG_LEVEL ?? 'warn', { toStderr: true });
    const db = await resolveDatabase(config, logger);
    // Workers stay off: a running `serve` sends the notifications this import records.
    const app = await createApp(config, { mongoUri: db.uri, dbName: db.dbName, logger, workers: false });
    // Notifications are recorded as pending deliveries, not sent from this short-lived process.
    await app.ctx.deliveries.stop();
    let failures = 0;
    try {
      const { pipeline, spool } = emailBridgeOf(app.ctx);
      const slots = new Capacity(config.MAIL_INGEST_CONCURRENCY);
      const freed: (() => void)[] = [];
      const slot = async (): Promise<() => void> => {
        for (;;) {
          const release = slots.take();
          if (release) return () => { release(); freed.splice(0).forEach((wake) => wake()); };
          await new Promise<void>((wake) => freed.push(wake));
        }
      };
      const started: { messageId: Promise<string | null>; done: Promise<unknown> }[] = [];
      let printed: Promise<void> = Promise.resolve();
      for (const source of sources) {
        const release = await slot();
        const earlier = started.slice();
        const ownId = deferred<string | null>();
        const job = (async (): Promise<IngestResult> => {
          try {
            // Large input is never read whole: a file is parsed in place, stdin is spooled to a file.
            const raw = source === '-' ? await spool.fromStream(process.stdin) : await spool.fromFile(source);
            try {
              // Several messages at once, but a reply (or a second copy) waits for the earlier
              // message it names, and a message without Message-ID for everything before it:
              // threading and duplicate detection see the same order as one at a time.
              const header = raw.head.subarray(0, headerEnd(raw.head)).toString('latin1');
              const messageId = /^message-id:[ \t]*(<[^>\r\n]+>)/im.exec(header)?.[1] ?? null;
              ownId.resolve(messageId);
              const waits = await Promise.all(earlier.map(async (e) => {
                const id = await e.messageId;
                return !messageId || !id || header.includes(id) ? e.done : null;
              }));
              await Promise.all(waits);
              return await pipeline.ingestSpooled(raw, { via: 'pipe' });
            } finally {
              await raw.dispose();
            }
          } catch (err) {
            return { status: 'rejected', ticketNumber: null, entryId: null, author: null, visibleText: null, reason: `failed: ${(err as Error).message}` };
          } finally {
            ownId.resolve(null);
            release();
          }
        })();
        started.push({ messageId: ownId.promise, done: job });
        // Lines come out in the order of the input, whatever finished first.
        printed = printed.then(async () => {
          const line = await job;
          if (line.status === 'rejected') failures++;
          process.stdout.write(JSON.stringify({ ...(sources.length > 1 ? { file: source } : {}), ...line }) + '\n');
        });
      }
      await printed;
    } finally {
      await app.stop();
      await db.embedded?.stop();
    }
    if (failures > 0) process.exitCode = 1;
  },
};
