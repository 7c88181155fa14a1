import { Injectable } from '@nestjs/common';
import { JobHandlerRegistry } from '../../src/queue/job-handlers.js';
import { MaintenanceService } from '../../src/maintenance/maintenance.service.js';
import { RunSweep } from '../../src/runs/run-sweep.js';
import { SchedulerService } from '../../src/schedules/scheduler.service.js';

@Injectable()
export class MaintenanceHandlers {
  constructor(
    registry: JobHandlerRegistry,
    maintenance: MaintenanceService,
    runs: RunSweep,
    scheduler: SchedulerService,
  ) {
    registry.register('maintenance.sweep', async () => {
      await maintenance.sweep();
      // Nothing is stuck: runs of vanished workers are taken over, lost queue jobs re-queued, missed ticks recorded.
      await runs.sweep();
      await scheduler.catchUpMissed();
    });
  }
}
