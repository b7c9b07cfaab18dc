import { randomUUID } from 'node:crypto';

/**
 * Builders for the activities Teams posts to a bot, shaped like the real ones (channelId msteams,
 * conversationType, tenant, aadObjectId). The bot answers to `serviceUrl` (the connector stand-in).
 */
export interface TeamsUserFixture { id: string; name: string; aadObjectId: string; email: string }

export const BOT = { id: '28:deskbridge-bot', name: 'deskbridge' };
export const TENANT = { id: 'tenant-0001' };
export const TEAMS_CHANNEL_ID = '19:tickets-channel@thread.tacv2';
/** The team's Microsoft 365 group id (channelData.team.aadGroupId): Graph's team id. */
export const TEAM_AAD_GROUP_ID = 'fbe2bf47-16c8-47cf-b4a5-4b9b187c508b';

export function teamsUser(name: string, email: string): TeamsUserFixture {
  const slug = email.split('@')[0]!.replace(/\W/g, '');
  return { id: `29:user-${slug}`, name, aadObjectId: `aad-${slug}`, email };
}

export const memberOf = (u: TeamsUserFixture) => ({ id: u.id, name: u.name, aadObjectId: u.aadObjectId, email: u.email, userPrincipalName: u.email });

const base = (serviceUrl: string, from: TeamsUserFixture | typeof BOT, conversation: { id: string; [key: string]: unknown }) => ({
  id: `f:${randomUUID()}`,
  channelId: 'msteams',
  serviceUrl,
  timestamp: new Date().toISOString(),
  from: { id: from.id, name: from.name, ...('aadObjectId' in from ? { aadObjectId: from.aadObjectId } : {}) },
  recipient: { ...BOT },
  conversation: { tenantId: TENANT.id, ...conversation },
  channelData: { tenant: TENANT },
  locale: 'en-US',
});

export const personalConversation = (u: TeamsUserFixture) => ({ id: `a:1-${u.id.slice(3)}`, conversationType: 'personal' });
export const channelConversation = (rootId?: string) => ({
  id: rootId ? `${TEAMS_CHANNEL_ID};messageid=${rootId}` : TEAMS_CHANNEL_ID, conversationType: 'channel', isGroup: true,
});

/** The app is added to a team's channel (or installed for a user in personal scope). */
export function conversationUpdate(serviceUrl: string, by: TeamsUserFixture, scope: 'channel' | 'personal') {
  return {
    ...base(serviceUrl, by, scope === 'channel' ? channelConversation() : personalConversation(by)),
    type: 'conversationUpdate',
    membersAdded: [{ id: BOT.id }],
    channelData: { tenant: TENANT, ...(scope === 'channel' ? { team: { id: TEAMS_CHANNEL_ID, name: 'IT', aadGroupId: TEAM_AAD_GROUP_ID }, channel: { id: TEAMS_CHANNEL_ID, name: 'Tickets' }, eventType: 'teamMemberAdded' } : {}) },
  };
}

export function personalMessage(serviceUrl: string, from: TeamsUserFixture, text: string) {
  return { ...base(serviceUrl, from, personalConversation(from)), type: 'message', text, textFormat: 'plain' };
}

/** A reply in a ticket card's thread; mentions become <at> text plus mention entities. */
export function threadMessage(serviceUrl: string, from: TeamsUserFixture, rootId: string, html: string, mentions: TeamsUserFixture[] = []) {
  return {
    ...base(serviceUrl, from, channelConversation(rootId)),
    type: 'message', text: html, textFormat: 'xml', replyToId: rootId,
    entities: mentions.map((m) => ({ type: 'mention', text: `<at>${m.name}</at>`, mentioned: { id: m.id, name: m.name } })),
  };
}

/**
 * The user edits (messageUpdate, channelData.eventType "editMessage") or soft-deletes (messageDelete,
 * "softDeleteMessage") a message they sent: the activity carries that message's own id and, for an
 * edit, the whole revised message (Bot Framework activity spec A5900/A5800; botbuilder's
 * TeamsActivityHandler dispatches on these eventTypes).
 */
export function threadMessageEdit(original: ReturnType<typeof threadMessage>, change: { html: string } | 'deleted') {
  const channelData = { ...original.channelData, eventType: change === 'deleted' ? 'softDeleteMessage' : 'editMessage' };
  if (change === 'deleted') return { ...original, type: 'messageDelete', text: undefined, channelData, timestamp: new Date().toISOString() };
  return { ...original, type: 'messageUpdate', text: change.html, channelData, timestamp: new Date().toISOString() };
}

export function cardAction(serviceUrl: string, from: TeamsUserFixture, verb: string, data: Record<string, unknown>, opts: { rootId?: string; trigger?: 'manual' | 'automatic' } = {}) {
  return {
    ...base(serviceUrl, from, channelConversation(opts.rootId)),
    type: 'invoke', name: 'adaptiveCard/action', replyToId: opts.rootId,
    value: { action: { type: 'Action.Execute', verb, data }, trigger: opts.trigger ?? 'manual' },
  };
}

/** What Teams sends when a card with `refresh` is shown to one of refresh.userIds. */
export const refresh = (serviceUrl: string, from: TeamsUserFixture, ticket: number, rootId?: string) =>
  cardAction(serviceUrl, from, 'refresh', { ticket }, { rootId, trigger: 'automatic' });

export function taskFetch(serviceUrl: string, from: TeamsUserFixture, data: Record<string, unknown>, rootId?: string) {
  return { ...base(serviceUrl, from, channelConversation(rootId)), type: 'invoke', name: 'task/fetch', value: { type: 'task/fetch', data: { msteams: { type: 'task/fetch' }, ...data } } };
}

export function taskSubmit(serviceUrl: string, from: TeamsUserFixture, data: Record<string, unknown>, rootId?: string) {
  return { ...base(serviceUrl, from, channelConversation(rootId)), type: 'invoke', name: 'task/submit', value: { type: 'task/submit', data } };
}

/** The "Create ticket from message" message action on someone's message in a channel. */
export function messageAction(serviceUrl: string, from: TeamsUserFixture, author: TeamsUserFixture, html: string, title?: string) {
  return {
    ...base(serviceUrl, from, channelConversation()),
    type: 'invoke', name: 'composeExtension/submitAction',
    value: {
      commandId: 'createTicket', commandContext: 'message', data: title ? { title } : {},
      messagePayload: { id: '1700000000000', messageType: 'message', body: { contentType: 'html', content: html }, from: { user: { id: author.id, displayName: author.name, aadObjectId: author.aadObjectId } } },
    },
  };
}

/** Posts an activity to the bot the way the Bot Connector does (unauthenticated mode). */
export async function postActivity(appUrl: string, activity: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${appUrl}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(activity) });
  const text = await res.text();
  let body: any = text;
  try { body = text ? JSON.parse(text) : null; } catch { /* keep text */ }
  return { status: res.status, body };
}
