import base from './jest.config.js';
/** The long fault tests (kill -9, database outage, fuzzing): `npm run test:faults`, also run by CI. */
export default { ...base, testMatch: ['<rootDir>/test/faults/**/*.test.ts'], testPathIgnorePatterns: ['/node_modules/'], testTimeout: 600000, maxWorkers: 1 };
