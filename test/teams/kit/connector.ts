import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import * as Ajv04Module from 'ajv-draft-04';

// A CommonJS `exports.default` seen through ESM: the class may sit one .default deeper.
type Ajv04Class = typeof Ajv04Module.default.default;
const Ajv04: Ajv04Class = (Ajv04Module.default as unknown as { default?: Ajv04Class }).default ?? (Ajv04Module.default as unknown as Ajv04Class);
type Ajv04 = InstanceType<Ajv04Class>;
import { contractsDir } from './contracts.js';
import { SlidingWindowLimiter, type Limit } from '../../../bench/lib/standins.js';

/**
 * A local stand-in for the Bot Connector (what a Teams bot calls back on the activity's
 * serviceUrl). Records every call, checks it against the published ConnectorAPI.json (path,
 * verb, body schema), answers like the real service, and can be told to fail (429 and friends).
 */
export interface ConnectorCall {
  method: string;
  path: string;
  operationId: string | null;
  conversationId: string | null;
  activityId: string | null;
  body: any;
  /** Contract violations found in this call (the test asserts there are none). */
  problems: string[];
  /** The status the stand-in answered with. */
  status: number;
  /** When the stand-in received it (ms since epoch). */
  at: number;
  /** The activity id the stand-in answered a post or reply with (what Teams stores the message under). */
  resultId?: string;
}

export interface Member {
  id: string;
  name: string;
  aadObjectId?: string;
  email?: string;
  userPrincipalName?: string;
}

interface Operation { method: string; regex: RegExp; template: string; operationId: string; bodySchema: string | null }

function loadOperations(): { ops: Operation[]; ajv: Ajv04 } {
  const spec = JSON.parse(readFileSync(path.join(contractsDir, 'teams', 'ConnectorAPI.json'), 'utf8'));
  const ajv = new Ajv04({ strict: false, allErrors: true, validateFormats: false });
  ajv.addSchema({ id: 'connector', definitions: spec.definitions }, 'connector');
  const ops: Operation[] = [];
  for (const [template, verbs] of Object.entries<any>(spec.paths)) {
    const regex = new RegExp(`^${template.replace(/\{[^}]+\}/g, '([^/]+)')}$`);
    for (const [method, op] of Object.entries<any>(verbs)) {
      const body = (op.parameters ?? []).find((p: any) => p.in === 'body');
      const ref = body?.schema?.$ref as string | undefined;
      ops.push({ method: method.toUpperCase(), regex, template, operationId: op.operationId, bodySchema: ref ? `connector${ref}` : null });
    }
  }
  // Newer than the frozen ConnectorAPI.json, used on purpose: "Get single member"
  // (botframework-connector getConversationMemberOperationSpec, TeamsInfo.getMember; Microsoft's
  // replacement for the deprecated GET .../members).
  ops.push({ method: 'GET', regex: /^\/v3\/conversations\/([^/]+)\/members\/([^/]+)$/, template: '/v3/conversations/{conversationId}/members/{memberId}', operationId: 'Conversations_GetConversationMember', bodySchema: null });
  // Literal paths first, so /activities/history is not read as /activities/{activityId}.
  ops.sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0));
  return { ops, ajv };
}

export class ConnectorStandIn {
  readonly calls: ConnectorCall[] = [];
  /** Members each conversation lists (GET .../members); falls back to `directory`. */
  readonly members = new Map<string, Member[]>();
  directory: Member[] = [];
  /**
   * The non-paged GET .../members is deprecated and throttled by Teams (a few calls a minute, and
   * unreliable in large teams): the stand-in answers this many calls per minute, then 429.
   */
  membersListPerMinute = 2;
  private membersListCalls: number[] = [];
  private failures: { status: number; retryAfter?: string; match?: (c: ConnectorCall) => boolean }[] = [];
  private flaky: { rate: number; statuses: number[]; seed: number } | null = null;
  private server: Server | null = null;
  private seq = 1000;
  /** Teams' per-conversation limits, when enforced (rateLimit()): 429 with Retry-After beyond them. */
  private limiter: SlidingWindowLimiter | null = null;
  private readonly blockedUntil = new Map<string, number>();
  /** Calls to a conversation made before the Retry-After it was given had passed. */
  retryAfterIgnored = 0;
  private readonly contract = loadOperations();
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const addr = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${addr.port}/`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /**
   * From now on posts, replies and updates are limited per conversation as Teams publishes them
   * (e.g. bench/lib/standins.ts TEAMS_LIMITS: 7/s and 60 per 30 s): beyond them 429 with
   * Retry-After in whole seconds; a call before that has passed is counted in retryAfterIgnored.
   */
  rateLimit(limits: Limit[]): void {
    this.limiter = new SlidingWindowLimiter(limits);
  }

  /** The next `times` matching calls fail with this status (e.g. 429 with Retry-After). */
  failNext(status: number, opts: { times?: number; retryAfter?: string; match?: (c: ConnectorCall) => boolean } = {}): void {
    for (let i = 0; i < (opts.times ?? 1); i++) this.failures.push({ status, retryAfter: opts.retryAfter, match: opts.match });
  }

  private answerHolds: { operationId: string; released: Promise<void> }[] = [];

  /**
   * The next call of `operationId` takes effect at once (the message is posted) but is answered only
   * when the returned function is called (a crash test takes the database away in between).
   */
  holdNextAnswer(operationId: string): () => void {
    let release!: () => void;
    this.answerHolds.push({ operationId, released: new Promise<void>((r) => { release = r; }) });
    return () => release();
  }

  /** From now on a share of calls fails with one of `statuses` (deterministic, seeded), Retry-After 0. */
  flakiness(rate: number, statuses: number[], seed = 42): void {
    this.flaky = rate > 0 ? { rate, statuses, seed } : null;
  }

  reset(): void {
    this.calls.length = 0;
    this.failures = [];
    this.answerHolds = [];
    this.flaky = null;
  }

  private nextRandom(): number {
    // mulberry32: a small seeded generator, so a failing run can be repeated.
    let t = (this.flaky!.seed += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Calls of one operation (e.g. 'Conversations_UpdateActivity'), optionally for one conversation. */
  callsOf(operationId: string, conversationId?: string): ConnectorCall[] {
    return this.calls.filter((c) => c.operationId === operationId && (conversationId === undefined || c.conversationId === conversationId));
  }

  /** Every contract problem seen so far. */
  problems(): string[] {
    return this.calls.flatMap((c) => c.problems.map((p) => `${c.method} ${c.path}: ${p}`));
  }

  /** Everything the bot sent into a conversation (posts, replies, updates), as text for leak checks. */
  textSentTo(conversationId: string): string {
    return this.calls
      .filter((c) => c.conversationId === conversationId && c.method !== 'GET')
      .map((c) => JSON.stringify(c.body))
      .join('\n');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const pathname = url.pathname;
    const method = req.method ?? 'GET';
    const problems: string[] = [];
    let body: any = null;
    if (raw) {
      try { body = JSON.parse(raw); } catch { problems.push('body is not JSON'); }
    }
    const op = this.contract.ops.find((o) => o.method === method && o.regex.test(pathname));
    let params: string[] = [];
    if (!op) problems.push('no such operation in ConnectorAPI.json');
    else {
      params = (op.regex.exec(pathname) ?? []).slice(1).map(decodeURIComponent);
      if (op.bodySchema) {
        const validate = this.contract.ajv.getSchema(op.bodySchema);
        if (!validate) problems.push(`schema ${op.bodySchema} missing`);
        else if (!validate(body)) problems.push(...(validate.errors ?? []).map((e: { instancePath: string; message?: string }) => `body${e.instancePath} ${e.message}`));
      }
    }
    const call: ConnectorCall = {
      method, path: pathname, operationId: op?.operationId ?? null,
      conversationId: pathname.startsWith('/v3/conversations/') ? params[0] ?? null : null,
      activityId: params[1] ?? null, body, problems, status: 200, at: Date.now(),
    };
    this.calls.push(call);
    if (this.limiter && call.conversationId && method !== 'GET') {
      const now = Date.now();
      if ((this.blockedUntil.get(call.conversationId) ?? 0) > now) this.retryAfterIgnored++;
      const wait = this.limiter.take(call.conversationId, now);
      if (wait > 0) {
        const seconds = Math.max(1, Math.ceil(wait / 1000));
        this.blockedUntil.set(call.conversationId, now + seconds * 1000);
        call.status = 429;
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(seconds) });
        res.end(JSON.stringify({ error: { code: 'Throttled', message: 'rate limited' } }));
        return;
      }
    }
    const fIdx = this.failures.findIndex((f) => !f.match || f.match(call));
    if (fIdx < 0 && this.flaky && this.nextRandom() < this.flaky.rate) {
      const status = this.flaky.statuses[Math.floor(this.nextRandom() * this.flaky.statuses.length)]!;
      this.failures.unshift({ status, retryAfter: '0' });
    }
    const failIdx = fIdx >= 0 ? fIdx : this.failures.findIndex((f) => !f.match || f.match(call));
    if (failIdx >= 0) {
      const f = this.failures.splice(failIdx, 1)[0]!;
      call.status = f.status;
      res.writeHead(f.status, { 'content-type': 'application/json', ...(f.retryAfter ? { 'retry-after': f.retryAfter } : {}) });
      res.end(JSON.stringify({ error: { code: 'Throttled', message: `stand-in answered ${f.status}` } }));
      return;
    }
    const holdIdx = this.answerHolds.findIndex((d) => d.operationId === op?.operationId);
    const held = holdIdx >= 0 ? this.answerHolds.splice(holdIdx, 1)[0]!.released : null;
    const json = (status: number, value: unknown) => {
      call.status = status;
      const send = () => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      if (held) void held.then(send);
      else send();
    };
    switch (op?.operationId) {
      case 'Conversations_SendToConversation':
      case 'Conversations_ReplyToActivity':
        call.resultId = String(++this.seq);
        return json(201, { id: call.resultId });
      case 'Conversations_UpdateActivity':
        return json(200, { id: params[1] });
      case 'Conversations_GetConversationMembers': {
        const now = Date.now();
        this.membersListCalls = this.membersListCalls.filter((t) => now - t < 60_000);
        if (this.membersListCalls.length >= this.membersListPerMinute) {
          call.status = 429;
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '60' });
          res.end(JSON.stringify({ error: { code: 'Throttled', message: 'GET members is throttled; use GET members/{memberId} or pagedmembers' } }));
          return;
        }
        this.membersListCalls.push(now);
        return json(200, this.members.get(params[0]!) ?? this.directory);
      }
      case 'Conversations_GetConversationMember': {
        const member = (this.members.get(params[0]!) ?? this.directory).find((m) => m.id === params[1]);
        return member ? json(200, member) : json(404, { error: { code: 'MemberNotFoundInConversation', message: 'The member is not in this conversation' } });
      }
      case 'Conversations_CreateConversation':
        return json(201, { id: `a:conv-${++this.seq}`, activityId: String(++this.seq), serviceUrl: this.url });
      default:
        return json(op ? 200 : 404, op ? {} : { error: { code: 'NotFound', message: 'not in the contract' } });
    }
  }
}
