import pg from 'pg';
import { Redis } from 'ioredis';

/** Drops every database and Redis key this test run made, including ones a crashed file left behind. */
export default async function globalTeardown() {
  const runId = process.env.MC_TEST_RUN_ID;
  if (!runId) return;
  const serverUrl = process.env.TEST_DATABASE_URL ?? 'postgresql://root@127.0.0.1:5432/postgres';
  {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      const { rows } = await client.query('SELECT datname FROM pg_database WHERE datname LIKE $1', [
        `mc_test_${runId}_%`,
      ]);
      for (const { datname } of rows)
        await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    } finally {
      await client.end();
    }
  }
  const redis = new Redis(process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', {
    lazyConnect: true,
  });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `mctest_${runId}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } catch {
    // Redis down: nothing of ours to clean.
  } finally {
    redis.disconnect();
  }
}
