import { Module } from '@nestjs/common';
import { RunsCoreModule } from '../runs/runs.module.js';
import { SchedulerService } from './scheduler.service.js';

/** The worker's scheduler (timers reconcile, ticks, catch-up of missed ticks); providers only. */
@Module({
  imports: [RunsCoreModule],
  providers: [SchedulerService],
  exports: [SchedulerService],
})
export class SchedulesWorkerModule {}
