// schedules: editing, sync from meltano.yml, the spread rule, cron maths and BullMQ timers (scheduler, worker side).
import { Module } from '@nestjs/common';
import { DeploymentsCoreModule } from '../deployments/deployments.module.js';
import { SchedulesController } from './schedules.controller.js';
import { SchedulesRepository } from './schedules.repository.js';
import { SchedulesService } from './schedules.service.js';

/** Schedules: providers only (services, repositories, events), for the API and the worker alike. */
@Module({
  imports: [DeploymentsCoreModule],
  providers: [SchedulesService, SchedulesRepository],
  exports: [SchedulesService, SchedulesRepository],
})
export class SchedulesCoreModule {}

/** Schedules over HTTP. */
@Module({
  imports: [SchedulesCoreModule],
  controllers: [SchedulesController],
  exports: [SchedulesCoreModule],
})
export class SchedulesModule {}
