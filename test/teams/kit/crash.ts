import type { EventDoc } from '../../../src/store/models.js';
import { eventFromDoc } from '../../../src/tickets/mappers.js';
import type { TestApp } from '../../support/db.js';
import { personalConversation, personalMessage, postActivity, type TeamsUserFixture } from './activities.js';
import type { ConnectorStandIn } from './connector.js';

/*
 * Crash simulation for the Teams exactly-once tests (post-once, post-once-graph): deliveries are
 * driven by hand, and an instance "dies" while the connector holds a post it has already taken.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Delivers one stored event to the Teams notifier, as the delivery worker does. */
export async function deliverStored(t: TestApp, n: number, type: string, match: (d: Record<string, unknown>) => boolean = () => true): Promise<void> {
  const docs = await t.app.ctx.db.connection.collection('events').find({ ticketNumber: n, type }).toArray();
  const doc = docs.find((d) => match(d.data as Record<string, unknown>));
  if (!doc) throw new Error(`no ${type} event for #${n}`);
  await t.app.ctx.notifiers.get('teams')!.deliver(eventFromDoc(doc as unknown as EventDoc));
}

/**
 * Runs `work` and takes the database away while the connector has taken the call (the message
 * exists) but not answered yet, as a kill -9 at that moment would. Then stops the instance.
 * Returns the activity id the connector gave the post that the dead attempt never stored.
 */
export async function dieDuringPost(connector: ConnectorStandIn, t: TestApp, operationId: string, work: () => Promise<unknown>): Promise<string | undefined> {
  const before = connector.callsOf(operationId).length;
  const answer = connector.holdNextAnswer(operationId);
  const dying = work().then(() => 'stored', (err: Error) => `failed: ${err.message}`);
  while (connector.callsOf(operationId).length === before) await sleep(10);
  await t.app.ctx.db.connection.close(true);
  answer();
  const outcome = await dying;
  if (!outcome.startsWith('failed')) throw new Error(`the dying attempt ${outcome} its post`);
  await t.app.stop().catch(() => undefined);
  return connector.callsOf(operationId).at(-1)!.resultId;
}

/**
 * An end user opens a ticket by writing to the bot in their 1:1 chat; returns its number, the chat's
 * conversation id and the relays into that chat whose body carries `text`.
 */
export async function chatTicket(t: TestApp, connector: ConnectorStandIn, user: TeamsUserFixture, opening: string, text: string) {
  const res = await postActivity(t.url, personalMessage(connector.url, user, opening));
  if (res.status !== 200) throw new Error(`personal message answered ${res.status}`);
  const list = await t.api('GET', `/tickets?requester=${user.email}`);
  const n = list.body.items.find((x: { title: string }) => x.title.includes(opening)).number as number;
  const chat = personalConversation(user).id;
  const relays = () => connector.callsOf('Conversations_SendToConversation', chat).filter((c) => JSON.stringify(c.body).includes(text));
  return { n, chat, relays };
}
