import { DeskbridgeError } from '../domain/errors.js';
import {
  conditionsHold, isDue, isTimeTrigger, timePeriodStart, triggerMatches,
  type Action, type EventFacts, type TicketFacts, type Trigger,
} from '../domain/automation-rules.js';
import { firstName, renderTemplate } from '../domain/templates.js';
import { isDuplicateKey } from '../store/models.js';
import type { Logger } from '../logger.js';
import type { TicketService } from '../tickets/service.js';
import type { ActorRef, Author, DomainEvent, TicketView } from '../tickets/types.js';
import type { AutomationDoc, AutomationModels } from './store.js';

/** How long a claimed run stays locked before another worker may resume it. */
const RUN_LEASE_MS = 60_000;

export const ruleActorName = (ruleName: string) => `Automation: ${ruleName}`;

/**
 * Runs automation rules. Event rules: once per domain event (the "automations" notifier channel
 * persists and retries the event). Time rules: a recurring job walks candidate tickets by query.
 * Every run has an id (rule + event, or rule + ticket + waiting period) stored before its first
 * action, and its progress after each action, so a rule fires once per trigger even across
 * restarts and several instances. Rules act as `{system: 'Automation: <name>'}`; system changes
 * never trigger rules, so a rule's change cannot start another run.
 */
export class AutomationEngine {
  constructor(
    private readonly models: AutomationModels,
    private readonly service: TicketService,
    private readonly logger: Logger,
  ) {}

  async enabledRules(): Promise<AutomationDoc[]> {
    return this.models.Automation.find({ enabled: true }).sort({ position: 1, createdAt: 1 }).lean<AutomationDoc[]>();
  }

  async handleEvent(event: DomainEvent): Promise<number> {
    const facts = eventFacts(event);
    if (facts.actorKind === 'system') return 0;
    const rules = (await this.enabledRules()).filter((r) => !isTimeTrigger(r.trigger) && triggerMatches(r.trigger, facts));
    let fired = 0;
    for (const rule of rules) {
      const entryText = typeof event.data.entryId === 'string' ? (await this.service.getEntry(event.data.entryId))?.text ?? '' : '';
      if (await this.run(rule, event.ticketNumber, `${rule._id}:${event.id}`, { entryText, cause: event.type })) fired++;
    }
    return fired;
  }

  /** One pass over the time-based rules; `shouldStop` lets a shutdown end the pass between tickets. */
  async runTimeRules(now = new Date(), shouldStop: () => boolean = () => false): Promise<number> {
    let fired = 0;
    for (const rule of await this.enabledRules()) {
      const trigger = rule.trigger;
      if (!isTimeTrigger(trigger)) continue;
      const cutoff = new Date(now.getTime() - trigger.hours * 3_600_000);
      const query = trigger.type === 'time.status'
        ? { status: trigger.status }
        : { lastByContactBefore: cutoff, excludeCategories: ['Resolved', 'Closed'] };
      let after = 0;
      for (;;) {
        const page = await this.service.timeRuleCandidates(query, after);
        if (page.length === 0) break;
        after = page[page.length - 1]!.number;
        for (const c of page) {
          if (shouldStop()) return fired;
          const statusSince = trigger.type === 'time.status' ? await this.service.statusSince(c.number) : new Date(0);
          const start = timePeriodStart(trigger, { ...c, statusSince });
          if (!start || !isDue(start, trigger.hours, now)) continue;
          if (await this.run(rule, c.number, `${rule._id}:${c.number}:${start.getTime()}`, { entryText: '', cause: trigger.type })) fired++;
        }
      }
    }
    return fired;
  }

  /** Runs (or resumes) one rule for one trigger occurrence. True when the rule fired now. */
  private async run(rule: AutomationDoc, number: number, runId: string, ctx: { entryText: string; cause: string }): Promise<boolean> {
    const now = new Date();
    const existing = await this.models.AutomationRun.findById(runId).lean();
    let actionsDone = 0;
    if (!existing) {
      const ticket = await this.service.getTicket(number).catch(() => null);
      if (!ticket || !conditionsHold(rule.conditions ?? [], ticketFacts(ticket, ctx.entryText))) return false;
      try {
        await this.models.AutomationRun.create({
          _id: runId, ruleId: rule._id, ruleName: rule.name, ticketNumber: number, status: 'started', actionsDone: 0,
          lockedUntil: new Date(now.getTime() + RUN_LEASE_MS), startedAt: now,
        });
      } catch (err) {
        if (isDuplicateKey(err)) return false; // another worker claimed it a moment ago
        throw err;
      }
    } else {
      // Resume a run a crash interrupted (conditions were checked when it started).
      if (existing.status !== 'started') return false;
      const claimed = await this.models.AutomationRun.findOneAndUpdate(
        { _id: runId, status: 'started', lockedUntil: { $lte: now } },
        { $set: { lockedUntil: new Date(now.getTime() + RUN_LEASE_MS) } },
        { new: true },
      ).lean();
      if (!claimed) return false;
      actionsDone = claimed.actionsDone;
    }

    const actor: ActorRef = { system: ruleActorName(rule.name) };
    try {
      for (let i = actionsDone; i < rule.actions.length; i++) {
        // A resumed run repeats the action whose progress the crash did not save: entry-adding actions
        // carry the run and action index, and are skipped when that entry is already there.
        await this.apply(rule.actions[i]!, number, actor, { key: `${runId}:${i}`, resumed: Boolean(existing) });
        await this.models.AutomationRun.updateOne({ _id: runId }, { $set: { actionsDone: i + 1 } });
      }
      // A resumed run may have logged itself just before the crash (found twice by multi-instance-channels).
      const logged = existing && (await this.service.getActivity(number)).some((a) => a.action === 'automation_ran' && a.meta.runId === runId);
      if (!logged) {
        await this.service.recordActivity(number, 'automation_ran', {
          rule: rule.name, ruleId: String(rule._id), runId, trigger: rule.trigger.type, cause: ctx.cause, actions: rule.actions.map((a) => a.type),
        }, systemAuthor(rule.name));
      }
      await this.models.AutomationRun.updateOne({ _id: runId }, { $set: { status: 'done', finishedAt: new Date() } });
      return true;
    } catch (err) {
      if (err instanceof DeskbridgeError && err.code !== 'CONFLICT' && err.code !== 'UNAVAILABLE') {
        // Retrying cannot help (e.g. a status that no longer exists): record it where admins look.
        this.logger.warn({ err, rule: rule.name, ticket: number }, 'automation rule failed');
        await this.models.AutomationRun.updateOne({ _id: runId }, { $set: { status: 'failed', error: err.message, finishedAt: new Date() } });
        await this.service.recordActivity(number, 'automation_failed', { rule: rule.name, ruleId: String(rule._id), error: err.message }, systemAuthor(rule.name))
          .catch(() => undefined);
        return false;
      }
      await this.models.AutomationRun.updateOne({ _id: runId }, { $set: { lockedUntil: new Date(0) } }).catch(() => undefined);
      throw err;
    }
  }

  private async apply(action: Action, number: number, actor: ActorRef, once: { key: string; resumed: boolean }): Promise<void> {
    const external = { automationRun: once.key };
    if (once.resumed && ['addNote', 'notifyTechnicians', 'emailRequester'].includes(action.type)
      && await this.service.models.Entry.exists({ ticketNumber: number, 'external.automationRun': once.key })) return;
    switch (action.type) {
      case 'setStatus':
        await this.service.updateTicket(number, { status: action.status }, actor);
        return;
      case 'setPriority':
        await this.service.updateTicket(number, { priority: action.priority as never }, actor);
        return;
      case 'setType':
        await this.service.updateTicket(number, { type: action.ticketType as never }, actor);
        return;
      case 'setAssignee':
        await this.service.updateTicket(number, { assignee: action.assignee ? { email: action.assignee } : null }, actor);
        return;
      case 'addNote':
        await this.service.addEntry(number, { kind: 'note', text: action.text, author: actor, source: 'system', external });
        return;
      case 'notifyTechnicians': {
        const ticket = await this.service.getTicket(number);
        const who = action.technicians?.length ? action.technicians : ticket.assignee ? [ticket.assignee.email] : [];
        await this.service.addEntry(number, { kind: 'note', text: action.text, author: actor, source: 'system', mentions: who.map((email) => ({ email })), external });
        return;
      }
      case 'emailRequester': {
        const body = action.templateId ? (await this.service.settings.getTemplate(action.templateId)).body : action.body!;
        const text = await this.renderForRequester(body, number);
        await this.service.addEntry(number, { kind: 'reply', text, author: actor, source: 'system', external });
        return;
      }
    }
  }

  /** Templates see requester, ticket and assignee fields only, never the conversation or notes. */
  private async renderForRequester(body: string, number: number): Promise<string> {
    const t = await this.service.getTicket(number);
    const rName = t.requester?.name || t.requester?.email || '';
    const tName = t.assignee?.name || 'Support';
    return renderTemplate(body, {
      requester: { name: rName, firstName: firstName(rName), email: t.requester?.email ?? '' },
      ticket: { number: t.number, title: t.title, status: t.status },
      technician: { name: tName, firstName: firstName(tName), email: t.assignee?.email ?? '' },
    });
  }
}

const systemAuthor = (ruleName: string): Author => ({ kind: 'system', personId: null, name: ruleActorName(ruleName), email: null });

export function eventFacts(event: DomainEvent): EventFacts {
  const d = event.data as Record<string, unknown>;
  // A status set together with a reply also comes as its own ticket.updated event: changes are
  // read from ticket.updated only, so a change never fires a rule twice.
  const changes = event.type === 'ticket.updated' ? ((d.changes as EventFacts['changes']) ?? []) : [];
  return {
    type: event.type,
    actorKind: event.actor.kind,
    entryKind: d.kind as string | undefined,
    entryAuthorKind: d.authorKind as string | undefined,
    changes,
  };
}

export function ticketFacts(t: TicketView, entryText = ''): TicketFacts {
  return {
    status: t.status, statusCategory: t.statusCategory, priority: t.priority, type: t.type, impact: t.impact,
    customer: t.customer, sentiment: t.sentiment?.label ?? null, assignee: t.assignee?.email ?? null,
    requester: t.requester?.email ?? null, title: t.title, productFamily: t.productFamily, source: t.source,
    activityStatus: t.activityStatus, entryText,
  };
}

export type { Trigger };
