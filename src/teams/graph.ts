import { readFileSync } from 'node:fs';
import type { Chat, ChatMessage, TeamsAppInstallation } from '@microsoft/microsoft-graph-types';
import type { Config } from '../config/index.js';

/**
 * Reading back what the bot posted, with Microsoft Graph. The Bot Connector API can only send,
 * so after a crash between a post and storing its activity id the only way to learn whether the
 * post reached Teams is to list the conversation's recent messages (Graph's chatMessage id is the
 * activity id for bot posts) and look for the post's marker. Called as the app itself (client
 * credentials), with the resource-specific consent the app manifest asks for
 * (ChannelMessage.Read.Group for channels, ChatMessage.Read.Chat for chats); finding a user's 1:1
 * chat with the app also needs TeamsAppInstallation.ReadForUser.All.
 */

/** Where a post may be: a channel's root messages, the replies of one of them, or a chat. */
export type GraphPlace =
  | { kind: 'channel'; teamId: string; channelId: string }
  | { kind: 'replies'; teamId: string; channelId: string; messageId: string }
  | { kind: 'chat'; chatId: string };

/** Graph could not be asked (no token, forbidden, unreachable): the caller posts again. */
export class GraphUnavailableError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'GraphUnavailableError';
  }
}

/** Pages of 50 (Graph's maximum for these lists); a crashed post is recent, so a few pages suffice. */
const PAGE_SIZE = 50;
const MAX_PAGES = 5;
/** Our clock and Teams' may disagree a little. */
const CLOCK_SKEW_MS = 5 * 60_000;
/**
 * The whole look-up (token and pages) ends well within the posting lease (POST_LEASE_MS, 30 s): an
 * intent older than that is taken over by another instance, which must not find us still looking.
 */
export const LOOKUP_BUDGET_MS = 15_000;

export interface GraphCredentials {
  clientId: string;
  clientSecret: string;
  /** The bot's app id: the sender Graph names on our posts. */
  botAppId: string;
  /** The Teams app's manifest id (Graph's teamsApp externalId): finds a user's 1:1 chat with the app. */
  manifestId: string;
  graphUrl: string;
  loginUrl: string;
  tenantId: string;
}

/** The lookup's settings, or null when it is off or cannot work (no app credentials). */
export function graphCredentials(config: Config): GraphCredentials | null {
  if (!config.TEAMS_GRAPH_LOOKUP) return null;
  const clientId = config.TEAMS_GRAPH_CLIENT_ID || config.MicrosoftAppId;
  const clientSecret = config.TEAMS_GRAPH_CLIENT_SECRET || config.MicrosoftAppPassword;
  if (!clientId || !clientSecret) return null;
  return {
    clientId, clientSecret,
    botAppId: config.MicrosoftAppId || clientId,
    manifestId: config.TEAMS_APP_MANIFEST_ID || packagedManifestId(),
    graphUrl: config.TEAMS_GRAPH_URL.replace(/\/+$/, ''),
    loginUrl: config.TEAMS_LOGIN_URL.replace(/\/+$/, ''),
    tenantId: config.MicrosoftAppTenantId,
  };
}

export function placePath(place: GraphPlace): string {
  const e = encodeURIComponent;
  switch (place.kind) {
    case 'channel': return `/v1.0/teams/${e(place.teamId)}/channels/${e(place.channelId)}/messages`;
    case 'replies': return `/v1.0/teams/${e(place.teamId)}/channels/${e(place.channelId)}/messages/${e(place.messageId)}/replies`;
    case 'chat': return `/v1.0/chats/${e(place.chatId)}/messages`;
  }
}

/** The id in the app package this project ships (manifests/teams/manifest.json), '' if unreadable. */
function packagedManifestId(): string {
  try {
    // src/teams and dist/teams are both two levels under the package root.
    const manifest = JSON.parse(readFileSync(new URL('../../manifests/teams/manifest.json', import.meta.url), 'utf8')) as { id?: unknown };
    return typeof manifest.id === 'string' ? manifest.id : '';
  } catch {
    return '';
  }
}

export class TeamsGraph {
  private readonly tokens = new Map<string, { token: string; expiresAt: number }>();
  /** A user's 1:1 chat with the app keeps its id for as long as the app is installed for them. */
  private readonly personalChats = new Map<string, string>();

  constructor(readonly credentials: GraphCredentials) {}

  /** The tenant to ask: the configured one (single-tenant bots), else the conversation's. */
  tenantFor(conversationTenantId: string | undefined): string | undefined {
    return this.credentials.tenantId || conversationTenantId || undefined;
  }

  /** An app-only token for Graph (client credentials grant), cached until shortly before it expires. */
  private async token(tenant: string, deadline: number): Promise<string> {
    const cached = this.tokens.get(tenant);
    if (cached && cached.expiresAt > Date.now()) return cached.token;
    const { clientId, clientSecret, loginUrl } = this.credentials;
    let res: Response;
    try {
      res = await fetch(`${loginUrl}/${encodeURIComponent(tenant)}/oauth2/v2.0/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: clientSecret, scope: 'https://graph.microsoft.com/.default' }),
        signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())),
      });
    } catch (err) {
      throw new GraphUnavailableError(`token endpoint unreachable: ${(err as Error).message}`);
    }
    const body = (await res.json().catch(() => ({}))) as { access_token?: string; expires_in?: number; error?: string; error_description?: string };
    if (!res.ok || !body.access_token) {
      throw new GraphUnavailableError(`token endpoint answered ${res.status}${body.error ? ` ${body.error}` : ''}`, res.status);
    }
    const lifetimeMs = Math.max(0, (Number(body.expires_in) || 3600) * 1000 - 60_000);
    this.tokens.set(tenant, { token: body.access_token, expiresAt: Date.now() + lifetimeMs });
    return body.access_token;
  }

  private async get<T = { value?: ChatMessage[]; '@odata.nextLink'?: string }>(url: string, tenant: string, deadline: number): Promise<T> {
    const token = await this.token(tenant, deadline);
    let res: Response;
    try {
      res = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal: AbortSignal.timeout(Math.max(1, deadline - Date.now())) });
    } catch (err) {
      throw new GraphUnavailableError(`Graph unreachable: ${(err as Error).message}`);
    }
    if (res.status === 401) this.tokens.delete(tenant);
    if (!res.ok) {
      const err = (await res.json().catch(() => ({}))) as { error?: { code?: string } };
      throw new GraphUnavailableError(`Graph answered ${res.status}${err.error?.code ? ` ${err.error.code}` : ''}`, res.status);
    }
    return (await res.json()) as T;
  }

  /**
   * The Graph id of a user's 1:1 chat with our app, asked the documented way: the app's installation
   * in the user's personal scope (filtered by the manifest id), then that installation's chat
   * (learn.microsoft.com graph/api/userteamwork-list-installedapps, example 3, and
   * graph/api/userscopeteamsappinstallation-get-chat). The id is not built by hand: its form is
   * Teams' to choose. Throws GraphUnavailableError when Graph cannot tell.
   */
  async personalChatId(userAadObjectId: string, tenant: string | undefined, deadline = Date.now() + LOOKUP_BUDGET_MS): Promise<string> {
    const key = `${tenant}/${userAadObjectId}`;
    const known = this.personalChats.get(key);
    if (known) return known;
    if (!tenant) throw new GraphUnavailableError('no tenant id (set MicrosoftAppTenantId)');
    if (!this.credentials.manifestId) throw new GraphUnavailableError('the Teams app manifest id is unknown (set TEAMS_APP_MANIFEST_ID)');
    const user = `${this.credentials.graphUrl}/v1.0/users/${encodeURIComponent(userAadObjectId)}/teamwork/installedApps`;
    const filter = `teamsApp/externalId eq '${this.credentials.manifestId.replace(/'/g, "''")}'`;
    const installs = await this.get<{ value?: TeamsAppInstallation[] }>(`${user}?$expand=teamsApp&$filter=${encodeURIComponent(filter)}`, tenant, deadline);
    const install = installs.value?.find((i) => i.id);
    if (!install?.id) throw new GraphUnavailableError('the app is not installed in the user\'s personal scope');
    const chat = await this.get<Chat>(`${user}/${encodeURIComponent(install.id)}/chat?$select=id`, tenant, deadline);
    if (!chat.id) throw new GraphUnavailableError('Graph named no chat for the app installation');
    this.personalChats.set(key, chat.id);
    return chat.id;
  }

  /**
   * Ids of the messages in `place` our app posted since `sinceMs` (a crashed attempt's start) that
   * `matches` accepts, newest first as Graph lists them. Throws GraphUnavailableError when Graph
   * cannot be asked.
   */
  async find(place: GraphPlace, tenant: string | undefined, sinceMs: number, matches: (m: ChatMessage) => boolean): Promise<string[]> {
    if (!tenant) throw new GraphUnavailableError('no tenant id (set MicrosoftAppTenantId)');
    const since = sinceMs - CLOCK_SKEW_MS;
    const origin = new URL(this.credentials.graphUrl).origin;
    const found: string[] = [];
    const deadline = Date.now() + LOOKUP_BUDGET_MS;
    let url: string | undefined = `${this.credentials.graphUrl}${placePath(place)}?$top=${PAGE_SIZE}`;
    for (let page = 0; url && page < MAX_PAGES; page++) {
      const res: { value?: ChatMessage[]; '@odata.nextLink'?: string } = await this.get(url, tenant, deadline);
      const messages = res.value ?? [];
      for (const m of messages) {
        if (!m.id || m.deletedDateTime || m.messageType !== 'message') continue;
        if (!isOurs(m, this.credentials.botAppId)) continue;
        if (Date.parse(m.createdDateTime ?? '') < since) continue;
        if (matches(m)) found.push(m.id);
      }
      // Lists run newest (last modified) first: a page with nothing touched since the crash ends the search.
      const touchedSince = messages.some((m) => Date.parse(m.lastModifiedDateTime ?? m.createdDateTime ?? '') >= since);
      const next: string | undefined = res['@odata.nextLink'];
      // The token goes to Graph only, never to wherever a link points.
      url = touchedSince && next && new URL(next).origin === origin ? next : undefined;
    }
    return found;
  }
}

/** Posted by our app (bot): Graph names the sending application. */
function isOurs(m: ChatMessage, appId: string): boolean {
  const app = m.from?.application;
  return Boolean(app) && (!app!.id || app!.id === appId);
}

// ------------------------------------------------------------------ markers

/** Every card we post carries its intent as an element id: Graph returns the card in attachments[].content. */
const MARKER_PREFIX = 'deskbridge-post:';
export const postMarker = (key: string) => `${MARKER_PREFIX}${key}`;

/** Puts the marker on the card's first element (a Container in our templates; ids are free there). */
export function markCard<T extends Record<string, unknown>>(card: T, key: string): T {
  const first = Array.isArray(card.body) ? (card.body[0] as Record<string, unknown> | undefined) : undefined;
  if (first && (first.id === undefined || String(first.id).startsWith(MARKER_PREFIX))) first.id = postMarker(key);
  return card;
}

/** The card in one of the message's attachments carries the marker of `key`. */
export function carriesMarker(m: ChatMessage, key: string): boolean {
  const marker = postMarker(key);
  for (const a of m.attachments ?? []) {
    if (a.contentType !== 'application/vnd.microsoft.card.adaptive' || !a.content) continue;
    try {
      if (hasId(JSON.parse(a.content), marker)) return true;
    } catch {
      if (a.content.includes(JSON.stringify(marker))) return true;
    }
  }
  return false;
}

function hasId(node: unknown, id: string): boolean {
  if (Array.isArray(node)) return node.some((n) => hasId(n, id));
  if (!node || typeof node !== 'object') return false;
  const o = node as Record<string, unknown>;
  return o.id === id || Object.values(o).some((v) => typeof v === 'object' && hasId(v, id));
}

/**
 * A plain text message has nowhere to hide a marker, so it is recognised by its text: Graph
 * returns the HTML Teams made of our markdown; both sides are reduced to their words.
 */
export function sameText(m: ChatMessage, text: string): boolean {
  if (m.attachments?.length) return false;
  return words(m.body?.contentType === 'html' ? htmlToText(m.body?.content ?? '') : m.body?.content ?? '') === words(text);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
function htmlToText(html: string): string {
  return html
    .replace(/<(br|\/p|\/div|\/li)\s*\/?>/gi, '\n')
    .replace(/<[^>]*>/g, '')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (all, e: string) => {
      if (e[0] === '#') return String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
      return ENTITIES[e.toLowerCase()] ?? all;
    });
}

/** Markdown emphasis and all spacing dropped: what is left is what a reader sees. */
const words = (s: string) => s.replace(/[*_`~]/g, '').replace(/\s+/g, ' ').trim();
