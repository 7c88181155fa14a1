import { Injectable } from '@nestjs/common';
import { orgIdFromJob } from '../../src/database/org-id.js';
import { JobHandlerRegistry } from '../../src/queue/job-handlers.js';
import { SchedulerService, tickTimeOf } from '../../src/schedules/scheduler.service.js';

/** `schedule.tick` (a schedule's timer fired) and `schedules.reconcile` (make Redis's timers match). */
@Injectable()
export class ScheduleHandlers {
  constructor(registry: JobHandlerRegistry, scheduler: SchedulerService) {
    registry.register('schedule.tick', (payload, job) =>
      scheduler.tick(orgIdFromJob(payload), payload.scheduleId, tickTimeOf(job.id, job.timestamp)),
    );
    registry.register('schedules.reconcile', async (payload) => {
      await scheduler.reconcile(payload.deploymentId);
    });
  }
}
