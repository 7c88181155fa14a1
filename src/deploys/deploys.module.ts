// deploys: clone a deployment's branch head, read meltano.yml, sync its schedules; deploy history and requests.
import { Module } from '@nestjs/common';
import { DeploymentsCoreModule } from '../deployments/deployments.module.js';
import { ProjectsCoreModule } from '../projects/projects.module.js';
import { SchedulesCoreModule } from '../schedules/schedules.module.js';
import { DeployEvents } from './deploy-events.js';
import { DeployRunner } from './deploy-runner.js';
import { DeploymentSubscriber } from './deployment-subscriber.js';
import { DeploysController } from './deploys.controller.js';
import { DeploysRepository } from './deploys.repository.js';
import { DeploysService } from './deploys.service.js';

/** Deploys: providers only (services, repositories, events), for the API and the worker alike. */
@Module({
  imports: [DeploymentsCoreModule, ProjectsCoreModule, SchedulesCoreModule],
  providers: [DeploysService, DeploysRepository, DeployEvents, DeployRunner, DeploymentSubscriber],
  exports: [DeploysService, DeployEvents, DeployRunner],
})
export class DeploysCoreModule {}

/**
 * Deploys: the API's requests and history, the worker's DeployRunner, and
 * their events. Follows deployment changes through DeploymentEvents.
 */
@Module({
  imports: [DeploysCoreModule],
  controllers: [DeploysController],
  exports: [DeploysCoreModule],
})
export class DeploysModule {}
