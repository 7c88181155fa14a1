import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import infraTeardown from './infra-teardown.js';

/** A TCP port nobody listens on right now. */
async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function until(what, probe, attempts = 60) {
  for (let i = 0; i < attempts; i++) {
    if (await probe().catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(`${what} did not come up`);
}

/**
 * Once per `npm run test:resilience`: a PostgreSQL cluster and a Redis server of the suite's
 * own (the suite restarts and wipes them; the machine's main cluster and Redis are left alone),
 * and the run id naming databases and key prefixes (as test/support/global-setup.js does).
 * Test files find them through TEST_DATABASE_URL / TEST_REDIS_URL and RESIL_* variables.
 */
export default async function infraSetup() {
  try {
    await startInfra();
  } catch (err) {
    // Jest runs no global teardown when the setup fails: remove what was made.
    await infraTeardown();
    throw err;
  }
}

async function startInfra() {
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  process.env.MC_TEST_RUN_ID = runId;
  const state = mkdtempSync(path.join(tmpdir(), 'mc-resil-'));
  process.env.RESIL_STATE_DIR = state;

  // PostgreSQL: `pg_createcluster` (Debian's postgresql-common) as root, trust auth on loopback.
  const version = readdirSync('/etc/postgresql').sort().at(-1);
  const cluster = `resil_${runId}`;
  const pgPort = await freePort();
  execFileSync(
    'pg_createcluster',
    [
      version,
      cluster,
      '-p',
      String(pgPort),
      '-o',
      'fsync=off',
      '-o',
      'synchronous_commit=off',
      '-o',
      'full_page_writes=off',
      '-o',
      'max_connections=300',
      '--',
      '--auth-local=trust',
      '--auth-host=trust',
    ],
    { stdio: 'pipe' },
  );
  process.env.RESIL_PG_VERSION = version;
  process.env.RESIL_PG_CLUSTER = cluster;
  writeFileSync(path.join(state, 'pg'), `${version} ${cluster}\n`);
  execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, cluster, 'start'], {
    stdio: 'pipe',
  });
  const admin = `postgresql://postgres@127.0.0.1:${pgPort}/postgres`;
  await until('PostgreSQL', async () => {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.end();
    return true;
  });
  {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.query('CREATE ROLE root SUPERUSER LOGIN');
    await client.end();
  }
  process.env.TEST_DATABASE_URL = `postgresql://root@127.0.0.1:${pgPort}/postgres`;

  // Redis: a server of its own, no persistence (a restart or FLUSH loses everything, as in the issue).
  const redisPort = await freePort();
  const started = spawnSync(
    'redis-server',
    [
      '--port',
      String(redisPort),
      '--bind',
      '127.0.0.1',
      '--daemonize',
      'yes',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      state,
      '--pidfile',
      path.join(state, 'redis.pid'),
    ],
    { stdio: 'pipe' },
  );
  if (started.status !== 0) throw new Error(`redis-server: ${started.stderr.toString()}`);
  writeFileSync(path.join(state, 'redis'), `${redisPort}\n`);
  process.env.RESIL_REDIS_PORT = String(redisPort);
  process.env.TEST_REDIS_URL = `redis://127.0.0.1:${redisPort}`;
  await until('Redis', async () => {
    const out = spawnSync('redis-cli', ['-p', String(redisPort), 'ping'], { encoding: 'utf8' });
    return out.stdout.trim() === 'PONG';
  });
}
