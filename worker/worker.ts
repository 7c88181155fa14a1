import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger, type INestApplicationContext } from '@nestjs/common';
import type { Logger as PinoLogger } from 'pino';
import { AppConfig } from '../src/config/app-config.js';
import { createRootLogger, PinoNestLogger } from '../src/common/logger.js';
import { QueueService } from '../src/queue/queue.service.js';
import { recurringJobs } from '../src/queue/jobs.js';
import { WorkerModule } from './worker.module.js';
import { WorkerRuntime } from './worker-runtime.js';
import { SchedulerService } from '../src/schedules/scheduler.service.js';
import { RunSweep } from '../src/runs/run-sweep.js';
import { WorkerHeartbeat } from '../src/runs/worker-heartbeat.js';
import { WorkerMetrics } from '../src/metrics/worker-metrics.js';
import { startMetricsServer } from './metrics-server.js';

export interface RunningWorker {
  app: INestApplicationContext;
  runtime: WorkerRuntime;
  /** The worker's Prometheus endpoint (`<metricsUrl>/metrics`, WORKER_METRICS_PORT). */
  metricsUrl: string;
  /** Drains jobs in hand, then closes connections. */
  stop(): Promise<void>;
}

/** Boots the worker (shared by worker/main.ts and tests). Throws if a job type has no handler. */
export async function startWorker(
  config: AppConfig,
  logger?: PinoLogger,
  options: { watchdogMs?: number } = {},
): Promise<RunningWorker> {
  const root = logger ?? createRootLogger(config.logLevel);
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), {
    logger: new PinoNestLogger(root),
    abortOnError: false,
  });
  const runtime = app.get(WorkerRuntime);
  try {
    await runtime.start();
  } catch (err) {
    await app.close();
    throw err;
  }
  let metricsServer;
  try {
    metricsServer = await startMetricsServer(config, app.get(WorkerMetrics));
  } catch (err) {
    await runtime.stop();
    await app.close();
    throw err;
  }
  const queues = app.get(QueueService);
  const scheduler = app.get(SchedulerService);
  const runs = app.get(RunSweep);
  const log = new Logger('worker');
  // Recurring jobs (housekeeping, usage reporting…); fixed scheduler ids keep each to one across workers.
  const upsertHousekeeping = async () => {
    for (const key of Object.keys(recurringJobs) as (keyof typeof recurringJobs)[])
      await queues.upsertRecurring(key);
  };
  await app.get(WorkerHeartbeat).start();
  await upsertHousekeeping();
  // PostgreSQL is the source of truth: rebuild Redis's timers, record ticks missed while no worker
  // ran, take over runs of workers that vanished, clear leftovers of finished runs.
  await scheduler.reconcile();
  await scheduler.catchUpMissed();
  await runs.sweep();
  await runs.cleanupLeftovers().catch((err: unknown) => log.warn(`cleanup failed: ${String(err)}`));
  // A Redis that lost everything (restart without persistence) is noticed and rebuilt without anyone acting.
  const watchdog = setInterval(() => {
    void (async () => {
      if (await scheduler.redisLostState()) {
        log.warn('Redis lost its scheduler state: rebuilding it from PostgreSQL');
        // Ticks up to now had no timer (the new timers fire only after it): they are missed.
        const lostUntil = new Date();
        await upsertHousekeeping();
        await scheduler.reconcile();
        // Recorded as missed under each deployment's missed-run policy, as at start-up.
        const missed = await scheduler.catchUpMissed(lostUntil, { redisLost: true });
        // Every queue job went with Redis: queued runs come back at once, runs in flight are taken over.
        const { orphaned, requeued } = await runs.sweep(lostUntil);
        log.warn({ msg: 'rebuilt after Redis lost its state', missed, orphaned, requeued });
      }
    })().catch((err: unknown) => log.warn(`watchdog: ${String(err)}`));
  }, options.watchdogMs ?? 15_000);
  watchdog.unref();
  return {
    app,
    runtime,
    metricsUrl: metricsServer.url,
    async stop() {
      clearInterval(watchdog);
      await metricsServer.close();
      await runtime.stop();
      await app.close();
    },
  };
}
