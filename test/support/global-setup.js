import { randomBytes } from 'node:crypto';

/**
 * Once per `npm test`: picks the run id that names this run's databases
 * (mc_test_<run>_*) and Redis prefixes (mctest_<run>_*). The migrated
 * template database is made by the first test file that needs it
 * (test/support/test-env.ts), and every file copies it.
 */
export default async function globalSetup() {
  process.env.MC_TEST_RUN_ID = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}
