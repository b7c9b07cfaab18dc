/**
 * Automation rules, the pure part: which event fires which rule, and whether a ticket meets a
 * rule's conditions. No I/O; the engine in src/automations feeds events and ticket facts in.
 */

export const EVENT_TRIGGER_TYPES = ['ticket.created', 'entry.added', 'field.changed'] as const;
export const TIME_TRIGGER_TYPES = ['time.status', 'time.noTechnicianReply'] as const;
export const CHANGE_FIELDS = ['status', 'priority', 'assignee', 'type'] as const;
export const CONDITION_FIELDS = [
  'status', 'statusCategory', 'priority', 'type', 'impact', 'customer', 'sentiment', 'assignee', 'requester', 'title',
  'productFamily', 'source', 'activityStatus', 'entryText',
] as const;
export const CONDITION_OPS = ['equals', 'notEquals', 'in', 'contains'] as const;

export type Trigger =
  | { type: 'ticket.created' }
  /** by: who wrote the entry; system entries never trigger rules. */
  | { type: 'entry.added'; by: 'contact' | 'technician' | 'any'; kind?: 'reply' | 'note' | 'chat' }
  | { type: 'field.changed'; field: (typeof CHANGE_FIELDS)[number]; to?: string }
  /** The ticket has had this status for `hours` (with sinceLastReply: and no public reply since). */
  | { type: 'time.status'; status: string; hours: number; sinceLastReply?: boolean }
  /** The end user wrote last and no technician has replied for `hours`. */
  | { type: 'time.noTechnicianReply'; hours: number };

export type ConditionField = (typeof CONDITION_FIELDS)[number];
export interface Condition {
  field: ConditionField;
  op: (typeof CONDITION_OPS)[number];
  value: string | string[];
}

export type Action =
  | { type: 'setStatus'; status: string }
  | { type: 'setPriority'; priority: string }
  | { type: 'setType'; ticketType: string }
  | { type: 'setAssignee'; assignee: string | null }
  | { type: 'addNote'; text: string }
  /** An internal note mentioning the technicians (default: the assignee); mention notifiers DM them. */
  | { type: 'notifyTechnicians'; technicians?: string[]; text: string }
  /** A public reply to the requester, rendered from a quick-reply template; the email notifier sends it. */
  | { type: 'emailRequester'; templateId?: string; body?: string };

export interface RuleDefinition {
  name: string;
  enabled: boolean;
  trigger: Trigger;
  conditions: Condition[];
  actions: Action[];
}

/** What a rule's event trigger looks at: the domain event, reduced to what matters. */
export interface EventFacts {
  type: string;
  actorKind: 'technician' | 'contact' | 'system';
  entryKind?: string;
  entryAuthorKind?: string;
  changes?: { field: string; from: unknown; to: unknown }[];
}

export type TicketFacts = Partial<Record<ConditionField, string | null>>;

export const isTimeTrigger = (t: Trigger): t is Extract<Trigger, { type: 'time.status' | 'time.noTechnicianReply' }> =>
  (TIME_TRIGGER_TYPES as readonly string[]).includes(t.type);

/**
 * Does this event fire this trigger? Changes made by the system (rules themselves, jobs) never do:
 * that is what keeps rules from triggering rules.
 */
export function triggerMatches(trigger: Trigger, event: EventFacts): boolean {
  if (event.actorKind === 'system') return false;
  switch (trigger.type) {
    case 'ticket.created':
      return event.type === 'ticket.created';
    case 'entry.added':
      if (event.type !== 'entry.added') return false;
      if (event.entryAuthorKind === 'system') return false;
      if (trigger.kind && event.entryKind !== trigger.kind) return false;
      return trigger.by === 'any' || event.entryAuthorKind === trigger.by;
    case 'field.changed': {
      const change = (event.changes ?? []).find((c) => c.field === trigger.field);
      if (!change) return false;
      return trigger.to === undefined || lower(change.to) === lower(trigger.to);
    }
    default:
      return false;
  }
}

const lower = (v: unknown) => (v == null ? '' : String(v).trim().toLowerCase());

export function conditionHolds(c: Condition, facts: TicketFacts): boolean {
  const actual = lower(facts[c.field]);
  const values = (Array.isArray(c.value) ? c.value : [c.value]).map(lower);
  switch (c.op) {
    case 'equals':
      return actual === values[0];
    case 'notEquals':
      return actual !== values[0];
    case 'in':
      return values.includes(actual);
    case 'contains':
      return values.some((v) => v !== '' && actual.includes(v));
    default:
      return false;
  }
}

/** All conditions must hold (an empty list always holds). */
export const conditionsHold = (conditions: readonly Condition[], facts: TicketFacts) => conditions.every((c) => conditionHolds(c, facts));

/**
 * When a time-based rule's waiting period started for a ticket, or null when it does not apply.
 * The start doubles as the idempotency key: a rule fires once per ticket per period.
 */
export function timePeriodStart(
  trigger: Extract<Trigger, { type: 'time.status' | 'time.noTechnicianReply' }>,
  t: { status: string; statusSince: Date; statusCategory: string; last: { authorKind: string; at: Date } | null },
): Date | null {
  if (trigger.type === 'time.status') {
    if (lower(t.status) !== lower(trigger.status)) return null;
    const lastReply = trigger.sinceLastReply && t.last ? t.last.at : null;
    return lastReply && lastReply > t.statusSince ? lastReply : t.statusSince;
  }
  if (t.statusCategory === 'Resolved' || t.statusCategory === 'Closed') return null;
  if (!t.last || t.last.authorKind !== 'contact') return null;
  return t.last.at;
}

export const isDue = (periodStart: Date, hours: number, now: Date) => now.getTime() - periodStart.getTime() >= hours * 3_600_000;
