import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

/** Stops and removes the suite's own PostgreSQL cluster and Redis server (infra-setup.js). */
export default async function infraTeardown() {
  const state = process.env.RESIL_STATE_DIR;
  if (!state) return;
  const redisFile = path.join(state, 'redis');
  if (existsSync(redisFile)) {
    const port = readFileSync(redisFile, 'utf8').trim();
    spawnSync('redis-cli', ['-p', port, 'shutdown', 'nosave'], { stdio: 'ignore' });
  }
  const pgFile = path.join(state, 'pg');
  if (existsSync(pgFile)) {
    const [version, cluster] = readFileSync(pgFile, 'utf8').trim().split(' ');
    spawnSync('pg_dropcluster', ['--stop', version, cluster], { stdio: 'ignore' });
  }
  rmSync(state, { recursive: true, force: true });
}
