import { Inject, Injectable } from '@nestjs/common';
import { SystemRepository } from '../database/system.repository.js';
import type { Executor } from './executors/executor.js';
import { EXECUTOR } from './executors/executor.provider.js';
import { RunQueue } from './run-queue.js';
import { WorkerHeartbeat } from './worker-heartbeat.js';

/** A queued run older than this whose job may have been lost. */
const STALE_AFTER_MS = 60_000;
const STALE_BATCH = 500;

/**
 * Nothing is stuck: runs whose worker vanished are taken over, queued runs
 * whose queue job was lost (a Redis wipe) are queued again, executor
 * leftovers of runs that ended are removed. Spans tenants by design; safe
 * to run on every worker.
 */
@Injectable()
export class RunSweep {
  constructor(
    private readonly system: SystemRepository,
    private readonly heartbeat: WorkerHeartbeat,
    private readonly queue: RunQueue,
    @Inject(EXECUTOR) private readonly executor: Executor,
  ) {}

  /**
   * `queuedBefore`: queued runs older than this are queued again (a no-op for those whose job
   * lives). After a Redis wipe every job is gone: the watchdog passes the moment it noticed.
   */
  async sweep(
    queuedBefore = new Date(Date.now() - STALE_AFTER_MS),
  ): Promise<{ orphaned: number; requeued: number }> {
    let orphaned = 0;
    for (const run of await this.system.inFlightRunsAcrossTenants()) {
      if (run.workerId && (await this.heartbeat.isAlive(run.workerId))) continue;
      orphaned++;
      // Taken over through the queue (bounded by worker concurrency), not inline: following a run takes as long as the run.
      await this.queue.enqueue(run.organizationId, run.id);
    }
    const stale = await this.system.staleQueuedRunsAcrossTenants(queuedBefore, STALE_BATCH);
    for (const run of stale) {
      // A no-op while the run's job lives (waiting, delayed or active): only lost jobs come back.
      await this.queue.enqueue(run.organizationId, run.id);
    }
    return { orphaned, requeued: stale.length };
  }

  /** Removes executor leftovers (Jobs, directories) of runs that already ended. */
  async cleanupLeftovers(): Promise<void> {
    await this.executor.cleanup((runId) => this.system.isRunUnfinishedAcrossTenants(runId));
  }
}
