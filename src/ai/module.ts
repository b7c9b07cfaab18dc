import { z } from 'zod';
import type { DeskbridgeModule } from '../app.js';
import { DeskbridgeError, invalid } from '../domain/errors.js';
import { fromZod } from '../http/errors.js';
import type { PersonRef } from '../tickets/types.js';
import { ChatClient } from './client.js';
import { AiComposer, COMPOSE_ACTIONS, NOT_CONFIGURED_MESSAGE } from './composer.js';
import { SentimentClassifier, sentimentNotifier } from './sentiment.js';

const email = z.string().trim().email('must be an email address').max(254);
const composeBody = z.object({
  action: z.enum(COMPOSE_ACTIONS as [string, ...string[]]),
  draft: z.string().max(20_000, 'at most 20,000 characters').optional(),
  technician: z.union([
    z.object({ email }).strict(),
    z.object({ personId: z.string().regex(/^[a-f0-9]{24}$/, 'must be a person id') }).strict(),
  ]).optional(),
}).strict();

/**
 * AI drafts (ctx.ai, used by Slack, Teams and POST /tickets/:number/compose) and the sentiment
 * channel. Without OPENAI_API_KEY drafts are off (503 with how to enable them) and sentiment uses
 * the lexicon.
 */
export const aiModule: DeskbridgeModule = {
  name: 'ai',
  setup(ctx) {
    const client = ChatClient.fromConfig(ctx.config);
    const composer = new AiComposer(client, ctx.service, ctx.logger);
    ctx.ai = composer;
    const classifier = new SentimentClassifier(ctx.config.AI_SENTIMENT ? client : null, (err) => ctx.logger.warn({ err }, 'model sentiment failed; using the lexicon'));
    ctx.notifiers.register(sentimentNotifier(ctx.service, classifier, ctx.logger));

    ctx.api.post('/tickets/:number/compose', async (req, res) => {
      const raw = String(req.params.number ?? '');
      const number = /^\d{1,12}$/.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(number) || number <= 0) throw new DeskbridgeError('NOT_FOUND', `ticket ${raw} not found`);
      if (!ctx.ai.isConfigured()) throw new DeskbridgeError('UNAVAILABLE', NOT_CONFIGURED_MESSAGE);
      const parsed = composeBody.safeParse(req.body);
      if (!parsed.success) throw fromZod(parsed.error);
      const body = parsed.data;
      let technician = body.technician as PersonRef | undefined;
      if (!technician) {
        const t = await ctx.service.getTicket(number);
        if (!t.assignee) throw invalid('technician', 'required when the ticket has no assignee');
        technician = { personId: t.assignee.id };
      }
      const draft = await ctx.ai.compose({ ticketNumber: number, action: body.action as never, draft: body.draft, technician });
      res.json({ text: draft.text, action: body.action, sent: false });
    });
  },
};
