import { loadConfigOrExit } from '../src/config/app-config.js';
import { createRootLogger } from '../src/common/logger.js';
import { startWorker } from './worker.js';

/** Entry point of the worker process. */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createRootLogger(config.logLevel).child({ process: 'worker' });
  // A promise nobody handled is a bug, logged loudly; it must not take down every run in flight
  // (the runs' own code retries database and Redis failures). Tests boot the worker through
  // startWorker, without this handler, so Jest still fails on such a rejection.
  process.on('unhandledRejection', (reason: unknown) => {
    logger.fatal(
      { err: reason instanceof Error ? reason : new Error(String(reason)) },
      'unhandled promise rejection (a bug): the worker keeps running',
    );
  });
  const worker = await startWorker(config, logger);
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'worker stopping');
    worker
      .stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, 'worker did not stop cleanly');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(
    `worker failed to start: ${err instanceof Error ? err.message : String(err)}\n`,
  );
  process.exit(1);
});
