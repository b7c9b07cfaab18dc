import { formatUtcDate } from '../../src/portal/html.js';

// Portal and console show dates through one formatter per language (built once per process).
describe('formatUtcDate', () => {
  const d = new Date(Date.UTC(2026, 11, 7, 18, 40));

  test('English and German in UTC, whatever the server time zone', () => {
    expect(formatUtcDate('en', d)).toBe('7 Dec 2026, 18:40 UTC');
    expect(formatUtcDate('de', d)).toBe('07.12.2026, 18:40 UTC');
  });

  test('an unknown language falls back to English', () => {
    expect(formatUtcDate('fr', d)).toBe(formatUtcDate('en', d));
  });
});
