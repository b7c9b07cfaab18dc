import {
  activityStatusAfterEntry, activityStatusAfterRead, authorKindFor, capComment, excerpt, resolveStatus, visibilityOf,
  COMMENT_CAP,
} from '../../src/domain/ticket-rules.js';
import { parseMentions } from '../../src/domain/mentions.js';
import { presenceView } from '../../src/domain/presence.js';
import { renderTemplate, unknownPlaceholders } from '../../src/domain/templates.js';

describe('statuses', () => {
  const custom = [{ name: 'Waiting on vendor', category: 'Pending' as const }];
  test('base statuses resolve case-insensitively to themselves', () => {
    expect(resolveStatus('resolved', custom)).toEqual({ name: 'Resolved', category: 'Resolved' });
  });
  test('a custom status maps to one of the four', () => {
    expect(resolveStatus('waiting ON vendor', custom)).toEqual({ name: 'Waiting on vendor', category: 'Pending' });
  });
  test('unknown statuses are not guessed', () => {
    expect(resolveStatus('Done', custom)).toBeUndefined();
  });
});

describe('who is the author (both-roles rule)', () => {
  const both = { id: 'p1', roles: ['contact', 'technician'] as const };
  test('requester and not assignee: contact', () => {
    expect(authorKindFor(both, { requesterId: 'p1', assigneeId: 'p2' })).toBe('contact');
    expect(authorKindFor(both, { requesterId: 'p1', assigneeId: null })).toBe('contact');
  });
  test('requester and assignee: technician', () => {
    expect(authorKindFor(both, { requesterId: 'p1', assigneeId: 'p1' })).toBe('technician');
  });
  test('not the requester: technician', () => {
    expect(authorKindFor(both, { requesterId: 'p9', assigneeId: null })).toBe('technician');
  });
  test('single roles are what they are', () => {
    expect(authorKindFor({ id: 'p1', roles: ['technician'] }, { requesterId: 'p1' })).toBe('technician');
    expect(authorKindFor({ id: 'p1', roles: ['contact'] }, { requesterId: 'p9', assigneeId: 'p1' })).toBe('contact');
  });
});

describe('65,536-character cap', () => {
  test('text at the cap is kept whole', () => {
    const t = 'a'.repeat(COMMENT_CAP);
    expect(capComment(t)).toEqual({ text: t, truncated: false });
  });
  test('longer text is cut to exactly the cap, ending with an ellipsis', () => {
    const r = capComment('a'.repeat(COMMENT_CAP + 10));
    expect(r.truncated).toBe(true);
    expect(Array.from(r.text)).toHaveLength(COMMENT_CAP);
    expect(r.text.endsWith('…')).toBe(true);
  });
  test('counts characters, not UTF-16 units, and never splits a surrogate pair', () => {
    const emoji = '😀'.repeat(COMMENT_CAP); // 2 units each, exactly at the cap in characters
    expect(capComment(emoji).truncated).toBe(false);
    const r = capComment('😀'.repeat(COMMENT_CAP + 1));
    expect(r.truncated).toBe(true);
    expect(Array.from(r.text)).toHaveLength(COMMENT_CAP);
    expect(r.text.slice(-3)).toBe('😀…');
  });
});

describe('activity status', () => {
  test('a contact entry waits for the technician; a technician reply waits for the contact', () => {
    expect(activityStatusAfterEntry('Read', { kind: 'reply', authorKind: 'contact' })).toBe('Waiting for technician reply');
    expect(activityStatusAfterEntry('Unread', { kind: 'reply', authorKind: 'technician' })).toBe('Waiting for contact reply');
    expect(activityStatusAfterEntry('Read', { kind: 'chat', authorKind: 'contact' })).toBe('Waiting for technician reply');
  });
  test('notes and system entries leave it', () => {
    expect(activityStatusAfterEntry('Unread', { kind: 'note', authorKind: 'technician' })).toBe('Unread');
    expect(activityStatusAfterEntry('Read', { kind: 'system', authorKind: 'system' })).toBe('Read');
  });
  test('reading marks only unread as read', () => {
    expect(activityStatusAfterRead('Unread')).toBe('Read');
    expect(activityStatusAfterRead('Waiting for technician reply')).toBe('Waiting for technician reply');
  });
});

test('only notes are internal', () => {
  expect(visibilityOf('note')).toBe('internal');
  for (const k of ['reply', 'chat', 'system'] as const) expect(visibilityOf(k)).toBe('public');
});

test('excerpts flatten whitespace and cut with an ellipsis', () => {
  expect(excerpt('a\n\n  b')).toBe('a b');
  expect(excerpt('x'.repeat(200), 10)).toBe('xxxxxxxxx…');
});

describe('mentions', () => {
  test('email, Slack and Teams forms', () => {
    const m = parseMentions('ping @Tom@IT.example, and <@U012ABC|tom> plus <at>Jane Doe</at>. not@mention.com');
    expect(m.emails).toEqual(['tom@it.example']);
    expect(m.slackUserIds).toEqual(['U012ABC']);
    expect(m.teamsNames).toEqual(['Jane Doe']);
  });
});

describe('presence: at most five avatars, yours first, the rest behind more', () => {
  const people = (n: number) => Array.from({ length: n }, (_, i) => ({ personId: `p${i}`, name: `P${i}`, since: new Date(1000 * i) }));
  test('five or fewer: everyone shown, no more', () => {
    const v = presenceView(people(5));
    expect(v.shown).toHaveLength(5);
    expect(v.more).toHaveLength(0);
  });
  test('more than five: five shown, rest behind more', () => {
    const v = presenceView(people(8));
    expect(v.shown).toHaveLength(5);
    expect(v.more).toHaveLength(3);
  });
  test('the viewer comes first, set apart, and counts towards the five', () => {
    const v = presenceView(people(8), 'p0');
    expect(v.me?.personId).toBe('p0');
    expect(v.shown).toHaveLength(4);
    expect(v.shown.some((m) => m.personId === 'p0')).toBe(false);
    expect(v.more).toHaveLength(3);
  });
});

describe('templates', () => {
  const ctx = {
    requester: { name: 'Jane Doe', firstName: 'Jane', email: 'jane@x.example' },
    ticket: { number: 7, title: 'VPN', status: 'Open' },
    technician: { name: 'Tom Tech', firstName: 'Tom', email: 'tom@x.example' },
  };
  test('placeholders are filled', () => {
    expect(renderTemplate('Hi {{requester.firstName}}, #{{ ticket.number }} — {{technician.name}}', ctx)).toBe('Hi Jane, #7 — Tom Tech');
  });
  test('unknown placeholders are reported', () => {
    expect(unknownPlaceholders('{{requester.name}} {{ticket.secret}}')).toEqual(['ticket.secret']);
  });
});
