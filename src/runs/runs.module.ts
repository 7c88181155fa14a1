// runs: the runs API and Meltano state (API side); admission, supervision, heartbeat, sweep (worker side); executors.
import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { UsersModule } from '../auth/users.module.js';
import { DeploymentsCoreModule } from '../deployments/deployments.module.js';
import { ProjectsCoreModule } from '../projects/projects.module.js';
import { ScheduleTimersRepository } from '../schedules/schedule-timers.repository.js';
import { SecretsCoreModule } from '../secrets/secrets.module.js';
import { EXECUTOR, createExecutor } from './executors/executor.provider.js';
import { MeltanoStateRepository } from './meltano-state.repository.js';
import { MeltanoStateService } from './meltano-state.service.js';
import { RunAdmission } from './run-admission.js';
import { RunEvents } from './run-events.js';
import { RunFactory } from './run-factory.js';
import { RunLogChannel } from './run-log-channel.js';
import { RunLogTail } from './run-log-tail.js';
import { RunLogsRepository } from './run-logs.repository.js';
import { RunPreparation } from './run-preparation.js';
import { RunQueue } from './run-queue.js';
import { RunSignals } from './run-signals.js';
import { RunStateController } from './run-state.controller.js';
import { RunStateCredentials } from './run-state-credentials.js';
import { RunSupervisor } from './run-supervisor.js';
import { RunSweep } from './run-sweep.js';
import { RunsController } from './runs.controller.js';
import { ScheduleHealthController } from './schedule-health.controller.js';
import { ScheduleHealthRepository } from './schedule-health.repository.js';
import { ScheduleHealthService } from './schedule-health.service.js';
import { RunsRepository } from './runs.repository.js';
import { RunsService } from './runs.service.js';
import { StateController } from './state.controller.js';
import { StateService } from './state.service.js';
import { WorkerHeartbeat } from './worker-heartbeat.js';

const core = [
  RunsRepository,
  RunLogsRepository,
  MeltanoStateRepository,
  ScheduleTimersRepository,
  RunFactory,
  RunQueue,
  RunEvents,
  RunSignals,
  RunStateCredentials,
  RunLogChannel,
];

/** What the API and the worker share: the runs' repositories, the run factory and queue, run events, cancel signals. */
@Module({ providers: core, exports: core })
export class RunsCoreModule {}

/** Runs as the API sees them: create, history, cancel, logs, state. */
@Module({
  imports: [RunsCoreModule, DeploymentsCoreModule, UsersModule],
  controllers: [RunsController, StateController, ScheduleHealthController, RunStateController],
  providers: [
    RunsService,
    StateService,
    ScheduleHealthService,
    ScheduleHealthRepository,
    RunLogTail,
  ],
  exports: [RunsService],
})
export class RunsModule {}

const workerSide = [
  WorkerHeartbeat,
  RunAdmission,
  RunPreparation,
  RunSupervisor,
  RunSweep,
  MeltanoStateService,
];

/** Runs as the worker sees them (providers only, no controllers): admission, supervision, heartbeat, sweep. */
@Module({
  imports: [RunsCoreModule, ProjectsCoreModule, SecretsCoreModule],
  providers: [
    ...workerSide,
    { provide: EXECUTOR, inject: [AppConfig], useFactory: createExecutor },
  ],
  exports: [RunsCoreModule, ...workerSide],
})
export class RunsWorkerModule {}
