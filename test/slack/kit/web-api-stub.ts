import { createServer, type IncomingMessage, type Server } from 'node:http';
import { SlackContracts } from './contracts.js';
import { SlidingWindowLimiter, type Limit } from '../../../bench/lib/standins.js';

export interface RecordedCall {
  method: string;
  args: Record<string, string>;
  /** args with blocks/attachments/view parsed from their JSON. */
  json: Record<string, any>;
  token: string | null;
  at: number;
  /** 429 when a rate limit (rateLimit()) refused it. */
  status?: number;
}

export interface StubUser { id: string; email: string; name: string; image?: string; isBot?: boolean }

const JSON_ARGS = ['blocks', 'attachments', 'view', 'metadata'];

/**
 * A local stand-in for Slack's Web API. Records every call, validates it against the published
 * spec and Block Kit schema (violations collect in `violations`; the call gets ok:false), answers
 * like Slack, and can answer 429 with Retry-After.
 */
export class SlackWebApiStub {
  readonly calls: RecordedCall[] = [];
  readonly violations: string[] = [];
  readonly users = new Map<string, StubUser>();
  /** Messages per channel, for conversations.history / replies. */
  readonly messages: { channel: string; ts: string; text: string; user?: string; thread_ts?: string; metadata?: unknown }[] = [];
  private readonly rateLimits: { method: string; retryAfter: number }[] = [];
  private server: Server | null = null;
  private tsCounter = 1_700_000_000_000;
  url = '';
  /** What apps.connections.open hands out (a SocketModeStub's url). */
  socketUrl = '';

  constructor(private readonly contracts = new SlackContracts(), readonly botUserId = 'UBOT', readonly teamId = 'T0001') {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void this.handle(req).then(({ status, headers, body }) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const addr = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${addr.port}/api/`;
    return this.url;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    const s = this.server;
    this.server = null;
    await new Promise<void>((r) => s.close(() => r()));
    s.closeAllConnections?.();
  }

  addUser(u: StubUser): void {
    this.users.set(u.id, u);
  }

  private readonly delays: { method: string; ms: number }[] = [];
  private readonly answerDelays: { method: string; ms: number }[] = [];

  /** The next call of `method` answers only after `ms` (a slow Slack). */
  delayNext(method: string, ms: number): void {
    this.delays.push({ method, ms });
  }

  /** The next call of `method` takes effect at once (e.g. the message is posted) but answers only after `ms`. */
  delayNextAnswer(method: string, ms: number): void {
    this.answerDelays.push({ method, ms });
  }

  private readonly limits = new Map<string, { limiter: SlidingWindowLimiter; perChannel: boolean }>();
  private readonly blockedUntil = new Map<string, number>();
  /** Calls to a limited method (or channel) made before the Retry-After it was given had passed. */
  retryAfterIgnored = 0;

  /**
   * From now on `method` is limited as Slack publishes it (bench/lib/standins.ts slackLimitFor reads
   * the tier list): per workspace, or per channel for chat.postMessage. Beyond it: 429 with
   * Retry-After in whole seconds; a call before that has passed is counted in retryAfterIgnored.
   */
  rateLimit(method: string, limits: Limit[], perChannel: boolean): void {
    this.limits.set(method, { limiter: new SlidingWindowLimiter(limits), perChannel });
  }

  private readonly answerHolds: { method: string; released: Promise<void> }[] = [];

  /**
   * The next call of `method` takes effect at once but is answered only when the returned function
   * is called (a crash test takes the process's database away in between, whatever the machine's load).
   */
  holdNextAnswer(method: string): () => void {
    let release!: () => void;
    this.answerHolds.push({ method, released: new Promise<void>((r) => { release = r; }) });
    return () => release();
  }

  /** The next call of `method` answers 429 with Retry-After: seconds. */
  rateLimitNext(method: string, retryAfterSeconds: number): void {
    this.rateLimits.push({ method, retryAfter: retryAfterSeconds });
  }

  callsTo(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Polls (short interval) until `predicate` holds over the recorded calls. */
  async waitFor(predicate: (calls: RecordedCall[]) => boolean, what = 'calls', timeoutMs = 8000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!predicate(this.calls)) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}; calls: ${this.calls.map((c) => c.method).join(', ')}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  reset(): void {
    this.calls.length = 0;
    this.violations.length = 0;
  }

  private shape(m: { ts: string; text: string; user?: string; thread_ts?: string }): Record<string, unknown> {
    return { type: 'message', user: m.user, text: m.text, ts: m.ts, ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}), ...(m.user === this.botUserId ? { bot_id: 'BBOT' } : {}) };
  }

  private lastToken: string | null = null;

  private nextTs(): string {
    this.tsCounter += 1;
    return `${Math.floor(this.tsCounter / 1000)}.${String(this.tsCounter % 1000).padStart(3, '0')}100`;
  }

  /** Channels the bot is not a member of (private channels, DMs between people): posting there fails like Slack. */
  readonly notMemberOf = new Set<string>();

  /** A response_url for a slash command or interaction; what is posted to it is recorded as method "response_url". */
  responseUrl(id = String(++this.responseSeq)): string {
    return this.url.replace(/\/api\/$/, `/response/${id}`);
  }
  private responseSeq = 0;

  private async handle(req: IncomingMessage): Promise<{ status: number; headers?: Record<string, string>; body: unknown }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://stub');
    if (url.pathname.startsWith('/response/')) {
      // Slack's response_url takes a JSON message (text, blocks, response_type), no token.
      let json: Record<string, any> = {};
      try { json = JSON.parse(raw); } catch { this.violations.push('response_url: body is not JSON'); }
      const args: Record<string, string> = {};
      for (const [k, v] of Object.entries(json)) args[k] = typeof v === 'string' ? v : JSON.stringify(v);
      this.calls.push({ method: 'response_url', args, json, token: null, at: Date.now() });
      if (typeof json.text !== 'string' && !Array.isArray(json.blocks)) this.violations.push('response_url: neither text nor blocks');
      if (json.blocks !== undefined) this.violations.push(...this.contracts.checkMessageBlocks(json.blocks, 'response_url.blocks'));
      return { status: 200, body: 'ok' };
    }
    const method = url.pathname.replace(/^\/api\//, '');
    const args: Record<string, string> = {};
    for (const [k, v] of url.searchParams) args[k] = v;
    if ((req.headers['content-type'] ?? '').includes('application/json')) {
      for (const [k, v] of Object.entries(JSON.parse(raw || '{}'))) args[k] = typeof v === 'string' ? v : JSON.stringify(v);
    } else {
      for (const [k, v] of new URLSearchParams(raw)) args[k] = v;
    }
    const auth = req.headers.authorization;
    const token = auth?.startsWith('Bearer ') ? auth.slice(7) : (args.token ?? null);
    const json: Record<string, any> = { ...args };
    for (const k of JSON_ARGS) if (args[k] !== undefined) { try { json[k] = JSON.parse(args[k]!); } catch { /* reported by the contract check */ } }
    const call: RecordedCall = { method, args, json, token, at: Date.now() };
    this.lastToken = token;
    this.calls.push(call);
    const delayIdx = this.delays.findIndex((d) => d.method === method);
    if (delayIdx >= 0) {
      const [d] = this.delays.splice(delayIdx, 1);
      await new Promise((r) => setTimeout(r, d!.ms));
    }
    const limited = this.limits.get(method);
    if (limited) {
      const key = limited.perChannel ? `${method}:${args.channel ?? ''}` : method;
      const now = Date.now();
      if ((this.blockedUntil.get(key) ?? 0) > now) this.retryAfterIgnored++;
      const wait = limited.limiter.take(key, now);
      if (wait > 0) {
        const seconds = Math.max(1, Math.ceil(wait / 1000));
        this.blockedUntil.set(key, now + seconds * 1000);
        call.status = 429;
        return { status: 429, headers: { 'retry-after': String(seconds) }, body: { ok: false, error: 'ratelimited' } };
      }
    }
    const limitIdx = this.rateLimits.findIndex((l) => l.method === method);
    if (limitIdx >= 0) {
      const [l] = this.rateLimits.splice(limitIdx, 1);
      return { status: 429, headers: { 'retry-after': String(l!.retryAfter) }, body: { ok: false, error: 'ratelimited' } };
    }
    if (!token && !method.startsWith('oauth.')) this.violations.push(`${method}: no token`);
    const problems = this.contracts.checkCall(method, args);
    if (problems.length > 0) {
      this.violations.push(...problems);
      return { status: 200, body: { ok: false, error: 'invalid_arguments', response_metadata: { messages: problems } } };
    }
    if ((method === 'chat.postEphemeral' || method === 'chat.postMessage') && this.notMemberOf.has(args.channel ?? '')) {
      return { status: 200, body: { ok: false, error: 'channel_not_found' } };
    }
    const body = this.answer(method, args);
    const answerIdx = this.answerDelays.findIndex((d) => d.method === method);
    if (answerIdx >= 0) {
      const [d] = this.answerDelays.splice(answerIdx, 1);
      await new Promise((r) => setTimeout(r, d!.ms));
    }
    const holdIdx = this.answerHolds.findIndex((d) => d.method === method);
    if (holdIdx >= 0) await this.answerHolds.splice(holdIdx, 1)[0]!.released;
    return { status: 200, body };
  }

  private answer(method: string, a: Record<string, string>): Record<string, unknown> {
    switch (method) {
      case 'auth.test': {
        // Answers for the workspace the token belongs to (xoxb-<team> from the install flow).
        const team = /^xoxb-([TE]\w+)$/.exec(a.token ?? this.lastToken ?? '')?.[1] ?? this.teamId;
        return {
          ok: true, url: 'https://example.slack.com/', team: 'Example', user: 'deskbridge', team_id: team, user_id: team === this.teamId ? this.botUserId : `UBOT${team}`, bot_id: 'BBOT',
          ...(team.startsWith('E') ? { enterprise_id: team, is_enterprise_install: true } : {}),
        };
      }
      case 'chat.postMessage': {
        const ts = this.nextTs();
        // Message metadata (event_type + event_payload) is kept and returned by history with include_all_metadata.
        const metadata = a.metadata ? JSON.parse(a.metadata) as unknown : undefined;
        this.messages.push({ channel: a.channel!, ts, text: a.text ?? '', user: this.botUserId, thread_ts: a.thread_ts, metadata });
        return { ok: true, channel: a.channel, ts, message: { type: 'message', text: a.text ?? '', user: this.botUserId, ts, bot_id: 'BBOT' } };
      }
      case 'chat.update':
        return { ok: true, channel: a.channel, ts: a.ts, text: a.text ?? '' };
      case 'chat.postEphemeral':
        return { ok: true, message_ts: this.nextTs() };
      case 'chat.delete':
        return { ok: true, channel: a.channel, ts: a.ts };
      case 'chat.getPermalink':
        return { ok: true, channel: a.channel, permalink: `https://example.slack.com/archives/${a.channel}/p${(a.message_ts ?? '').replace('.', '')}` };
      case 'views.open': case 'views.push': case 'views.update':
        return { ok: true, view: { id: `V${this.nextTs().replace('.', '')}`, ...JSON.parse(a.view ?? '{}') } };
      case 'views.publish':
        return { ok: true, view: { id: 'VHOME', ...JSON.parse(a.view ?? '{}') } };
      case 'conversations.open':
        return { ok: true, channel: { id: `D${(a.users ?? '').split(',')[0]}` } };
      case 'conversations.history': {
        // Top-level messages only, newest first, up to `latest` (inclusive when asked), like Slack.
        const latest = a.latest ?? '9999999999.999999';
        const top = this.messages.filter((m) => m.channel === a.channel && (!m.thread_ts || m.thread_ts === m.ts))
          .filter((m) => (a.inclusive === 'true' || a.inclusive === '1' ? m.ts <= latest : m.ts < latest))
          .sort((x, y) => y.ts.localeCompare(x.ts)).slice(0, Number(a.limit ?? 100));
        const withMeta = a.include_all_metadata === 'true' || a.include_all_metadata === '1';
        return { ok: true, messages: top.map((m) => ({ ...this.shape(m), ...(withMeta && m.metadata ? { metadata: m.metadata } : {}) })), has_more: false };
      }
      case 'conversations.replies': {
        const hit = this.messages.find((m) => m.channel === a.channel && m.ts === a.ts);
        const parentTs = hit?.thread_ts ?? a.ts;
        const thread = this.messages.filter((m) => m.channel === a.channel && (m.ts === parentTs || m.thread_ts === parentTs));
        const withMeta = a.include_all_metadata === 'true' || a.include_all_metadata === '1';
        return { ok: true, messages: thread.map((m) => ({ ...this.shape(m), ...(withMeta && m.metadata ? { metadata: m.metadata } : {}) })), has_more: false };
      }
      case 'users.lookupByEmail': {
        const u = [...this.users.values()].find((x) => x.email.toLowerCase() === (a.email ?? '').toLowerCase());
        return u ? { ok: true, user: { id: u.id, team_id: this.teamId, name: u.name.toLowerCase(), real_name: u.name, profile: { email: u.email, real_name: u.name } } } : { ok: false, error: 'users_not_found' };
      }
      case 'users.info': {
        const u = this.users.get(a.user ?? '');
        if (!u) return { ok: false, error: 'user_not_found' };
        return { ok: true, user: { id: u.id, team_id: this.teamId, name: u.name.toLowerCase(), real_name: u.name, is_bot: Boolean(u.isBot), profile: { email: u.email, real_name: u.name, display_name: u.name, image_72: u.image ?? `https://avatars.example/${u.id}.png` } } };
      }
      case 'oauth.v2.access': {
        // A workspace install as the OAuth v2 flow returns it (the code names the workspace: "code-T0002").
        const team = (a.code ?? '').replace(/^code-/, '') || 'T0002';
        if (team.startsWith('E')) {
          // An org-wide Enterprise Grid install: no team, the enterprise instead.
          return {
            ok: true, app_id: 'A0001', authed_user: { id: 'U0OWNER' }, scope: 'chat:write,commands', token_type: 'bot',
            access_token: `xoxb-${team}`, bot_user_id: `UBOT${team}`, team: null, enterprise: { id: team, name: `Grid ${team}` }, is_enterprise_install: true,
          };
        }
        return {
          ok: true, app_id: 'A0001', authed_user: { id: 'U0OWNER' }, scope: 'chat:write,commands', token_type: 'bot',
          access_token: `xoxb-${team}`, bot_user_id: `UBOT${team}`, team: { id: team, name: `Team ${team}` }, enterprise: null, is_enterprise_install: false,
        };
      }
      case 'apps.connections.open':
        return this.socketUrl ? { ok: true, url: this.socketUrl } : { ok: false, error: 'invalid_auth' };
      case 'reactions.add':
        return { ok: true };
      default:
        return { ok: true };
    }
  }
}
