import { Module, type DynamicModule } from '@nestjs/common';
import { AppConfig } from '../src/config/app-config.js';
import { coreModules } from '../src/app.module.js';
import { JobHandlerRegistry } from '../src/queue/job-handlers.js';
import { MaintenanceModule } from '../src/maintenance/maintenance.module.js';
import { WorkerRuntime } from './worker-runtime.js';
import { MaintenanceHandlers } from './handlers/maintenance.handler.js';

/** The queue worker: the same domain modules as the API, no HTTP. */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [...(coreModules(config) ?? []), MaintenanceModule],
      providers: [JobHandlerRegistry, WorkerRuntime, MaintenanceHandlers],
      exports: [WorkerRuntime, JobHandlerRegistry],
    };
  }
}
