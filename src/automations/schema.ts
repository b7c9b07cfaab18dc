import { z } from 'zod';
import { CHANGE_FIELDS, CONDITION_FIELDS, CONDITION_OPS } from '../domain/automation-rules.js';
import { PRIORITIES, TICKET_TYPES } from '../domain/ticket-rules.js';

/* What the API accepts for a rule. Statuses are checked against the settings by the service. */

const email = z.string().trim().toLowerCase().email('must be an email address').max(254);
const status = z.string().trim().min(1).max(40);
const hours = z.number().positive('must be more than 0').max(24 * 365, 'at most a year');

export const triggerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ticket.created') }).strict(),
  z.object({
    type: z.literal('entry.added'),
    by: z.enum(['contact', 'technician', 'any']).default('any'),
    kind: z.enum(['reply', 'note', 'chat']).optional(),
  }).strict(),
  z.object({ type: z.literal('field.changed'), field: z.enum(CHANGE_FIELDS), to: z.string().trim().max(254).optional() }).strict(),
  z.object({ type: z.literal('time.status'), status, hours, sinceLastReply: z.boolean().optional() }).strict(),
  z.object({ type: z.literal('time.noTechnicianReply'), hours }).strict(),
]);

export const conditionSchema = z.object({
  field: z.enum(CONDITION_FIELDS),
  op: z.enum(CONDITION_OPS),
  value: z.union([z.string().max(500), z.array(z.string().max(500)).min(1).max(50)]),
}).strict().refine((c) => typeof c.value === 'string' || c.op === 'in' || c.op === 'contains', {
  message: 'a list of values needs op "in" or "contains"', path: ['value'],
});

export const actionSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('setStatus'), status }).strict(),
  z.object({ type: z.literal('setPriority'), priority: z.enum(PRIORITIES) }).strict(),
  z.object({ type: z.literal('setType'), ticketType: z.enum(TICKET_TYPES) }).strict(),
  z.object({ type: z.literal('setAssignee'), assignee: email.nullable() }).strict(),
  z.object({ type: z.literal('addNote'), text: z.string().trim().min(1).max(10_000) }).strict(),
  z.object({ type: z.literal('notifyTechnicians'), technicians: z.array(email).max(50).optional(), text: z.string().trim().min(1).max(10_000) }).strict(),
  z.object({
    type: z.literal('emailRequester'),
    templateId: z.string().regex(/^[a-f0-9]{24}$/, 'must be a template id').optional(),
    body: z.string().trim().min(1).max(20_000).optional(),
  }).strict().refine((a) => (a.templateId ? 1 : 0) + (a.body ? 1 : 0) === 1, { message: 'give exactly one of templateId or body', path: ['templateId'] }),
]);

export const ruleSchema = z.object({
  name: z.string().trim().min(1, 'must not be empty').max(100),
  enabled: z.boolean().default(true),
  trigger: triggerSchema,
  conditions: z.array(conditionSchema).max(20).default([]),
  actions: z.array(actionSchema).min(1, 'at least one action').max(10),
  position: z.number().int().min(0).max(10_000).optional(),
}).strict();

export const rulePatchSchema = z.object({
  enabled: z.boolean().optional(),
  name: z.string().trim().min(1).max(100).optional(),
  position: z.number().int().min(0).max(10_000).optional(),
}).strict().refine((p) => Object.keys(p).length > 0, { message: 'nothing to change' });

export type RuleInput = z.infer<typeof ruleSchema>;
