import type { CliCommand } from '../cli-commands.js';
import { loadConfig } from '../config/index.js';
import { createLogger } from '../logger.js';
import { resolveDatabase } from '../runtime.js';
import type { IngestResult } from './inbound.js';

/**
 * `deskbridge mail ingest [FILE...|-]`: one RFC 822 message per file (or one from stdin), in
 * order, through the same pipeline as SMTP and IMAP, in one process with one database
 * connection. Prints one JSON line per message; exits non-zero when any was rejected or failed.
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
      for (const source of sources) {
        let line: IngestResult | (IngestResult & { file: string; error: string });
        try {
          // Large input is never read whole: a file is parsed in place, stdin is spooled to a file.
          const raw = source === '-' ? await spool.fromStream(process.stdin) : await spool.fromFile(source);
          try {
            line = await pipeline.ingestSpooled(raw, { via: 'pipe' });
          } finally {
            await raw.dispose();
          }
        } catch (err) {
          line = { status: 'rejected', ticketNumber: null, entryId: null, author: null, visibleText: null, reason: `failed: ${(err as Error).message}` };
        }
        if (line.status === 'rejected') failures++;
        process.stdout.write(JSON.stringify({ ...(sources.length > 1 ? { file: source } : {}), ...line }) + '\n');
      }
    } finally {
      await app.stop();
      await db.embedded?.stop();
    }
    if (failures > 0) process.exitCode = 1;
  },
};
