import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { DeploymentsModule } from '../deployments/deployments.module.js';
import { ProjectsModule } from '../projects/projects.module.js';
import { SecretsModule } from '../secrets/secrets.module.js';
import { EXECUTOR, createExecutor } from './executors/executor.provider.js';
import { MeltanoStateService } from './meltano-state.service.js';
import { RunEvents } from './run-events.js';
import { RunExecutor } from './run-executor.service.js';
import { RunSignals } from './run-signals.js';
import { RunsController } from './runs.controller.js';
import { RunsService } from './runs.service.js';
import { SchedulerService } from './scheduler.service.js';
import { StateController } from './state.controller.js';

const shared = [RunsService, RunSignals, RunEvents, MeltanoStateService];

/** Runs as the API sees them: create, history, cancel, logs, state. */
@Module({
  imports: [DeploymentsModule, ProjectsModule],
  controllers: [RunsController, StateController],
  providers: shared,
  exports: shared,
})
export class RunsModule {}

/** Runs as the worker sees them: scheduling, admission and execution. */
@Module({
  imports: [DeploymentsModule, ProjectsModule, SecretsModule],
  providers: [
    ...shared,
    SchedulerService,
    RunExecutor,
    { provide: EXECUTOR, inject: [AppConfig], useFactory: createExecutor },
  ],
  exports: [...shared, SchedulerService, RunExecutor],
})
export class RunsWorkerModule {}
