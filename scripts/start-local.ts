import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../src/config/app-config.js';
import { applyMigrations, ensureDatabase } from '../src/database/migrator.js';

/**
 * `npm start`: one command for local use. Creates the database if missing,
 * applies migrations, then runs the API and the worker as two processes from
 * the same build (as production does), stopping both when either stops.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  if (await ensureDatabase(config.databaseUrl))
    console.log(`created database ${config.databaseUrl}`);
  const applied = await applyMigrations(config.databaseUrl);
  if (applied.length) console.log(`applied migrations: ${applied.join(', ')}`);

  const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const children: ChildProcess[] = [
    spawn(process.execPath, [path.join(dist, 'src', 'main.js')], { stdio: 'inherit' }),
    spawn(process.execPath, [path.join(dist, 'worker', 'main.js')], { stdio: 'inherit' }),
  ];
  let exiting = false;
  const stopAll = (signal: NodeJS.Signals): void => {
    exiting = true;
    for (const child of children) if (child.exitCode === null) child.kill(signal);
  };
  for (const child of children) {
    child.on('exit', (code) => {
      if (!exiting) stopAll('SIGTERM');
      if (children.every((c) => c.exitCode !== null || c.signalCode !== null))
        process.exit(code ?? 0);
    });
  }
  process.on('SIGINT', () => stopAll('SIGTERM'));
  process.on('SIGTERM', () => stopAll('SIGTERM'));
  console.log(
    `meltano-cloud on ${config.http.publicUrl} (API docs at ${config.http.publicUrl}/api/docs)`,
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
