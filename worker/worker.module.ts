import { Module, type DynamicModule } from '@nestjs/common';
import { AppConfig } from '../src/config/app-config.js';
import { coreModules } from '../src/app.module.js';
import { JobHandlerRegistry } from '../src/queue/job-handlers.js';
import { MaintenanceModule } from '../src/maintenance/maintenance.module.js';
import { WorkerRuntime } from './worker-runtime.js';
import { MaintenanceHandlers } from './handlers/maintenance.handler.js';
import { DeployHandlers } from './handlers/deploy.handler.js';
import { RunHandlers } from './handlers/run.handler.js';
import { RunsWorkerModule } from '../src/runs/runs.module.js';
import { SchedulesWorkerModule } from '../src/schedules/schedules-worker.module.js';
import { ScheduleHandlers } from './handlers/schedule.handler.js';
import { ProjectsCoreModule } from '../src/projects/projects.module.js';
import { DeploysCoreModule } from '../src/deploys/deploys.module.js';
import { NotificationsCoreModule } from '../src/notifications/notifications.module.js';
import { NotificationHandlers } from './handlers/notification.handler.js';
import { BillingHandlers } from './handlers/billing.handler.js';
import { WorkerMetricsModule } from '../src/metrics/worker-metrics.js';

/** The queue worker: the same domain modules as the API, no HTTP. */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ...(coreModules(config) ?? []),
        MaintenanceModule,
        ProjectsCoreModule,
        DeploysCoreModule,
        RunsWorkerModule,
        SchedulesWorkerModule,
        NotificationsCoreModule,
        WorkerMetricsModule,
      ],
      providers: [
        JobHandlerRegistry,
        WorkerRuntime,
        MaintenanceHandlers,
        DeployHandlers,
        RunHandlers,
        ScheduleHandlers,
        NotificationHandlers,
        BillingHandlers,
      ],
      exports: [WorkerRuntime, JobHandlerRegistry],
    };
  }
}
