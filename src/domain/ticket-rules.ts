/** Pure ticket rules of the product. No I/O here: everything is a function of its arguments. */

export const BASE_STATUSES = ['Open', 'Pending', 'Resolved', 'Closed'] as const;
export type StatusCategory = (typeof BASE_STATUSES)[number];

export const PRIORITIES = ['Low', 'Medium', 'High', 'Critical'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const TICKET_TYPES = ['Incident', 'Problem', 'Request', 'Change'] as const;
export type TicketType = (typeof TICKET_TYPES)[number];

export const IMPACTS = ['Low', 'Medium', 'High'] as const;
export type Impact = (typeof IMPACTS)[number];

export const ACTIVITY_STATUSES = ['Unread', 'Read', 'Waiting for contact reply', 'Waiting for technician reply'] as const;
export type ActivityStatus = (typeof ACTIVITY_STATUSES)[number];

export const ENTRY_KINDS = ['reply', 'note', 'chat', 'system'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

export const SOURCES = ['api', 'email', 'slack', 'teams', 'portal', 'chat', 'system', 'cli', 'console'] as const;
export type Source = (typeof SOURCES)[number];

export type AuthorKind = 'technician' | 'contact' | 'system';
export type Visibility = 'public' | 'internal';

export interface CustomStatus {
  name: string;
  category: StatusCategory;
}

export interface ResolvedStatus {
  name: string;
  category: StatusCategory;
}

/** Finds a status by name (case-insensitive) among the base statuses and the admin's custom ones. */
export function resolveStatus(name: string, custom: readonly CustomStatus[]): ResolvedStatus | undefined {
  const wanted = name.trim().toLowerCase();
  const base = BASE_STATUSES.find((s) => s.toLowerCase() === wanted);
  if (base) return { name: base, category: base };
  const c = custom.find((s) => s.name.toLowerCase() === wanted);
  return c ? { name: c.name, category: c.category } : undefined;
}

export function allStatuses(custom: readonly CustomStatus[]): ResolvedStatus[] {
  return [...BASE_STATUSES.map((s) => ({ name: s, category: s })), ...custom];
}

/** Internal notes are the one kind of entry an end user never sees, anywhere. */
export function visibilityOf(kind: EntryKind): Visibility {
  return kind === 'note' ? 'internal' : 'public';
}

export interface PersonRoles {
  id: string;
  roles: readonly ('technician' | 'contact')[];
}

/**
 * The both-roles rule: a person who is contact and technician is recorded as a contact only when
 * they are the ticket's requester and not its assignee; otherwise as a technician.
 */
export function authorKindFor(
  person: PersonRoles,
  ticket: { requesterId?: string | null; assigneeId?: string | null },
): 'technician' | 'contact' {
  const isTech = person.roles.includes('technician');
  const isContact = person.roles.includes('contact') || !isTech;
  if (!isTech) return 'contact';
  if (!isContact) return 'technician';
  const isRequester = ticket.requesterId != null && ticket.requesterId === person.id;
  const isAssignee = ticket.assigneeId != null && ticket.assigneeId === person.id;
  return isRequester && !isAssignee ? 'contact' : 'technician';
}

export const COMMENT_CAP = 65_536;
const ELLIPSIS = '…';

/**
 * Caps a comment from email or the portal at 65,536 characters (Unicode code points), the last of
 * them an ellipsis. Never splits a surrogate pair.
 */
export function capComment(text: string, cap = COMMENT_CAP): { text: string; truncated: boolean } {
  // Fast path: UTF-16 length is an upper bound of the code point count.
  if (text.length <= cap) return { text, truncated: false };
  let count = 0;
  let i = 0;
  while (i < text.length) {
    if (count === cap - 1) break;
    const cp = text.codePointAt(i)!;
    i += cp > 0xffff ? 2 : 1;
    count++;
  }
  if (i >= text.length) return { text, truncated: false };
  // The remaining text may still fit when it is exactly one code point.
  const rest = text.slice(i);
  if (Array.from(rest).length === 1) return { text, truncated: false };
  return { text: text.slice(0, i) + ELLIPSIS, truncated: true };
}

export const EMAIL_SIZE_CAP_BYTES = 20 * 1024 * 1024;

/** Activity status after an entry is added (notes and system entries leave it as it is). */
export function activityStatusAfterEntry(
  current: ActivityStatus,
  entry: { kind: EntryKind; authorKind: AuthorKind },
): ActivityStatus {
  if (entry.kind === 'note' || entry.kind === 'system') return current;
  if (entry.authorKind === 'contact') return 'Waiting for technician reply';
  if (entry.authorKind === 'technician') return 'Waiting for contact reply';
  return current;
}

/** A technician opening the ticket marks unread activity as read. */
export function activityStatusAfterRead(current: ActivityStatus): ActivityStatus {
  return current === 'Unread' ? 'Read' : current;
}

/** Short plain-text excerpt for list views and cards. */
export function excerpt(text: string, max = 140): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  return flat.slice(0, max - 1).trimEnd() + ELLIPSIS;
}

export const normaliseEmail = (email: string) => email.trim().toLowerCase();

const EMAIL_RE = /^[^\s@<>(),;:"\[\]]+@[^\s@<>(),;:"\[\]]+\.[^\s@<>(),;:"\[\]]+$/;
export const isEmail = (s: string) => EMAIL_RE.test(s.trim()) && s.length <= 254;
