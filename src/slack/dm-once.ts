import type { WebClient } from '@slack/web-api';

/** Metadata event type of our direct messages (relays, chat greetings, mention DMs). */
export const DM_EVENT = 'deskbridge_dm';

/** Left behind (on the entry or the ticket) while a DM is being posted. */
export interface DmIntent { channel: string; at: number }

/**
 * Posts one direct message exactly once across crashes, the way ticket cards are posted: the
 * intent is stored before chat.postMessage, the message carries metadata naming `key`, and an
 * attempt that finds an intent of an earlier one first looks the message up in the DM's history
 * (conversations.history, include_all_metadata). Returns the message's ts.
 */
export async function postDmOnce(opts: {
  client: WebClient;
  channel: string;
  key: string;
  /** The intent an earlier attempt left, if any. */
  intent: DmIntent | null | undefined;
  saveIntent(intent: DmIntent): Promise<void>;
  message: { text: string; unfurl_links?: boolean };
}): Promise<string> {
  const { client, channel, key } = opts;
  if (opts.intent?.channel) {
    const found = await findDm(client, opts.intent.channel, key, opts.intent.at).catch(() => null);
    if (found) return found;
  }
  await opts.saveIntent({ channel, at: Date.now() });
  const res = await client.chat.postMessage({
    ...opts.message, channel,
    metadata: { event_type: DM_EVENT, event_payload: { key } },
  });
  return res.ts!;
}

/**
 * The ts of a message in `channel` since `sinceMs` (a crashed attempt's) whose metadata has
 * `eventType` and a payload `matches` accepts, or null. Shared by the card and DM lookups.
 */
export async function findByMetadata(client: WebClient, channel: string, sinceMs: number, eventType: string, matches: (payload: Record<string, unknown>) => boolean): Promise<string | null> {
  let cursor: string | undefined;
  // Slack ts are seconds; a little slack for clock skew between us and Slack.
  const oldest = ((sinceMs - 60_000) / 1000).toFixed(6);
  for (let page = 0; page < 10; page++) {
    const res = await client.conversations.history({ channel, oldest, limit: 200, include_all_metadata: true, ...(cursor ? { cursor } : {}) });
    for (const m of res.messages ?? []) {
      const meta = (m as { metadata?: { event_type?: string; event_payload?: Record<string, unknown> } }).metadata;
      if (meta?.event_type === eventType && meta.event_payload && matches(meta.event_payload) && m.ts) return m.ts;
    }
    cursor = res.response_metadata?.next_cursor || undefined;
    if (!res.has_more || !cursor) return null;
  }
  return null;
}

/** The ts of the DM carrying `key` posted to `channel` since `sinceMs`, or null. */
const findDm = (client: WebClient, channel: string, key: string, sinceMs: number) =>
  findByMetadata(client, channel, sinceMs, DM_EVENT, (p) => p.key === key);
