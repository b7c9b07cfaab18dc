import type { Model } from 'mongoose';
import type { ActivityDoc } from '../store/models.js';

/** One run of a rule as the activity log recorded it (the engine writes one entry per finished run). */
export interface RuleRunView {
  at: Date;
  ticketNumber: number;
  outcome: 'ran' | 'failed';
  cause: string | null;
  error: string | null;
}

/** The engine's activity actions for a rule's runs; both carry meta.ruleId. */
export const RULE_RUN_ACTIONS = ['automation_ran', 'automation_failed'] as const;

/** A rule's latest runs, newest first; served by the activities { meta.ruleId, at } index. */
export async function recentRuleRuns(Activity: Model<ActivityDoc>, ruleId: string, limit = 20): Promise<RuleRunView[]> {
  const rows = await Activity.find({ 'meta.ruleId': ruleId, action: { $in: [...RULE_RUN_ACTIONS] } })
    .sort({ at: -1 }).limit(limit).lean<ActivityDoc[]>();
  return rows.map((r) => ({
    at: r.at,
    ticketNumber: r.ticketNumber,
    outcome: r.action === 'automation_failed' ? 'failed' : 'ran',
    cause: typeof r.meta?.cause === 'string' ? r.meta.cause : null,
    error: typeof r.meta?.error === 'string' ? r.meta.error : null,
  }));
}
