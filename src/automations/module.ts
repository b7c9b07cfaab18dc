import type { z } from 'zod';
import type { DeskbridgeModule } from '../app.js';
import { fromZod } from '../http/errors.js';
import type { Notifier } from '../notify/notifier.js';
import { AutomationEngine } from './engine.js';
import { RuleStore } from './rules.js';
import { ruleSchema, rulePatchSchema } from './schema.js';
import { automationModels } from './store.js';

export const TIME_RULES_JOB = 'automations:time-rules';

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value);
  if (!r.success) throw fromZod(r.error);
  return r.data;
}

/**
 * Automation rules: CRUD under /api/v1/automations, the "automations" notifier channel for event
 * rules (each event once, persisted and retried), and a recurring agenda job for time rules
 * (including the shipped auto-close).
 */
export const automationsModule: DeskbridgeModule = {
  name: 'automations',
  async setup(ctx) {
    const models = automationModels(ctx.db.connection);
    for (const m of Object.values(models)) await m.createIndexes();
    const store = new RuleStore(models, ctx.service);
    const engine = new AutomationEngine(models, ctx.service, ctx.logger);
    await store.seedDefaults();

    const notifier: Notifier = {
      channel: 'automations',
      // Only people's changes: a system actor (a rule, a job) never triggers rules.
      wants: (e) => e.actor.kind !== 'system' && ['ticket.created', 'entry.added', 'ticket.updated'].includes(e.type),
      deliver: async (e) => {
        await engine.handleEvent(e);
      },
    };
    ctx.notifiers.register(notifier);

    ctx.scheduler.define(TIME_RULES_JOB, async () => {
      const fired = await engine.runTimeRules(new Date(), () => ctx.scheduler.stopping);
      if (fired > 0) ctx.logger.info({ fired }, 'time-based automation rules fired');
    }, { concurrency: 1 });
    ctx.scheduler.every(ctx.config.AUTOMATIONS_INTERVAL, TIME_RULES_JOB);

    const r = ctx.api;
    r.get('/automations', async (_req, res) => res.json({ items: await store.list() }));
    r.post('/automations', async (req, res) => res.status(201).json(await store.create(parse(ruleSchema, req.body))));
    r.get('/automations/:id', async (req, res) => res.json(await store.get(String(req.params.id))));
    r.put('/automations/:id', async (req, res) => res.json(await store.replace(String(req.params.id), parse(ruleSchema, req.body))));
    r.patch('/automations/:id', async (req, res) => res.json(await store.patch(String(req.params.id), parse(rulePatchSchema, req.body))));
    r.delete('/automations/:id', async (req, res) => {
      await store.remove(String(req.params.id));
      res.status(204).end();
    });
    // Run the time-based rules now (admin tooling and tests); the job does the same on its interval.
    r.post('/automations/run-time-rules', async (_req, res) => res.json({ fired: await engine.runTimeRules() }));
  },
};
