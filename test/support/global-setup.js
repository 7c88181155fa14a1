import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve('.');
const CLI_MAIN = path.join(ROOT, 'dist/cli/main.js');

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * Once per `npm test`: picks the run id that names this run's databases
 * (mc_test_<run>_*) and Redis prefixes (mctest_<run>_*). The migrated
 * template database is made by the first test file that needs it
 * (test/support/test-env.ts), and every file copies it.
 *
 * The CLI specs run the built binary (dist/cli): it is built here, once, before any test file
 * starts, when it is older than cli/ (a fresh clone has none). Built inside a spec's beforeAll
 * instead, two CLI specs compiled the tree at the same time and, on a loaded machine, ran out of
 * their hook's time. Should the tree not compile, the specs' own `ensureCliBuilt` says why.
 */
export default async function globalSetup() {
  process.env.MC_TEST_RUN_ID = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  if (!existsSync(CLI_MAIN) || statSync(CLI_MAIN).mtimeMs < newestSource(path.join(ROOT, 'cli')))
    spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
}
