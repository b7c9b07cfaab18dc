import { Types } from 'mongoose';
import { DeskbridgeError, conflict, invalid, notFound } from '../domain/errors.js';
import { BASE_STATUSES, type CustomStatus, type StatusCategory } from '../domain/ticket-rules.js';
import { firstName, renderTemplate, unknownPlaceholders } from '../domain/templates.js';
import { isDuplicateKey, type Models, type TemplateDoc } from '../store/models.js';

export interface Settings {
  defaultReplyType: 'reply' | 'note';
  customStatuses: CustomStatus[];
  aiMayReadNotes: boolean;
  extra: Record<string, unknown>;
}

export interface TemplateView {
  id: string;
  name: string;
  body: string;
}

const templateView = (t: TemplateDoc): TemplateView => ({ id: String(t._id), name: t.name, body: t.body });

/** How long settings read from the database are reused; another process's change shows after this. */
export const SETTINGS_CACHE_MS = 5_000;

export class SettingsService {
  /** Every write and most reads of a ticket need the settings: read them once per few seconds. */
  private cached: { value: Settings; until: number } | null = null;
  /** Bumped by update(), so a read that started before a change never caches the old value. */
  private generation = 0;

  constructor(private readonly models: Models, private readonly cacheMs = SETTINGS_CACHE_MS) {}

  async get(): Promise<Settings> {
    if (this.cached && Date.now() < this.cached.until) return copySettings(this.cached.value);
    const generation = this.generation;
    const s = await this.models.Settings.findById('settings').lean();
    const value: Settings = {
      defaultReplyType: (s?.defaultReplyType as Settings['defaultReplyType']) ?? 'reply',
      customStatuses: (s?.customStatuses ?? []).map((c) => ({ name: c.name!, category: c.category as StatusCategory })),
      aiMayReadNotes: Boolean(s?.aiMayReadNotes),
      extra: (s?.extra as Record<string, unknown>) ?? {},
    };
    if (generation === this.generation && this.cacheMs > 0) this.cached = { value: copySettings(value), until: Date.now() + this.cacheMs };
    return value;
  }

  async update(patch: Partial<Settings>): Promise<Settings> {
    const set: Record<string, unknown> = {};
    if (patch.defaultReplyType !== undefined) {
      if (!['reply', 'note'].includes(patch.defaultReplyType)) throw invalid('defaultReplyType', 'one of "reply", "note"');
      set.defaultReplyType = patch.defaultReplyType;
    }
    if (patch.customStatuses !== undefined) set.customStatuses = validateCustomStatuses(patch.customStatuses);
    if (patch.aiMayReadNotes !== undefined) set.aiMayReadNotes = Boolean(patch.aiMayReadNotes);
    if (patch.extra !== undefined) {
      if (typeof patch.extra !== 'object' || patch.extra === null || Array.isArray(patch.extra)) throw invalid('extra', 'an object');
      for (const [k, v] of Object.entries(patch.extra)) {
        if (!SAFE_KEY.test(k) || UNSAFE_KEYS.has(k)) throw invalid(`extra.${k}`, 'keys are letters, digits and _');
        checkStorableValue(v, `extra.${k}`, 0);
        set[`extra.${k}`] = v;
      }
    }
    this.invalidate();
    await this.models.Settings.updateOne({ _id: 'settings' }, { $set: set }, { upsert: true });
    this.invalidate();
    return this.get();
  }

  /** Forgets the cached settings (the next get() reads the database). */
  invalidate(): void {
    this.cached = null;
    this.generation++;
  }

  // ------------------------------------------------ quick-reply templates

  async listTemplates(): Promise<TemplateView[]> {
    return (await this.models.Template.find().sort({ name: 1 }).lean<TemplateDoc[]>()).map(templateView);
  }

  async getTemplate(id: string): Promise<TemplateView> {
    const t = Types.ObjectId.isValid(id) ? await this.models.Template.findById(id).lean<TemplateDoc>() : null;
    if (!t) throw notFound(`template ${id}`);
    return templateView(t);
  }

  async createTemplate(input: { name: string; body: string }): Promise<TemplateView> {
    const v = validateTemplate(input);
    try {
      const t = await this.models.Template.create(v);
      return templateView(t.toObject() as TemplateDoc);
    } catch (err) {
      if (isDuplicateKey(err)) throw conflict(`a template named "${v.name}" exists`);
      throw err;
    }
  }

  async updateTemplate(id: string, input: { name: string; body: string }): Promise<TemplateView> {
    const v = validateTemplate(input);
    if (!Types.ObjectId.isValid(id)) throw notFound(`template ${id}`);
    try {
      const res = await this.models.Template.updateOne({ _id: id }, { $set: v });
      if (res.matchedCount === 0) throw notFound(`template ${id}`);
    } catch (err) {
      if (isDuplicateKey(err)) throw conflict(`a template named "${v.name}" exists`);
      throw err;
    }
    return this.getTemplate(id);
  }

  async deleteTemplate(id: string): Promise<void> {
    if (!Types.ObjectId.isValid(id)) throw notFound(`template ${id}`);
    const res = await this.models.Template.deleteOne({ _id: id });
    if (res.deletedCount === 0) throw notFound(`template ${id}`);
  }
}

const SAFE_KEY = /^[A-Za-z0-9_]+$/;
/** Keys that would reach an object's prototype when the settings are read back into plain objects. */
const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Free-form values are stored as given, so their keys must be plain names at every depth: a key
 * like "$gt" or "a.b" is a query operator or a path to the database, never data.
 */
function checkStorableValue(v: unknown, field: string, depth: number): void {
  if (depth > 10) throw invalid(field, 'nested too deeply (at most 10 levels)');
  if (Array.isArray(v)) {
    v.forEach((x, i) => checkStorableValue(x, `${field}[${i}]`, depth + 1));
    return;
  }
  if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k.startsWith('$') || k.includes('.') || UNSAFE_KEYS.has(k) || k.includes('\0')) {
        throw invalid(`${field}.${k}`, 'keys may not start with $, contain dots or be __proto__/constructor/prototype');
      }
      checkStorableValue(x, `${field}.${k}`, depth + 1);
    }
  }
}

/** Callers get their own copy, so changing a returned object cannot change the cache. */
function copySettings(s: Settings): Settings {
  return { ...s, customStatuses: s.customStatuses.map((c) => ({ ...c })), extra: { ...s.extra } };
}

export function validateCustomStatuses(list: unknown): CustomStatus[] {
  if (!Array.isArray(list)) throw invalid('customStatuses', 'a list of {name, category}');
  const seen = new Set<string>(BASE_STATUSES.map((s) => s.toLowerCase()));
  return list.map((raw, i) => {
    const s = raw as Partial<CustomStatus>;
    const name = typeof s?.name === 'string' ? s.name.trim() : '';
    if (!name || name.length > 40) throw invalid(`customStatuses[${i}].name`, '1 to 40 characters');
    if (seen.has(name.toLowerCase())) throw invalid(`customStatuses[${i}].name`, `"${name}" is already a status`);
    seen.add(name.toLowerCase());
    if (!BASE_STATUSES.includes(s.category as StatusCategory)) {
      throw invalid(`customStatuses[${i}].category`, `one of ${BASE_STATUSES.join(', ')}`);
    }
    return { name, category: s.category as StatusCategory };
  });
}

function validateTemplate(input: { name?: unknown; body?: unknown }): { name: string; body: string } {
  const name = typeof input?.name === 'string' ? input.name.trim() : '';
  const body = typeof input?.body === 'string' ? input.body : '';
  if (!name || name.length > 100) throw invalid('name', '1 to 100 characters');
  if (!body.trim() || body.length > 20_000) throw invalid('body', '1 to 20,000 characters');
  const unknown = unknownPlaceholders(body);
  if (unknown.length > 0) {
    throw new DeskbridgeError('VALIDATION_FAILED', `body: unknown placeholder {{${unknown[0]}}}`, [
      { field: 'body', message: `unknown placeholder(s): ${unknown.map((u) => `{{${u}}}`).join(', ')}` },
    ]);
  }
  return { name, body };
}

export { renderTemplate, firstName };
