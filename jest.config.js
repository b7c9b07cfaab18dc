/** Jest in ESM mode (agenda 6 is ESM-only), TypeScript through ts-jest. Type checking is done once
 * by `npm run typecheck` before the suite, so ts-jest only transpiles. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, diagnostics: false }],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/faults/'],
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  testTimeout: 30000,
  maxWorkers: 2,
  // Each test file loads the app anew in ESM mode and the module registry is not freed; a worker
  // past this size is replaced between files (and with it set, jest always uses workers, so a
  // one-worker run such as test:faults does not pile every file into the main process).
  workerIdleMemoryLimit: '1GB',
};
