// `npm run test:resilience`: fault injection against the real worker processes (built in dist/),
// a private PostgreSQL cluster and a private Redis (test/resilience/support/infra-*.js). Files
// run one at a time: they restart, wipe and kill what the others would share.
import base from './jest.config.js';

/** @type {import('jest').Config} */
export default {
  ...base,
  roots: ['<rootDir>/test/resilience'],
  testMatch: ['**/*.resilience.ts'],
  globalSetup: '<rootDir>/test/resilience/support/infra-setup.js',
  globalTeardown: '<rootDir>/test/resilience/support/infra-teardown.js',
  testTimeout: 240_000,
  maxWorkers: 1,
};
