import type { DeskbridgeModule } from '../../../src/app.js';
import { teamsModule } from '../../../src/teams/index.js';
import { startTestApp, type TestApp } from '../../support/db.js';
import { conversationUpdate, memberOf, postActivity, teamsUser, type TeamsUserFixture } from './activities.js';
import { cardsIn, expectValidCard } from './card-validator.js';
import { ConnectorStandIn } from './connector.js';

/**
 * The real app with the Teams module on a fresh database, a connector stand-in the bot answers
 * to, and helpers. Every card the bot sends or returns is validated as it passes through `post`
 * and `assertContract`.
 */
export interface TeamsHarness {
  t: TestApp;
  connector: ConnectorStandIn;
  post(activity: unknown): Promise<{ status: number; body: any }>;
  drain(): Promise<void>;
  /** Registers a technician (or contact) and puts them in the Teams member directory. */
  person(name: string, email: string, roles?: ('technician' | 'contact')[], avatarUrl?: string): Promise<TeamsUserFixture & { personId: string }>;
  /** Adds the app to the tickets channel, as a technician would. */
  installInChannel(by: TeamsUserFixture): Promise<void>;
  /** Installs the app for a user in personal scope (so proactive 1:1 messages can reach them). */
  installPersonal(u: TeamsUserFixture): Promise<void>;
  cardRef(number: number): Promise<{ conversationId: string; activityId: string; serviceUrl: string }>;
  /** No contract violations and every card valid, across everything the bot sent so far. */
  assertContract(): void;
  close(): Promise<void>;
}

export async function startTeams(opts: { env?: Record<string, string>; modules?: DeskbridgeModule[] } = {}): Promise<TeamsHarness> {
  const connector = await new ConnectorStandIn().start();
  const t = await startTestApp({ modules: opts.modules ?? [teamsModule], env: { TEAMS_CARD_COMMENT_CHARS: '1000', ...opts.env } });
  const h: TeamsHarness = {
    t, connector,
    async post(activity) {
      const res = await postActivity(t.url, activity);
      for (const card of cardsIn(res.body)) expectValidCard(card);
      return res;
    },
    drain: () => t.app.ctx.deliveries.drain(),
    async person(name, email, roles = ['technician'], avatarUrl) {
      const res = await t.api('POST', '/people', { email, name, roles, ...(avatarUrl ? { avatarUrl } : {}) });
      if (res.status !== 201 && res.status !== 200) throw new Error(`person: ${JSON.stringify(res.body)}`);
      const u = teamsUser(name, email);
      connector.directory.push(memberOf(u));
      return { ...u, personId: res.body.id };
    },
    async installInChannel(by) {
      const res = await h.post(conversationUpdate(connector.url, by, 'channel'));
      if (res.status >= 300) throw new Error(`install: ${res.status}`);
    },
    async installPersonal(u) {
      const res = await h.post(conversationUpdate(connector.url, u, 'personal'));
      if (res.status >= 300) throw new Error(`install: ${res.status}`);
    },
    async cardRef(number) {
      const ticket = await t.app.ctx.service.getTicket(number);
      const ref = ticket.channelRefs.teams as { conversationId: string; activityId: string; serviceUrl: string } | undefined;
      if (!ref) throw new Error(`ticket #${number} has no Teams card`);
      return ref;
    },
    assertContract() {
      expect(connector.problems()).toEqual([]);
      for (const call of connector.calls) for (const card of cardsIn(call.body)) expectValidCard(card);
    },
    async close() {
      await t.close();
      await connector.stop();
    },
  };
  return h;
}
