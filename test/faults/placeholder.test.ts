// The long fault tests (kill -9 under load, database outage, fuzzing) live in this folder and run
// with `npm run test:faults`. Until they land this checks that the fault config selects them.
import { readFileSync } from 'node:fs';

test('fault suite selects only test/faults', () => {
  const cfg = readFileSync(new URL('../../jest.faults.config.js', import.meta.url), 'utf8');
  expect(cfg).toContain("testMatch: ['<rootDir>/test/faults/**/*.test.ts']");
});
