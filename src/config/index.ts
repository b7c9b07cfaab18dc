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

  // --- slack
  /** Bot token (xoxb-...) of the one workspace; without it (and the signing secret) Slack is off. */
  SLACK_BOT_TOKEN: z.string().optional(),
  SLACK_SIGNING_SECRET: z.string().optional(),
  /** Channel id where each new ticket's card is posted. */
  SLACK_TICKETS_CHANNEL: z.string().optional(),
  /** Web API base URL (tests point it at a stand-in; Enterprise/Gov endpoints). */
  SLACK_API_URL: z.string().url().default('https://slack.com/api/'),
  /** Seconds a public thread reply is held so the technician can undo it or make it a note. */
  SLACK_UNDO_SECONDS: z.coerce.number().min(0).max(300).default(10),
  /** A card update waits this many ms so a burst of changes to one ticket becomes one chat.update. */
  SLACK_CARD_COALESCE_MS: z.coerce.number().int().min(0).max(10_000).default(500),
  /** Socket Mode (no public URL needed): events arrive over a WebSocket opened with the app token. */
  SLACK_SOCKET_MODE: bool(false),
  /** App-level token (xapp-..., scope connections:write) for Socket Mode. */
  SLACK_APP_TOKEN: z.string().optional(),
  /** OAuth install flow for several workspaces (all three set): /slack/install, /slack/oauth_redirect. */
  SLACK_CLIENT_ID: z.string().optional(),
  SLACK_CLIENT_SECRET: z.string().optional(),
  SLACK_STATE_SECRET: z.string().optional(),
  /** With OAuth and no SLACK_BOT_TOKEN: the workspace (team id) whose installation posts the cards. */
  SLACK_TEAM_ID: z.string().optional(),
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
