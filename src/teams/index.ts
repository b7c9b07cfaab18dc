import express from 'express';
import type { AppContext, DeskbridgeModule } from '../app.js';
import { TeamsBot } from './bot.js';
import { createAdapter, TeamsSender } from './connector.js';
import { graphCredentials, TeamsGraph } from './graph.js';
import { TeamsIdentity } from './identity.js';
import { TeamsNotifier } from './notifier.js';
import { TicketCards } from './render.js';
import { teamsModels } from './store.js';

/** Remember incoming activity ids this long (Teams retries within seconds). */
const INBOUND_KEEP_MS = 24 * 60 * 60_000;

/** Microsoft Teams: the bot at POST /api/messages and the teams notifier. */
export const teamsModule: DeskbridgeModule = {
  name: 'teams',
  async setup(ctx) {
    const models = teamsModels(ctx.db.connection);
    const adapter = createAdapter(ctx.config, ctx.logger);
    const sender = new TeamsSender(adapter, ctx.config.MicrosoftAppId);
    const cards = new TicketCards(ctx);
    const identity = new TeamsIdentity(ctx.service, adapter);
    const bot = new TeamsBot(ctx, models, adapter, identity, cards);
    if (!ctx.config.MicrosoftAppId && ctx.config.NODE_ENV === 'production') {
      ctx.logger.warn('Teams bot runs unauthenticated (MicrosoftAppId not set): anyone who can reach /api/messages can act as any Teams user');
    }
    ctx.http.post('/api/messages', express.json({ limit: '1mb' }), async (req, res) => {
      await adapter.process(req, res, (turn) => bot.handle(turn));
    });
    const credentials = graphCredentials(ctx.config);
    if (ctx.config.TEAMS_GRAPH_LOOKUP && !credentials) ctx.logger.warn('TEAMS_GRAPH_LOOKUP is on but no app id and secret are set (MicrosoftAppId/MicrosoftAppPassword or TEAMS_GRAPH_CLIENT_ID/SECRET): interrupted Teams posts are posted again without a look-up');
    const notifier = new TeamsNotifier(ctx, models, sender, cards, credentials ? new TeamsGraph(credentials) : null);
    bot.onConversationStored = () => notifier.markActive();
    notifiers.set(ctx, notifier);
    ctx.notifiers.register(notifier);
    ctx.scheduler.define('teams:inbound-expire', async () => {
      await models.Inbound.deleteMany({ at: { $lt: new Date(Date.now() - INBOUND_KEEP_MS) } });
    });
    ctx.scheduler.every('1 hour', 'teams:inbound-expire');
    // Known before anything can record an event: the app answers requests, completes a dead
    // instance's half-done changes and runs agenda jobs (time rules) before modules' start(), and an
    // event recorded while Teams still looked unused got no Teams delivery at all (a restarted
    // instance's time-rule note never reached the Teams thread: multi-instance-channels).
    await notifier.refreshActive().catch((err: unknown) => ctx.logger.warn({ err }, 'teams: could not tell yet whether Teams is in use; asking again at start'));
  },
  async start(ctx) {
    await notifiers.get(ctx)?.refreshActive();
  },
};

const notifiers = new WeakMap<AppContext, TeamsNotifier>();
