import mongoose, { Schema, type Connection, type Model } from 'mongoose';
import type { Action, Condition, Trigger } from '../domain/automation-rules.js';

/** A stored rule. `builtin` marks the shipped defaults (seeded once; admins switch them off). */
export interface AutomationDoc {
  _id: mongoose.Types.ObjectId;
  name: string;
  enabled: boolean;
  trigger: Trigger;
  conditions: Condition[];
  actions: Action[];
  builtin: string | null;
  /** Rules run in this order (then by creation). */
  position: number;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * One run of one rule for one trigger occurrence (an event, or a ticket's waiting period). Its id
 * makes the run happen once; `actionsDone` lets a crashed run resume without repeating actions.
 */
export interface AutomationRunDoc {
  _id: string;
  ruleId: mongoose.Types.ObjectId;
  ruleName: string;
  ticketNumber: number;
  status: 'started' | 'done' | 'failed';
  actionsDone: number;
  error: string | null;
  lockedUntil: Date;
  startedAt: Date;
  finishedAt: Date | null;
}

const automationSchema = new Schema(
  {
    name: { type: String, required: true },
    enabled: { type: Boolean, default: true },
    trigger: { type: Schema.Types.Mixed, required: true },
    conditions: { type: [Schema.Types.Mixed], default: [] },
    actions: { type: [Schema.Types.Mixed], default: [] },
    builtin: { type: String, default: null },
    position: { type: Number, default: 100 },
    version: { type: Number, default: 0 },
  },
  { timestamps: true, minimize: false },
);
automationSchema.index({ name: 1 }, { unique: true });
automationSchema.index({ builtin: 1 });

const runSchema = new Schema(
  {
    _id: { type: String, required: true },
    ruleId: { type: Schema.Types.ObjectId, required: true },
    ruleName: String,
    ticketNumber: Number,
    status: { type: String, enum: ['started', 'done', 'failed'], default: 'started' },
    actionsDone: { type: Number, default: 0 },
    error: { type: String, default: null },
    lockedUntil: { type: Date, default: () => new Date(0) },
    startedAt: Date,
    finishedAt: { type: Date, default: null },
  },
  { minimize: false },
);
runSchema.index({ ticketNumber: 1 });

export function automationModels(conn: Connection) {
  const m = <T>(name: string, schema: Schema, collection: string): Model<T> =>
    (conn.models[name] as Model<T> | undefined) ?? (conn.model(name, schema, collection) as unknown as Model<T>);
  return {
    Automation: m<AutomationDoc>('Automation', automationSchema, 'automations'),
    AutomationRun: m<AutomationRunDoc>('AutomationRun', runSchema, 'automationRuns'),
  };
}
export type AutomationModels = ReturnType<typeof automationModels>;
