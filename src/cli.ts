#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config/index.js';
import { createApp } from './app.js';
import { createLogger } from './logger.js';
import { ensureApiToken, resolveDatabase } from './runtime.js';
import { reportEmbeddedEvents, startEmbeddedDatabase } from './store/embedded.js';
import { connectDatabase } from './store/database.js';
import { PeopleService } from './tickets/people.js';
import { DeskbridgeError } from './domain/errors.js';
import { extraCommands } from './cli-commands.js';
import path from 'node:path';

const HELP = `deskbridge — helpdesk worked from Slack and Microsoft Teams

Usage:
  deskbridge serve                      run the service (HTTP on PORT, default 3000)
  deskbridge db                         run the embedded database in the foreground;
                                        prints MONGODB_URI=... first
  deskbridge db migrate                 copy an old FerretDB 1/SQLite DATA_DIR into the
                                        embedded database (keeps the old files)
  deskbridge people add --technician EMAIL [--name NAME] [--admin]
  deskbridge people add --contact EMAIL [--name NAME]
${extraCommands.map((c) => `  ${c.usage}`).join('\n')}
Configuration comes from the environment; see README.md.`;

async function serve(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);
  let stopping = false;
  let app: Awaited<ReturnType<typeof createApp>> | null = null;
  let db: Awaited<ReturnType<typeof resolveDatabase>> | null = null;
  let listening: Promise<unknown> | null = null;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    // A signal during start (workers still starting after /healthz is up) must not close the
    // database under them: let the start finish, then stop.
    await listening?.catch(() => undefined);
    await app?.stop().catch((err) => logger.error({ err }, 'stop failed'));
    await db?.embedded?.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  // While stopping, work cut short by the closing database may reject; that is expected, not a crash.
  const crash = (kind: string) => (err: unknown) => {
    if (stopping) return logger.debug({ err }, `${kind} while stopping`);
    logger.fatal({ err }, kind);
    process.exit(1);
  };
  process.on('unhandledRejection', crash('unhandled rejection'));
  process.on('uncaughtException', crash('uncaught exception'));
  const token = ensureApiToken(config, logger);
  db = await resolveDatabase(config, logger);
  app = await createApp({ ...config, DESKBRIDGE_API_TOKEN: token }, { mongoUri: db.uri, dbName: db.dbName, logger });
  const started = app.listen();
  listening = started;
  const { port } = await started;
  logger.info({ port, url: config.publicUrl }, 'deskbridge is listening');
}

async function runDb(): Promise<void> {
  const config = loadConfig();
  let stopping = false;
  let db: Awaited<ReturnType<typeof startEmbeddedDatabase>> | null = null;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await db?.stop();
    process.exit(0);
  };
  // Handlers first: a Ctrl-C that comes right after the URI is printed must still stop cleanly.
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
  db = await startEmbeddedDatabase({ dataDir: path.resolve(config.DATA_DIR, 'db'), port: config.EMBEDDED_DB_PORT || undefined });
  process.stdout.write(`MONGODB_URI=${db.uri}deskbridge\n`);
  reportEmbeddedEvents(db, (line) => process.stderr.write(`${line}\n`));
  process.stderr.write(`embedded database (FerretDB 2 + PostgreSQL/DocumentDB) running with data in ${db.dataDir}; Ctrl-C stops it\n`);
}

async function migrateCommand(args: string[]): Promise<void> {
  if (args.length) throw new DeskbridgeError('VALIDATION_FAILED', 'usage: deskbridge db migrate');
  const config = loadConfig();
  if (config.MONGODB_URI) {
    throw new DeskbridgeError('VALIDATION_FAILED', 'deskbridge db migrate copies the embedded database in DATA_DIR; unset MONGODB_URI to run it');
  }
  const { migrateLegacyDatabase } = await import('./store/migrate-legacy.js');
  await migrateLegacyDatabase({ dataDir: path.resolve(config.DATA_DIR, 'db'), log: (line) => process.stderr.write(`migrate: ${line}\n`) });
}

/** For one-shot commands: a database connection (embedded started if needed) for `fn`. */
export async function withService<T>(fn: (people: PeopleService, uri: string, dbName?: string) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const logger = createLogger(process.env.LOG_LEVEL ?? 'warn', { toStderr: true });
  const resolved = await resolveDatabase(config, logger);
  const db = await connectDatabase(resolved.uri, { dbName: resolved.dbName });
  try {
    return await fn(new PeopleService(db.models), resolved.uri, resolved.dbName);
  } finally {
    await db.close();
    await resolved.embedded?.stop();
  }
}

async function people(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: { technician: { type: 'string' }, contact: { type: 'string' }, name: { type: 'string' }, admin: { type: 'boolean' } },
  });
  if (positionals[0] !== 'add' || (!values.technician && !values.contact)) {
    throw new DeskbridgeError('VALIDATION_FAILED', 'usage: deskbridge people add --technician EMAIL [--name NAME]');
  }
  if (values.admin && !values.technician) throw new DeskbridgeError('VALIDATION_FAILED', 'usage: --admin goes with --technician EMAIL');
  const roles = [...(values.technician ? ['technician' as const] : []), ...(values.admin ? ['admin' as const] : []), ...(values.contact ? ['contact' as const] : [])];
  const email = (values.technician ?? values.contact)!;
  await withService(async (svc) => {
    const { person, created } = await svc.register({ email, name: values.name, roles });
    process.stdout.write(`${created ? 'added' : 'updated'} ${person.email} (${person.roles.join(', ')}) id=${person.id}\n`);
  });
}

export async function main(argv = process.argv.slice(2)): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': return serve();
    case 'db': return rest[0] === 'migrate' ? migrateCommand(rest.slice(1)) : runDb();
    case 'people': return people(rest);
    case undefined: case 'help': case '--help': case '-h':
      process.stdout.write(HELP + '\n');
      return;
    default: {
      const extra = extraCommands.find((c) => c.name === command);
      if (extra) return extra.run(rest);
      process.stderr.write(`deskbridge: unknown command "${command}"\n\n${HELP}\n`);
      process.exit(2);
    }
  }
}

const isEntry = process.argv[1] && /cli\.(ts|js)$/.test(process.argv[1]);
if (isEntry) {
  main().catch(reportAndExit);
}

/** Known failures (bad config, bad input, no database) print one line; anything else its stack. */
export function reportAndExit(err: unknown): never {
  const known = err instanceof ConfigError || err instanceof DeskbridgeError || (err as { code?: string }).code === 'EMBEDDED_DB_UNAVAILABLE';
  process.stderr.write(`${known ? (err as Error).message : ((err as Error).stack ?? String(err))}\n`);
  process.exit(1);
}
