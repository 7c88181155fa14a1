import { Injectable } from '@nestjs/common';
import { DelayedError } from 'bullmq';
import { JobHandlerRegistry } from '../../src/queue/job-handlers.js';
import { RunExecutor } from '../../src/runs/run-executor.service.js';
import { SchedulerService, tickTimeOf } from '../../src/runs/scheduler.service.js';

@Injectable()
export class RunHandlers {
  constructor(registry: JobHandlerRegistry, executor: RunExecutor, scheduler: SchedulerService) {
    registry.register('run.execute', async (payload, job, token) => {
      const retryInMs = await executor.execute(payload.organizationId, payload.runId);
      if (retryInMs === null) return;
      // Waiting for a concurrency slot: the same job waits (one job id per run); a freed slot promotes it.
      await job.moveToDelayed(Date.now() + retryInMs, token);
      throw new DelayedError();
    });
    registry.register('schedule.tick', (payload, job) =>
      scheduler.tick(payload.organizationId, payload.scheduleId, tickTimeOf(job.id, job.timestamp)),
    );
    registry.register('schedules.reconcile', async (payload) => {
      await scheduler.reconcile(payload.deploymentId);
    });
  }
}
