import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Chat, ChatMessage, ChatMessageAttachment, TeamsAppInstallation, TeamworkApplicationIdentity } from '@microsoft/microsoft-graph-types';
import type { ConnectorCall, ConnectorStandIn } from './connector.js';

/**
 * A local stand-in for Microsoft Graph's Teams message lists and the identity platform's token
 * endpoint, on one port (point TEAMS_GRAPH_URL and TEAMS_LOGIN_URL at `url`).
 *
 * What it lists is what the bot really posted: the messages are derived from the Bot Connector
 * stand-in's successful posts, replies and updates, so a post that reached "Teams" before a crash
 * can be found here and nothing else can. Responses are typed with Microsoft's published
 * @microsoft/microsoft-graph-types and shaped like the response samples of learn.microsoft.com
 * "List channel messages" (graph/api/channel-list-messages), "List replies"
 * (graph/api/chatmessage-list-replies) and "List messages in a chat" (graph/api/chat-list-messages):
 * `@odata.context`, `value` of chatMessage, `@odata.nextLink` when there is more; a bot's message
 * has `from.application` (applicationIdentityType "bot"), an Adaptive Card comes back as
 * `<attachment id="…">` in an html body plus an attachment whose `content` is the card as a JSON
 * string. The token endpoint answers like "Microsoft identity platform and the OAuth 2.0 client
 * credentials flow" (identity-platform/v2-oauth2-client-creds-grant-flow): token_type, expires_in,
 * ext_expires_in, access_token. A user's 1:1 chat with the app is found as "List apps installed for
 * user" (graph/api/userteamwork-list-installedapps, example 3: `$expand=teamsApp` and
 * `$filter=teamsApp/externalId eq '<manifest id>'`) and "Get 1:1 chat between the specified user and
 * Teams app" (graph/api/userscopeteamsappinstallation-get-chat) answer; its chat ids have the
 * documented sample's shape (`19:<guid>_<user id>@unq.gbl.spaces`) but are the stand-in's own choice,
 * so a client that builds them by hand finds nothing.
 */
export interface GraphRequest { method: string; path: string; query: Record<string, string>; status: number; tenant?: string }

export class GraphStandIn {
  readonly requests: GraphRequest[] = [];
  readonly tokenRequests: { tenant: string; form: Record<string, string>; status: number }[] = [];
  private readonly issued = new Set<string>();
  private readonly problemList: string[] = [];
  private failure: { status: number; code: string; message: string } | null = null;
  /** Graph's page size for these lists is at most 50; tests may make pages smaller to exercise nextLink. */
  pageSize = 50;
  /** Where @odata.nextLink points (default: this stand-in); a test sets another origin to check tokens never go there. */
  nextLinkBase: string | null = null;
  /** Graph chat id (19:…@unq.gbl.spaces) → the Bot Connector conversation id of the same 1:1 chat. */
  readonly chats = new Map<string, string>();
  /** User's Entra object id → Graph id of their 1:1 chat with the app (the app is installed for them). */
  private readonly personal = new Map<string, { installationId: string; chatId: string }>();
  private server: Server | null = null;
  url = '';

  constructor(
    private readonly connector: ConnectorStandIn,
    private readonly opts: { clientId: string; clientSecret: string; tenantId: string; teamId: string; channelIds: string[]; manifestId?: string },
  ) {}

  /** The app installed for a user in personal scope: their 1:1 chat is the Bot Connector conversation given. Returns its Graph id. */
  installForUser(userAadObjectId: string, conversationId: string): string {
    const chatId = `19:${randomUUID()}_${userAadObjectId}@unq.gbl.spaces`;
    const installationId = Buffer.from(`${userAadObjectId}##${randomUUID()}`).toString('base64');
    this.personal.set(userAadObjectId, { installationId, chatId });
    this.chats.set(chatId, conversationId);
    return chatId;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}`;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  /**
   * From now on every Graph call answers with this error (e.g. 403 when the app lacks the RSC
   * permission), shaped like Graph's error responses; null restores normal service.
   */
  failWith(status: number | null, code = 'Forbidden', message = 'Missing role permissions on the request. API requires one of \'ChannelMessage.Read.Group, ChannelMessage.Read.All\'.'): void {
    this.failure = status === null ? null : { status, code, message };
  }

  /** Requests that broke the contract (bad token, unknown path, $top over 50). */
  problems(): string[] {
    return [...this.problemList];
  }

  reset(): void {
    this.requests.length = 0;
    this.tokenRequests.length = 0;
    this.failure = null;
    this.pageSize = 50;
    this.nextLinkBase = null;
  }

  private send(res: ServerResponse, status: number, value: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(value));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', this.url);
    const token = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(url.pathname);
    if (token && req.method === 'POST') return this.token(decodeURIComponent(token[1]!), Buffer.concat(chunks).toString('utf8'), req, res);
    const request: GraphRequest = { method: req.method ?? 'GET', path: decodeURIComponent(url.pathname), query: Object.fromEntries(url.searchParams), status: 200 };
    this.requests.push(request);
    const answer = (status: number, value: unknown) => { request.status = status; this.send(res, status, value); };
    const auth = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (!auth || !this.issued.has(auth[1]!)) {
      this.problemList.push(`${request.method} ${request.path}: no valid bearer token`);
      return answer(401, graphError('InvalidAuthenticationToken', 'Access token is empty.'));
    }
    if (this.failure) return answer(this.failure.status, graphError(this.failure.code, this.failure.message));
    const top = url.searchParams.get('$top');
    if (top !== null && (!/^\d+$/.test(top) || Number(top) < 1 || Number(top) > 50)) {
      this.problemList.push(`${request.path}: $top=${top} (Graph allows 1-50 for message lists)`);
      return answer(400, graphError('BadRequest', 'Invalid page size requested.'));
    }
    const segments = url.pathname.split('/').map(decodeURIComponent);
    // /v1.0/teams/{team}/channels/{channel}/messages[/{id}/replies] or /v1.0/chats/{chat}/messages
    let messages: ChatMessage[] | null = null;
    let context = '';
    if (segments[1] === 'v1.0' && segments[2] === 'teams' && segments[4] === 'channels' && segments[6] === 'messages' && request.method === 'GET') {
      const [teamId, channelId] = [segments[3]!, segments[5]!];
      if (teamId !== this.opts.teamId || !this.opts.channelIds.includes(channelId)) return answer(404, graphError('NotFound', 'No team or channel found with this id.'));
      if (segments.length === 7) {
        messages = this.channelMessages(channelId, null);
        context = `https://graph.microsoft.com/v1.0/$metadata#teams('${teamId}')/channels('${encodeURIComponent(channelId)}')/messages`;
      } else if (segments.length === 9 && segments[8] === 'replies') {
        messages = this.channelMessages(channelId, segments[7]!);
        context = `https://graph.microsoft.com/v1.0/$metadata#teams('${teamId}')/channels('${encodeURIComponent(channelId)}')/messages('${segments[7]}')/replies`;
      }
    } else if (segments[1] === 'v1.0' && segments[2] === 'chats' && segments[4] === 'messages' && segments.length === 5 && request.method === 'GET') {
      const conversationId = this.chats.get(segments[3]!);
      if (!conversationId) return answer(404, graphError('NotFound', 'Chat not found.'));
      messages = this.chatMessages(segments[3]!, conversationId);
      context = `https://graph.microsoft.com/v1.0/$metadata#chats('${encodeURIComponent(segments[3]!)}')/messages`;
    }
    // /v1.0/users/{user}/teamwork/installedApps[?…] and …/installedApps/{installation}/chat
    if (segments[1] === 'v1.0' && segments[2] === 'users' && segments[4] === 'teamwork' && segments[5] === 'installedApps' && request.method === 'GET') {
      const installed = this.personal.get(segments[3]!);
      if (segments.length === 6) {
        const filter = url.searchParams.get('$filter') ?? '';
        const wanted = /^teamsApp\/externalId eq '([^']*)'$/.exec(filter);
        if (url.searchParams.get('$expand') !== 'teamsApp' || !wanted) {
          this.problemList.push(`${request.path}: expected $expand=teamsApp and $filter=teamsApp/externalId eq '…' (got ${url.search})`);
          return answer(400, graphError('BadRequest', 'Invalid filter clause'));
        }
        const value: TeamsAppInstallation[] = installed && wanted[1] === this.opts.manifestId
          ? [{ id: installed.installationId, teamsApp: { id: randomUUID(), externalId: wanted[1], displayName: 'deskbridge', distributionMethod: 'sideloaded' } }]
          : [];
        return answer(200, { '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#users('${segments[3]}')/teamwork/installedApps(teamsApp())`, '@odata.count': value.length, value });
      }
      if (segments.length === 8 && segments[7] === 'chat') {
        if (!installed || installed.installationId !== segments[6]) return answer(404, graphError('NotFound', 'The installation was not found.'));
        const chat: Chat = { id: installed.chatId };
        return answer(200, { '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#chats/$entity', ...chat });
      }
    }
    if (!messages) {
      this.problemList.push(`${request.method} ${request.path}: not a Graph operation the stand-in knows`);
      return answer(404, graphError('NotFound', 'Unsupported request.'));
    }
    // Newest first, as Graph lists them.
    messages.sort((a, b) => Date.parse(b.lastModifiedDateTime!) - Date.parse(a.lastModifiedDateTime!));
    const size = Math.min(Number(top ?? 20), this.pageSize);
    const skip = Number(url.searchParams.get('$skiptoken') ?? 0);
    const page = messages.slice(skip, skip + size);
    const body: Record<string, unknown> = { '@odata.context': context, '@odata.count': page.length, value: page };
    if (skip + size < messages.length) {
      const next = new URL(url.pathname, this.nextLinkBase ?? this.url);
      next.searchParams.set('$top', String(size));
      next.searchParams.set('$skiptoken', String(skip + size));
      body['@odata.nextLink'] = next.toString();
    }
    return answer(200, body);
  }

  private token(tenant: string, raw: string, req: IncomingMessage, res: ServerResponse): void {
    const form = Object.fromEntries(new URLSearchParams(raw));
    const entry = { tenant, form, status: 200 };
    this.tokenRequests.push(entry);
    const fail = (status: number, error: string, description: string) => { entry.status = status; this.send(res, status, { error, error_description: description }); };
    if (!String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
      this.problemList.push('token: body is not application/x-www-form-urlencoded');
      return fail(400, 'invalid_request', 'AADSTS900144: The request body must contain the following parameter: grant_type.');
    }
    if (form.grant_type !== 'client_credentials') return fail(400, 'unsupported_grant_type', `grant_type ${form.grant_type}`);
    if (form.scope !== 'https://graph.microsoft.com/.default') {
      this.problemList.push(`token: scope ${form.scope}`);
      return fail(400, 'invalid_scope', 'AADSTS1002012: The provided value for scope is not valid.');
    }
    if (tenant !== this.opts.tenantId) return fail(400, 'invalid_request', `AADSTS90002: Tenant '${tenant}' not found.`);
    if (form.client_id !== this.opts.clientId || form.client_secret !== this.opts.clientSecret) return fail(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.');
    const accessToken = `eyJ0eXAiOiJKV1Qi.${randomUUID()}`;
    this.issued.add(accessToken);
    this.send(res, 200, { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: accessToken });
  }

  /** What the bot posted successfully into a conversation (root messages), or under one root (replies). */
  private posted(conversationId: string, rootId: string | null): ConnectorCall[] {
    return this.connector.calls.filter((c) => c.status < 300 && c.resultId && c.conversationId === conversationId
      && (rootId === null ? c.operationId === 'Conversations_SendToConversation' : c.operationId === 'Conversations_ReplyToActivity' && c.activityId === rootId));
  }

  private channelMessages(channelId: string, rootId: string | null): ChatMessage[] {
    return this.posted(channelId, rootId).map((c) => this.message(c, { channelIdentity: { teamId: this.opts.teamId, channelId }, chatId: null, replyToId: rootId }));
  }

  private chatMessages(chatId: string, conversationId: string): ChatMessage[] {
    return this.posted(conversationId, null).map((c) => this.message(c, { channelIdentity: null, chatId, replyToId: null }));
  }

  /** One posted activity as Graph returns it: the latest update's content, under the activity id. */
  private message(post: ConnectorCall, where: Pick<ChatMessage, 'channelIdentity' | 'chatId' | 'replyToId'>): ChatMessage {
    const id = post.resultId!;
    const updates = this.connector.calls.filter((c) => c.operationId === 'Conversations_UpdateActivity' && c.activityId === id && c.status < 300);
    const latest = updates.at(-1) ?? post;
    const activity = latest.body as { text?: string; textFormat?: string; attachments?: { contentType: string; content: unknown }[] };
    const attachments: ChatMessageAttachment[] = (activity.attachments ?? []).map((a, i) => ({
      id: `${id.padStart(8, '0')}attachment${i}`, contentType: a.contentType, contentUrl: null,
      content: typeof a.content === 'string' ? a.content : JSON.stringify(a.content, null, 2), name: null, thumbnailUrl: null, teamsAppId: null,
    }));
    const text = activity.text ? markdownToHtml(activity.text) : '';
    const created = new Date(post.at).toISOString();
    const application: TeamworkApplicationIdentity & { '@odata.type': string } = {
      '@odata.type': '#microsoft.graph.teamworkApplicationIdentity', id: this.opts.clientId, displayName: 'deskbridge', applicationIdentityType: 'bot',
    };
    return {
      id, replyToId: where.replyToId, etag: String(latest.at), messageType: 'message',
      createdDateTime: created, lastModifiedDateTime: new Date(latest.at).toISOString(),
      lastEditedDateTime: null, deletedDateTime: null, subject: null, summary: null, chatId: where.chatId,
      importance: 'normal', locale: 'en-us', webUrl: null, policyViolation: null, eventDetail: null,
      from: { application, device: null, user: null },
      body: { contentType: 'html', content: text + attachments.map((a) => `<attachment id="${a.id}"></attachment>`).join('') },
      channelIdentity: where.channelIdentity, attachments, mentions: [], reactions: [],
    };
  }
}

const graphError = (code: string, message: string) => ({
  error: { code, message, innerError: { date: new Date().toISOString(), 'request-id': randomUUID(), 'client-request-id': randomUUID() } },
});

/** How Teams stores a bot's markdown: html paragraphs, bold as <strong>, entities escaped. */
function markdownToHtml(md: string): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  return md.split(/\n{2,}/).map((p) => `<p>${esc(p).replace(/\*\*(.+?)\*\*/g, '<strong>$1</strong>').replace(/\n/g, '<br>')}</p>`).join('\n');
}
