/*
 * The glue between ai/ and the app: the one file of ai/ that imports the app, the ticket service,
 * the notifier registry and the HTTP error mapper. Everything else in ai/ imports only domain/ and
 * reaches tickets through the shapes in ports.ts (test/domain/layering.test.ts).
 */
import { z } from 'zod';
import type { DeskbridgeModule } from '../app.js';
import type { Config } from '../config/index.js';
import { DeskbridgeError, invalid } from '../domain/errors.js';
import { fromZod } from '../http/errors.js';
import type { Logger } from '../logger.js';
import { RetryLaterError, type Notifier } from '../notify/notifier.js';
import type { TicketService } from '../tickets/service.js';
import type { DomainEvent, EntryView, PersonRef } from '../tickets/types.js';
import { ChatClient } from './client.js';
import { AiComposer, COMPOSE_ACTIONS, NOT_CONFIGURED_MESSAGE } from './composer.js';
import { SentimentClassifier, warmLexicon, type Classified } from './sentiment.js';

function chatClientFrom(config: Config): ChatClient | null {
  if (!config.OPENAI_API_KEY) return null;
  return new ChatClient(config.OPENAI_MODEL, { baseURL: config.OPENAI_BASE_URL, apiKey: config.OPENAI_API_KEY, timeoutMs: config.OPENAI_TIMEOUT_MS });
}

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
    const client = chatClientFrom(ctx.config);
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
  start(ctx) {
    // Off the start-up path, before the first mail needs it (see warmLexicon).
    const timer = setTimeout(warmLexicon, 500);
    timer.unref();
    ctx.onStop(() => clearTimeout(timer));
  },
};

/**
 * Channel "sentiment": after each end-user entry (and each new ticket) the ticket's sentiment is
 * classified from the end user's latest public entries and stored. Persisted and retried by the
 * delivery worker; a rate limit waits for the provider (and, when the retries run out, the lexicon
 * decides), other model failures fall back to the lexicon at once, so the field is never left empty.
 */
function sentimentNotifier(service: TicketService, classifier: SentimentClassifier, logger: Logger): Notifier {
  const run = async (event: DomainEvent, forceLexicon: boolean) => {
    const ticket = await service.getTicket(event.ticketNumber).catch(() => null);
    if (!ticket) return;
    // A newer classification already covers this event (replay after a crash, or a later entry).
    if (ticket.sentiment && new Date(ticket.sentiment.at) > new Date(event.at)) return;
    const texts = endUserTextsNewestFirst(await service.publicEntries(await service.conversationNumbers(ticket.number)));
    let result: Classified;
    try {
      result = await classifier.classify(texts, { lexiconOnly: forceLexicon });
    } catch (err) {
      const e = err as DeskbridgeError & { retryAfterMs?: number };
      if (e.code === 'RATE_LIMITED') throw new RetryLaterError(e.message, e.retryAfterMs ?? 30_000);
      throw err;
    }
    logger.debug({ ticket: ticket.number, source: result.source }, 'sentiment classified');
    await service.setSentiment(ticket.number, result);
  };
  return {
    channel: 'sentiment',
    wants: (e) => e.type === 'ticket.created' || (e.type === 'entry.added' && e.data.authorKind === 'contact'),
    deliver: (e) => run(e, false),
    onGiveUp: (e) => run(e, true),
  };
}

function endUserTextsNewestFirst(entries: EntryView[]): string[] {
  return entries.filter((e) => e.author.kind === 'contact' && e.text.trim()).map((e) => e.text).reverse();
}
