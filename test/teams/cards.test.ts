import { cutForCard, entryCard, initials, linesCard, chunkText, cardBytes } from '../../src/teams/cards.js';
import type { EntryView } from '../../src/tickets/types.js';

const entry = (over: Partial<EntryView>): EntryView => ({
  id: 'e1', ticketNumber: 7, kind: 'reply', visibility: 'public', author: { kind: 'technician', personId: 'p', name: 'Tom Tech', email: 'tom@it.example' },
  source: 'api', text: 'hello', html: null, truncated: false, attachments: [], cc: [], mentions: [], messageId: null, external: {}, createdAt: new Date(0),
  ...over,
});

test('user text is data, never template: ${...} in a comment stays literal', () => {
  const card = entryCard({ entry: entry({ text: 'cost is ${isNote} and ${entryId}', author: { kind: 'technician', personId: 'p', name: '${style}', email: null } }), ticketNumber: 7, maxChars: 1000 });
  const text = JSON.stringify(card);
  expect(text).toContain('cost is ${isNote} and ${entryId}');
  expect(text).toContain('${style} · reply on #7');
});

test('a note is a warning container with a lock label; a reply is not', () => {
  const note = entryCard({ entry: entry({ kind: 'note', visibility: 'internal' as never }), ticketNumber: 7, maxChars: 1000 });
  expect((note.body as any[])[0]).toMatchObject({ type: 'Container', style: 'warning' });
  expect(JSON.stringify(note)).toContain('🔒 Internal note');
  const reply = entryCard({ entry: entry({}), ticketNumber: 7, maxChars: 1000 });
  expect((reply.body as any[])[0].style).toBe('default');
  expect(JSON.stringify(reply)).not.toContain('🔒');
  expect(reply.actions).toEqual([]);
});

test('long comments are cut with an ellipsis and a "Show full comment" action', () => {
  expect(cutForCard('abc', 5)).toEqual({ text: 'abc', truncated: false });
  expect(cutForCard('abcdefgh', 5)).toEqual({ text: 'abcde…', truncated: true });
  const card = entryCard({ entry: entry({ text: 'x'.repeat(5000) }), ticketNumber: 7, maxChars: 1000 });
  expect((card.actions as any[])[0]).toMatchObject({ title: 'Show full comment', data: { msteams: { type: 'task/fetch' }, verb: 'entry.full', entryId: 'e1' } });
});

test('lists are cut to the card budget with a "more not shown" line', () => {
  const card = linesCard('Full', chunkText('y'.repeat(65_536)));
  expect(cardBytes(card)).toBeLessThan(27 * 1024);
  expect(JSON.stringify(card)).toMatch(/… \d+ more not shown/);
});

test('initials for the presence row', () => {
  expect(initials('Tom Tech')).toBe('TT');
  expect(initials('jane@corp.example')).toBe('JC');
  expect(initials('')).toBe('?');
});

test('an emailed entry offers "Show full message" (the whole mail in a dialog); a typed one does not', () => {
  const mailed = entryCard({ entry: entry({ source: 'email', external: { email: { rawId: 'r1', messageId: 'm@x', via: 'smtp' } } }), ticketNumber: 7, maxChars: 1000 });
  expect(mailed.actions).toEqual([{ type: 'Action.Submit', title: 'Show full message', data: { msteams: { type: 'task/fetch' }, verb: 'entry.message', entryId: 'e1' } }]);
  expect(entryCard({ entry: entry({}), ticketNumber: 7, maxChars: 1000 }).actions).toEqual([]);
});
