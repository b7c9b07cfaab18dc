import { Types } from 'mongoose';
import { DeskbridgeError, conflict, invalid, notFound } from '../domain/errors.js';
import { isEmail, normaliseEmail } from '../domain/ticket-rules.js';
import { isDuplicateKey, type Models, type PersonDoc } from '../store/models.js';
import type { PersonRef, PersonSummary } from './types.js';

export type Role = 'technician' | 'contact' | 'admin';

export interface PersonView {
  id: string;
  name: string;
  email: string;
  emails: string[];
  roles: Role[];
  customer: string | null;
  customerAdmin: boolean;
  avatarUrl: string | null;
  identities: Record<string, unknown>;
  undeliverable: { email: string; reason: string; at: Date }[];
}

export const personView = (p: PersonDoc): PersonView => ({
  id: String(p._id),
  name: p.name ?? '',
  email: p.primaryEmail,
  emails: p.emails ?? [p.primaryEmail],
  roles: (p.roles ?? []) as Role[],
  customer: p.customer ?? null,
  customerAdmin: Boolean(p.customerAdmin),
  avatarUrl: p.avatarUrl ?? null,
  identities: (p.identities as Record<string, unknown>) ?? {},
  undeliverable: (p.undeliverable ?? []).map((u) => ({ email: u.email ?? '', reason: u.reason ?? '', at: u.at ?? new Date(0) })),
});

export const personSummary = (p: PersonDoc | PersonView): PersonSummary =>
  'primaryEmail' in p
    ? { id: String(p._id), name: p.name || p.primaryEmail, email: p.primaryEmail, avatarUrl: p.avatarUrl ?? null }
    : { id: p.id, name: p.name || p.email, email: p.email, avatarUrl: p.avatarUrl };

const nameFromEmail = (email: string) => email.split('@')[0]!.replace(/[._-]+/g, ' ').replace(/\b\w/g, (c) => c.toUpperCase());

/** One record per person; a person may be contact, technician or both. */
export class PeopleService {
  constructor(private readonly models: Models) {}

  async findByEmail(email: string): Promise<PersonDoc | null> {
    // The `emails` index (multikey) answers it.
    return this.models.Person.findOne({ emails: normaliseEmail(email) }).lean<PersonDoc>();
  }

  async get(id: string): Promise<PersonDoc | null> {
    if (!Types.ObjectId.isValid(id)) return null;
    return this.models.Person.findById(id).lean<PersonDoc>();
  }

  async getMany(ids: string[]): Promise<Map<string, PersonDoc>> {
    const valid = [...new Set(ids.filter((i) => Types.ObjectId.isValid(i)))];
    if (valid.length === 0) return new Map();
    const docs = await this.models.Person.find({ _id: { $in: valid } }).lean<PersonDoc[]>();
    return new Map(docs.map((d) => [String(d._id), d]));
  }

  /** Resolves a reference to an existing person, or throws NOT_FOUND naming the field. */
  async resolve(ref: PersonRef, field: string): Promise<PersonDoc> {
    const p = 'personId' in ref ? await this.get(ref.personId) : await this.findByEmail(ref.email);
    if (!p) {
      const what = 'personId' in ref ? `person ${ref.personId}` : `person ${ref.email}`;
      throw new DeskbridgeError('NOT_FOUND', `${field}: ${what} not found`, [{ field, message: `${what} not found` }]);
    }
    return p;
  }

  /** Like resolve, but a person known by email only is created as a contact on first contact. */
  async resolveOrCreateContact(ref: PersonRef, field: string): Promise<PersonDoc> {
    if ('personId' in ref) return this.resolve(ref, field);
    return this.ensureContact(ref.email, ref.name, field);
  }

  async resolveTechnician(ref: PersonRef, field: string): Promise<PersonDoc> {
    return this.requireTechnician(await this.resolve(ref, field), field);
  }

  /** The person, or FORBIDDEN naming the field when they are not a technician. */
  requireTechnician(p: PersonDoc, field: string): PersonDoc {
    if (!(p.roles ?? []).includes('technician')) {
      throw new DeskbridgeError('FORBIDDEN', `${field}: ${p.primaryEmail} is not a technician`, [
        { field, message: `${p.primaryEmail} is not a technician` },
      ]);
    }
    return p;
  }

  /** Contacts are created on first contact. Race-safe: the primary email is unique. */
  async ensureContact(email: string, name?: string, field = 'email'): Promise<PersonDoc> {
    if (!isEmail(email)) throw invalid(field, `"${email}" is not an email address`);
    const e = normaliseEmail(email);
    const existing = await this.findByEmail(e);
    if (existing) {
      if (!existing.name && name) await this.models.Person.updateOne({ _id: existing._id }, { $set: { name } });
      return existing;
    }
    try {
      const created = await this.models.Person.create({
        name: name?.trim() || nameFromEmail(e), primaryEmail: e, emails: [e], roles: ['contact'],
      });
      return created.toObject() as PersonDoc;
    } catch (err) {
      if (isDuplicateKey(err)) return (await this.findByEmail(e))!;
      throw err;
    }
  }

  /** Registers a person, or adds roles (and a name, if missing) to the one with that email. */
  async register(input: { email: string; name?: string; roles: Role[]; customer?: string | null; customerAdmin?: boolean; avatarUrl?: string | null }): Promise<{ person: PersonView; created: boolean }> {
    if (!isEmail(input.email)) throw invalid('email', `"${input.email}" is not an email address`);
    if (input.roles.length === 0) throw invalid('roles', 'at least one of "technician", "contact"');
    // An admin works tickets too: the role is never held without "technician".
    if (input.roles.includes('admin') && !input.roles.includes('technician')) input = { ...input, roles: ['technician', ...input.roles] };
    const e = normaliseEmail(input.email);
    const existing = await this.findByEmail(e);
    const set: Record<string, unknown> = {};
    if (input.name) set.name = input.name.trim();
    if (input.customer !== undefined) set.customer = input.customer;
    if (input.customerAdmin !== undefined) set.customerAdmin = input.customerAdmin;
    if (input.avatarUrl !== undefined) set.avatarUrl = input.avatarUrl;
    if (existing) {
      await this.updateRolesAndFields(existing, input.roles, set);
      return { person: personView((await this.get(String(existing._id)))!), created: false };
    }
    try {
      const doc = await this.models.Person.create({
        name: input.name?.trim() || nameFromEmail(e), primaryEmail: e, emails: [e], roles: input.roles, ...set,
      });
      return { person: personView(doc.toObject() as PersonDoc), created: true };
    } catch (err) {
      if (isDuplicateKey(err)) return this.register(input);
      throw err;
    }
  }

  /**
   * Adds roles and sets fields in one guarded write. Not `$addToSet` + `$set` in one update:
   * DocumentDB 0.106 (the embedded engine) doubles a hidden part of the document on every such
   * update whose `$addToSet` adds nothing, and refuses the 20th with "larger than MaxDocumentSize".
   * Instead the full role list is written, guarded by the roles we read (retried on a race).
   */
  private async updateRolesAndFields(existing: PersonDoc, roles: Role[], set: Record<string, unknown>): Promise<void> {
    let current = existing;
    for (let attempt = 0; attempt < 10; attempt++) {
      const before = (current.roles ?? []) as Role[];
      const union = [...before, ...roles.filter((r) => !before.includes(r))];
      const res = await this.models.Person.updateOne({ _id: current._id, roles: before }, { $set: { ...set, roles: union } });
      if (res.matchedCount > 0) return;
      const fresh = await this.models.Person.findById(current._id).lean<PersonDoc>();
      if (!fresh) throw notFound(`person ${String(current._id)}`);
      current = fresh;
    }
    throw new DeskbridgeError('CONFLICT', 'the person changed too often while being updated; try again');
  }

  async list(filter: { role?: Role; q?: string; limit?: number } = {}): Promise<PersonView[]> {
    const query: Record<string, unknown> = {};
    if (filter.role) query.roles = filter.role;
    if (filter.q) {
      // NUL cannot travel in a BSON regular expression; it can never match a name anyway.
      const rx = new RegExp(filter.q.replace(/\0/g, '').replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i');
      query.$or = [{ name: rx }, { primaryEmail: rx }];
    }
    const docs = await this.models.Person.find(query).sort({ name: 1 }).limit(Math.min(filter.limit ?? 200, 1000)).lean<PersonDoc[]>();
    return docs.map(personView);
  }

  /** Takes a role away (the console's people page); taking "technician" takes "admin" with it. */
  async removeRole(personId: string, role: Role): Promise<PersonView> {
    if (!Types.ObjectId.isValid(personId)) throw notFound(`person ${personId}`);
    const roles: Role[] = role === 'technician' ? ['technician', 'admin'] : [role];
    const res = await this.models.Person.updateOne({ _id: personId }, { $pullAll: { roles } });
    if (res.matchedCount === 0) throw notFound(`person ${personId}`);
    return personView((await this.get(personId))!);
  }

  /** Links a platform identity (e.g. slack {userId, teamId}) to a person. */
  async linkIdentity(personId: string, platform: string, identity: Record<string, unknown>): Promise<void> {
    const res = await this.models.Person.updateOne({ _id: personId }, { $set: { [`identities.${platform}`]: identity } });
    if (res.matchedCount === 0) throw notFound(`person ${personId}`);
  }

  /**
   * An admin links a person to their Slack or Teams account by hand (a Teams member without an
   * email address cannot be matched automatically). One account belongs to one person: linking an
   * account another person already has is a CONFLICT, and nothing is written.
   */
  async linkIdentityByAdmin(personId: string, platform: 'slack' | 'teams', identity: { userId: string } & Record<string, unknown>): Promise<PersonView> {
    if (!/^[a-f0-9]{24}$/.test(personId)) throw invalid('id', 'must be a person id');
    const holder = await this.findByIdentity(platform, 'userId', identity.userId);
    if (holder && String(holder._id) !== personId) {
      throw conflict(`${platform} user ${identity.userId} is already linked to ${holder.primaryEmail}`);
    }
    await this.linkIdentity(personId, platform, identity);
    return personView((await this.get(personId))!);
  }

  async findByIdentity(platform: string, key: string, value: string): Promise<PersonDoc | null> {
    return this.models.Person.findOne({ [`identities.${platform}.${key}`]: value }).lean<PersonDoc>();
  }

  async addEmail(personId: string, email: string): Promise<void> {
    if (!isEmail(email)) throw invalid('email', `"${email}" is not an email address`);
    await this.models.Person.updateOne({ _id: personId }, { $addToSet: { emails: normaliseEmail(email) } });
  }

  /** Marks an address as permanently undeliverable: automatic mail stops going to it. */
  async markUndeliverable(email: string, reason: string): Promise<PersonDoc | null> {
    const p = await this.findByEmail(email);
    if (!p) return null;
    const e = normaliseEmail(email);
    if ((p.undeliverable ?? []).some((u) => u.email === e)) return p;
    await this.models.Person.updateOne({ _id: p._id }, { $push: { undeliverable: { email: e, reason, at: new Date() } } });
    return this.get(String(p._id));
  }

  async isUndeliverable(email: string): Promise<boolean> {
    const p = await this.findByEmail(email);
    const e = normaliseEmail(email);
    return Boolean(p?.undeliverable?.some((u) => u.email === e));
  }
}
