import { randomBytes } from 'node:crypto';
import pg from 'pg';
import {
  applyMigrations,
  dropDatabase,
  ensureDatabase,
  withDatabaseName,
} from '../../src/database/migrator.js';
import { loadConfig, type AppConfig } from '../../src/config/app-config.js';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export const TEST_SERVER_URL =
  process.env.TEST_DATABASE_URL ?? 'postgresql://root@127.0.0.1:5432/postgres';

/**
 * The run's template database, migrated once. Test files run in parallel
 * workers, so the first one to get here builds it under an advisory lock.
 */
async function ensureTemplate(runId: string): Promise<string> {
  const template = `mc_test_${runId}_tpl`;
  const client = new pg.Client({ connectionString: TEST_SERVER_URL });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [template]);
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
    if (!found.rowCount) {
      const building = `${template}_building`;
      const url = withDatabaseName(TEST_SERVER_URL, building);
      await dropDatabase(url);
      await ensureDatabase(url);
      await applyMigrations(url);
      await client.query(`ALTER DATABASE "${building}" RENAME TO "${template}"`);
    }
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [template]);
  } finally {
    await client.end();
  }
  return template;
}

/** A database of its own for one test file, copied from the migrated template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const runId = process.env.MC_TEST_RUN_ID;
  if (!runId) throw new Error('MC_TEST_RUN_ID missing: run tests through jest (global setup)');
  const template = await ensureTemplate(runId);
  const server = TEST_SERVER_URL;
  const url = withDatabaseName(server, `mc_test_${runId}_${randomBytes(4).toString('hex')}`);
  await ensureDatabase(url, template);
  return { url, drop: () => dropDatabase(url) };
}

/** A Redis key prefix of its own for one test file (cleaned by global teardown). */
export function testRedisPrefix(): string {
  return `mctest_${process.env.MC_TEST_RUN_ID ?? 'x'}_${randomBytes(3).toString('hex')}`;
}

export function testConfig(databaseUrl: string, overrides: Record<string, string> = {}): AppConfig {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: testRedisPrefix(),
    SHUTDOWN_TIMEOUT_MS: '5000',
    // Workers' metrics on a free port of the loopback (several workers run at once in tests).
    WORKER_METRICS_PORT: '0',
    WORKER_METRICS_HOST: '127.0.0.1',
    ...overrides,
  });
}

export { withDatabaseName };
