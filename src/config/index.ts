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

  // --- portal (end-user web pages under /portal)
  /** Lifetime of a sign-in link requested on the portal's sign-in page. */
  PORTAL_SIGNIN_LINK_MINUTES: z.coerce.number().int().min(1).max(60).default(10),
  /** Lifetime of the sign-in link carried by each ticket email (mail is often read hours later). */
  PORTAL_EMAIL_LINK_HOURS: z.coerce.number().int().min(1).max(24 * 30).default(72),
  /** Lifetime of a portal session (fixed, not sliding). */
  PORTAL_SESSION_HOURS: z.coerce.number().int().min(1).max(24 * 30).default(12),
  /** Sign-in link requests allowed per address, and per client IP, in each window. */
  PORTAL_SIGNIN_LIMIT_PER_ADDRESS: z.coerce.number().int().min(1).default(5),
  PORTAL_SIGNIN_LIMIT_PER_IP: z.coerce.number().int().min(1).default(30),
  PORTAL_SIGNIN_WINDOW_MINUTES: z.coerce.number().int().min(1).default(15),

  // --- technician console (docs/console.md)
  /** How long a console sign-in lasts. */
  CONSOLE_SESSION_HOURS: z.coerce.number().int().min(1).max(24 * 30).default(12),
  /** How often an open ticket page renews its presence and shows who else is working on it. */
  CONSOLE_PRESENCE_POLL_MS: z.coerce.number().int().min(200).max(120_000).default(15_000),
  /** How often an instance with open console pages reads events other instances stored (one query per instance). */
  CONSOLE_LIVE_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(500),
  /** Optional single sign-on with any OpenID Connect provider (all three set): /console/sso. */
  OIDC_ISSUER: z.string().url().optional(),
  OIDC_CLIENT_ID: z.string().optional(),
  OIDC_CLIENT_SECRET: z.string().optional(),

  // --- teams (Microsoft Teams bot; names are the Bot Framework's standard ones)
  /** Azure bot registration id; without it the bot runs unauthenticated (Bot Framework Emulator style). */
  /** false: no Teams bot and no Teams cards; Bot Framework's SDK is then never loaded (~40 MB less RSS). */
  TEAMS_ENABLED: bool(true),
  MicrosoftAppId: z.string().default(''),
  MicrosoftAppPassword: z.string().default(''),
  MicrosoftAppType: z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI']).default('MultiTenant'),
  MicrosoftAppTenantId: z.string().default(''),
  /** Conversation id of the channel new ticket cards go to; default: the channel the app was added to last. */
  TEAMS_TICKETS_CHANNEL: z.string().optional(),
  /** Comments longer than this are cut on cards with "Show full comment" (keeps cards under ~28 KB). */
  TEAMS_CARD_COMMENT_CHARS: z.coerce.number().int().min(200).max(20000).default(3000),
  /**
   * After a crash during a Teams post, look the message up with Microsoft Graph before posting it
   * again (docs/teams.md "Posting exactly once"). Off by default; needs the RSC permissions in the manifest.
   */
  TEAMS_GRAPH_LOOKUP: bool(false),
  /** The Entra app Graph is called as; default: the bot's (MicrosoftAppId / MicrosoftAppPassword). */
  TEAMS_GRAPH_CLIENT_ID: z.string().optional(),
  TEAMS_GRAPH_CLIENT_SECRET: z.string().optional(),
  /** The Teams app's manifest id, to find a user's 1:1 chat with it; default: the id in manifests/teams/manifest.json. */
  TEAMS_APP_MANIFEST_ID: z.string().uuid().optional(),
  /** Where Graph and the Microsoft identity platform live (national clouds; tests point these at stand-ins). */
  TEAMS_GRAPH_URL: z.string().url().default('https://graph.microsoft.com'),
  TEAMS_LOGIN_URL: z.string().url().default('https://login.microsoftonline.com'),

  // --- email bridge (inbound SMTP listener, IMAP poll, limits)
  /** Run the built-in inbound SMTP listener in `serve`. */
  INBOUND_SMTP_ENABLED: bool(true),
  /** Port of the inbound SMTP listener (0 = any free port). */
  INBOUND_SMTP_PORT: z.coerce.number().int().min(0).max(65535).default(2525),
  /** Interface the inbound SMTP listener binds to; loopback unless you put it behind your MTA. */
  INBOUND_SMTP_HOST: z.string().default('127.0.0.1'),
  /** PEM certificate and key files: the inbound listener offers STARTTLS (needed before AUTH). */
  SMTP_TLS_CERT: z.string().optional(),
  SMTP_TLS_KEY: z.string().optional(),
  /** Credentials a relay may AUTH with (PLAIN/LOGIN, after STARTTLS); authenticated relays skip the per-IP message rate. */
  SMTP_AUTH_USER: z.string().optional(),
  SMTP_AUTH_PASSWORD: z.string().optional(),
  /** Refuse mail from sessions that did not authenticate (only your relay may deliver). */
  INBOUND_SMTP_AUTH_REQUIRED: bool(false),
  /** More recipient addresses or @domains accepted besides MAIL_FROM and its +token forms (comma-separated). */
  INBOUND_SMTP_ACCEPT: z.string().default(''),
  /** Connections at once in total, at once per client IP (421 beyond), and messages per client IP per minute (451 beyond). */
  INBOUND_SMTP_MAX_CLIENTS: z.coerce.number().int().min(1).default(200),
  INBOUND_SMTP_MAX_CONNECTIONS_PER_IP: z.coerce.number().int().min(1).default(10),
  INBOUND_SMTP_MESSAGES_PER_IP_PER_MINUTE: z.coerce.number().int().min(1).default(120),
  /** Client IPs the per-IP limits do not apply to (comma-separated): your MTA; loopback by default. */
  INBOUND_SMTP_TRUSTED_IPS: z.string().default('127.0.0.1,::1,::ffff:127.0.0.1'),
  /**
   * Balancers that put a PROXY protocol (v1) header in front of each SMTP connection, so the per-IP
   * limits and the log see the sender's address instead of the balancer's: their addresses
   * (comma-separated), or `*` for any peer (only when nothing else can reach the port). Empty: off.
   */
  INBOUND_SMTP_PROXY_PROTOCOL_FROM: z.string().default('').refine((v) => v.trim() === '*' || !v.split(',').some((a) => a.trim() === '*'), 'either "*" alone or a list of addresses'),
  /** authserv-id of your MTA: only its Authentication-Results header is read (unset: the topmost one). */
  MAIL_AUTHSERV_ID: z.string().optional(),
  /** Largest inbound message, attachments included (bytes); larger mail is rejected with 552. */
  MAIL_MAX_BYTES: z.coerce.number().int().positive().default(20 * 1024 * 1024),
  /** Outbound mail carries an entry's files up to this total (bytes); above it the mail links to the request instead. */
  MAIL_OUTBOUND_ATTACHMENTS_MAX_BYTES: z.coerce.number().int().min(0).default(15 * 1024 * 1024),
  /** imap(s)://user:password@host[:port]/MAILBOX — poll this mailbox for new mail (unset: no polling). */
  IMAP_URL: z.string().optional(),
  /** How often the IMAP mailbox is polled (agenda interval, e.g. "1 minute"). */
  IMAP_POLL_INTERVAL: z.string().default('1 minute'),
  /** At most this many automatic mails per recipient per ticket within MAIL_RATE_WINDOW_SECONDS. */
  MAIL_RATE_LIMIT: z.coerce.number().int().positive().default(10),
  MAIL_RATE_WINDOW_SECONDS: z.coerce.number().int().positive().default(600),
  /** Messages at least this big are spooled to a file and parsed on a worker thread (0 = always in memory, inline). */
  MAIL_PARSE_WORKER_BYTES: z.coerce.number().int().min(0).default(1024 * 1024),
  /** Worker threads parsing large messages at once (more wait in order); each costs ~20–60 MB of RSS. */
  MAIL_PARSE_WORKERS: z.coerce.number().int().min(1).max(16).default(1),
  /** A parse worker with nothing to do for this long is stopped (its heap and buffers go back); the next large message starts one. 0 = never. */
  MAIL_PARSE_WORKER_IDLE_SECONDS: z.coerce.number().min(0).default(60),
  /** Large messages in progress over SMTP at once (spooled, parsing or storing); beyond: 451, the sender retries. */
  MAIL_LARGE_IN_FLIGHT: z.coerce.number().int().min(1).default(8),
  /** Messages `deskbridge mail ingest` works on at once (replies still wait for what they answer). */
  MAIL_INGEST_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
  /** Where large inbound messages are spooled while they are processed (default DATA_DIR/mail-spool). */
  MAIL_SPOOL_DIR: z.string().default(''),

  // --- ai, automations and jobs
  /** OpenAI-compatible endpoint (OpenAI, Azure OpenAI, Ollama, vLLM, LM Studio). Default: OpenAI's. */
  OPENAI_BASE_URL: z.string().url().optional(),
  /** Enables AI drafts and model sentiment. Local servers that need no key take any placeholder. */
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_MODEL: z.string().default('gpt-4o-mini'),
  /** Per request; a slower answer becomes a clear UNAVAILABLE error. */
  OPENAI_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /** Sentiment from the model (true) or always the lexicon (false), when a model is configured. */
  AI_SENTIMENT: bool(true),
  /** How often the time-based automation rules (incl. auto-close) are evaluated. */
  AUTOMATIONS_INTERVAL: z.string().default('5 minutes'),

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

  // --- operations (database outage behaviour, scheduler timing, metrics; see docs/benchmarks.md)
  /** How long a database call waits for a reachable server before the API answers 503. */
  DB_SERVER_SELECTION_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5000),
  /** Count database commands by name (the driver's command monitoring) and show them in /metrics; costs some CPU per command. */
  DB_COMMAND_COUNTS: bool(false),
  /** How often agenda looks for due jobs. */
  SCHEDULER_PROCESS_EVERY_MS: z.coerce.number().int().min(50).default(2000),
  /** How long a job stays locked to a worker; a worker that dies frees its jobs after this. */
  SCHEDULER_LOCK_LIFETIME_MS: z.coerce.number().int().min(200).default(5 * 60_000),
  /** At stop: how long in-flight work (requests, jobs, deliveries, Slack events) may take before the database closes. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(10_000),

  // --- retention (issue 15; see docs/faults.md): days (0 = keep forever); conversation and activity log are never pruned
  RETENTION_EVENTS_DAYS: z.coerce.number().int().min(0).default(30),
  RETENTION_DELIVERIES_DAYS: z.coerce.number().int().min(0).default(30),
  RETENTION_INBOUND_DAYS: z.coerce.number().int().min(0).default(90),
  RETENTION_RAW_MAIL_DAYS: z.coerce.number().int().min(0).default(180),
  RETENTION_ORPHAN_ATTACHMENT_HOURS: z.coerce.number().int().min(0).default(24),
  /** How often the retention job runs (agenda interval). */
  RETENTION_INTERVAL: z.string().default('1 day'),

  // --- channel fault tolerance (issue 8; see docs/faults.md)
  /** An inbound mail whose first delivery died mid-way (nothing stored) is answered 451 until its claim is this old, then taken over. */
  MAIL_CLAIM_STALE_SECONDS: z.coerce.number().int().min(1).default(120),
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
  const pairs: [keyof typeof c, keyof typeof c][] = [['SMTP_TLS_CERT', 'SMTP_TLS_KEY'], ['SMTP_AUTH_USER', 'SMTP_AUTH_PASSWORD']];
  for (const [a, b] of pairs) {
    if (!c[a] !== !c[b]) throw new ConfigError(`invalid configuration:\n  ${c[a] ? b : a}: required together with ${c[a] ? a : b}`);
  }
  if (c.INBOUND_SMTP_AUTH_REQUIRED && !c.SMTP_AUTH_USER) {
    throw new ConfigError('invalid configuration:\n  INBOUND_SMTP_AUTH_REQUIRED: needs SMTP_AUTH_USER and SMTP_AUTH_PASSWORD');
  }
  return { ...c, publicUrl: (c.PUBLIC_URL ?? `http://localhost:${c.PORT}`).replace(/\/+$/, '') };
}
