import { Injectable } from '@nestjs/common';
import type { OrgId } from '../database/org-id.js';
import { QueueService } from '../queue/queue.service.js';

/**
 * The one way a run reaches the worker: its `run.execute` job. The job
 * catalog gives each run one job id, so enqueueing a run whose job still
 * lives (waiting, delayed or active) is a no-op: the API, the scheduler and
 * the sweep can all enqueue without doubling a run.
 */
@Injectable()
export class RunQueue {
  constructor(private readonly queues: QueueService) {}

  /** Queues the run's job, to start no earlier than `delayMs` from now. */
  async enqueue(orgId: OrgId, runId: string, delayMs = 0): Promise<void> {
    await this.queues.enqueue('run.execute', { organizationId: orgId, runId }, { delayMs });
  }

  /** Queues many runs' jobs with one bulk add (a run whose job still lives is left as it is). */
  async enqueueMany(
    runs: readonly { orgId: OrgId; runId: string; delayMs: number }[],
  ): Promise<void> {
    await this.queues.enqueueBulk(
      'run.execute',
      runs.map((r) => ({
        payload: { organizationId: r.orgId, runId: r.runId },
        delayMs: r.delayMs,
      })),
    );
  }

  /** The run's job, delayed while it waits for a slot, runs now (or is queued if lost). */
  async wake(orgId: OrgId, runId: string): Promise<void> {
    await this.queues.wake('run.execute', { organizationId: orgId, runId });
  }
}
