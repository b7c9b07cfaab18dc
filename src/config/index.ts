import { z } from 'zod';

/**
 * The whole configuration, read from the environment once at start and validated. Every part of
 * the app takes what it needs from here; nothing else reads process.env.
 */
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : v === 'true' || v === '1' || v === 'yes'));

const schema = z.object({
  NODE_ENV: z.string().default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  PUBLIC_URL: z.string().url().optional(),
  DATA_DIR: z.string().default('./data'),
  MONGODB_URI: z.string().optional(),
  /** Embedded database port (0 = any free port). */
  EMBEDDED_DB_PORT: z.coerce.number().int().min(0).max(65535).default(0),
  DESKBRIDGE_API_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  /** Run the scheduler (agenda) and delivery workers in this process. */
  WORKERS: bool(true),

  // --- email (outbound transport; shared by notifications and portal sign-in mail)
  /** smtp://user:pass@host:port; without it mail is written as .eml files under DATA_DIR/outbox. */
  SMTP_URL: z.string().optional(),
  MAIL_FROM: z.string().default('Helpdesk <support@localhost>'),
  /** Domain of the per-ticket Reply-To addresses (support+TOKEN@domain). */
  MAIL_REPLY_DOMAIN: z.string().optional(),

  // --- operations (database outage behaviour, scheduler timing, metrics; see docs/benchmarks.md)
  /** How long a database call waits for a reachable server before the API answers 503. */
  DB_SERVER_SELECTION_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5000),
  /** How often agenda looks for due jobs. */
  SCHEDULER_PROCESS_EVERY_MS: z.coerce.number().int().min(50).default(2000),
  /** How long a job stays locked to a worker; a worker that dies frees its jobs after this. */
  SCHEDULER_LOCK_LIFETIME_MS: z.coerce.number().int().min(200).default(5 * 60_000),
});

export type Config = z.infer<typeof schema> & { publicUrl: string };

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const c = parsed.data;
  return { ...c, publicUrl: (c.PUBLIC_URL ?? `http://localhost:${c.PORT}`).replace(/\/+$/, '') };
}
