import { Injectable } from '@nestjs/common';
import { JobHandlerRegistry } from '../../src/queue/job-handlers.js';
import { RunExecutor } from '../../src/runs/run-executor.service.js';
import { SchedulerService, tickTimeOf } from '../../src/runs/scheduler.service.js';

@Injectable()
export class RunHandlers {
  constructor(registry: JobHandlerRegistry, executor: RunExecutor, scheduler: SchedulerService) {
    registry.register('run.execute', (payload) =>
      executor.execute(payload.organizationId, payload.runId),
    );
    registry.register('schedule.tick', (payload, job) =>
      scheduler.tick(payload.organizationId, payload.scheduleId, tickTimeOf(job.id, job.timestamp)),
    );
    registry.register('schedules.reconcile', async (payload) => {
      await scheduler.reconcile(payload.deploymentId);
    });
  }
}
