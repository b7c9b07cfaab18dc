import { Types } from 'mongoose';
import { conflict, invalid, notFound } from '../domain/errors.js';
import type { Action, Condition, Trigger } from '../domain/automation-rules.js';
import { resolveStatus } from '../domain/ticket-rules.js';
import { isDuplicateKey } from '../store/models.js';
import type { TicketService } from '../tickets/service.js';
import type { AutomationDoc, AutomationModels } from './store.js';
import type { RuleInput } from './schema.js';

export interface RuleView {
  id: string;
  name: string;
  enabled: boolean;
  builtin: string | null;
  position: number;
  trigger: Trigger;
  conditions: Condition[];
  actions: Action[];
  createdAt: Date;
  updatedAt: Date;
}

const view = (r: AutomationDoc): RuleView => ({
  id: String(r._id), name: r.name, enabled: r.enabled, builtin: r.builtin ?? null, position: r.position,
  trigger: r.trigger, conditions: r.conditions ?? [], actions: r.actions ?? [], createdAt: r.createdAt, updatedAt: r.updatedAt,
});

/** The rules shipped with deskbridge. Seeded once; admins switch them off (or edit them). */
export const DEFAULT_RULES: (RuleInput & { builtin: string })[] = [
  {
    builtin: 'reopen-on-contact-reply',
    name: 'Reopen when the end user replies',
    enabled: true,
    position: 10,
    trigger: { type: 'entry.added', by: 'contact' },
    conditions: [{ field: 'statusCategory', op: 'in', value: ['Pending', 'Resolved'] }],
    actions: [{ type: 'setStatus', status: 'Open' }],
  },
  {
    builtin: 'close-resolved-after-7-days',
    name: 'Close resolved tickets after 7 days without a reply',
    enabled: true,
    position: 20,
    trigger: { type: 'time.status', status: 'Resolved', hours: 168, sinceLastReply: true },
    conditions: [],
    actions: [{ type: 'setStatus', status: 'Closed' }],
  },
];

/** Stored rules: validated input (zod at the API), canonical status names, unique names. */
export class RuleStore {
  constructor(private readonly models: AutomationModels, private readonly service: TicketService) {}

  async seedDefaults(): Promise<void> {
    for (const d of DEFAULT_RULES) {
      const { builtin, ...rule } = d;
      // $setOnInsert: an admin's edits (or switching it off) survive restarts.
      await this.models.Automation.updateOne(
        { builtin },
        { $setOnInsert: { ...rule, position: rule.position ?? 100, builtin, version: 0 } },
        { upsert: true },
      ).catch((err) => {
        if (!isDuplicateKey(err)) throw err; // a concurrent instance seeded it
      });
    }
  }

  async list(): Promise<RuleView[]> {
    return (await this.models.Automation.find().sort({ position: 1, createdAt: 1 }).lean<AutomationDoc[]>()).map(view);
  }

  async get(id: string): Promise<RuleView> {
    return view(await this.doc(id));
  }

  async create(input: RuleInput): Promise<RuleView> {
    const rule = await this.canonical(input);
    try {
      const doc = await this.models.Automation.create({ ...rule, position: input.position ?? 100, builtin: null });
      return view(doc.toObject() as AutomationDoc);
    } catch (err) {
      if (isDuplicateKey(err)) throw conflict(`a rule named "${rule.name}" exists`);
      throw err;
    }
  }

  async replace(id: string, input: RuleInput): Promise<RuleView> {
    const current = await this.doc(id);
    const rule = await this.canonical(input);
    try {
      await this.models.Automation.updateOne(
        { _id: current._id },
        { $set: { ...rule, position: input.position ?? current.position }, $inc: { version: 1 } },
      );
    } catch (err) {
      if (isDuplicateKey(err)) throw conflict(`a rule named "${rule.name}" exists`);
      throw err;
    }
    return this.get(id);
  }

  async patch(id: string, patch: { enabled?: boolean; name?: string; position?: number }): Promise<RuleView> {
    const current = await this.doc(id);
    try {
      await this.models.Automation.updateOne({ _id: current._id }, { $set: patch, $inc: { version: 1 } });
    } catch (err) {
      if (isDuplicateKey(err)) throw conflict(`a rule named "${patch.name}" exists`);
      throw err;
    }
    return this.get(id);
  }

  async remove(id: string): Promise<void> {
    const current = await this.doc(id);
    if (current.builtin) throw conflict(`"${current.name}" ships with deskbridge; switch it off instead (PATCH {"enabled": false})`);
    await this.models.Automation.deleteOne({ _id: current._id });
  }

  private async doc(id: string): Promise<AutomationDoc> {
    const r = Types.ObjectId.isValid(id) ? await this.models.Automation.findById(id).lean<AutomationDoc>() : null;
    if (!r) throw notFound(`automation rule ${id}`);
    return r;
  }

  /** Statuses must exist (base or custom); stored under their canonical names. */
  private async canonical(input: RuleInput): Promise<{ name: string; enabled: boolean; trigger: Trigger; conditions: Condition[]; actions: Action[] }> {
    const settings = await this.service.settings.get();
    const status = (name: string, field: string) => {
      const s = resolveStatus(name, settings.customStatuses);
      if (!s) throw invalid(field, `unknown status "${name}"`);
      return s.name;
    };
    const trigger = input.trigger.type === 'time.status' ? { ...input.trigger, status: status(input.trigger.status, 'trigger.status') } : input.trigger;
    const actions = input.actions.map((a, i) => (a.type === 'setStatus' ? { ...a, status: status(a.status, `actions[${i}].status`) } : a));
    for (const [i, a] of input.actions.entries()) {
      if (a.type === 'emailRequester' && a.templateId) await this.service.settings.getTemplate(a.templateId).catch(() => {
        throw invalid(`actions[${i}].templateId`, 'no such template');
      });
      if (a.type === 'setAssignee' && a.assignee) await this.service.people.resolveTechnician({ email: a.assignee }, `actions[${i}].assignee`);
    }
    return { name: input.name, enabled: input.enabled, trigger: trigger as Trigger, conditions: input.conditions as Condition[], actions: actions as Action[] };
  }
}
