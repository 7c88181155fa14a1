import { Module } from '@nestjs/common';
import { DeploymentsModule } from '../deployments/deployments.module.js';
import { ProjectsModule } from '../projects/projects.module.js';
import { SchedulesModule } from '../schedules/schedules.module.js';
import { DeployEvents } from './deploy-events.js';
import { DeployRunner } from './deploy-runner.js';
import { DeploymentSubscriber } from './deployment-subscriber.js';
import { DeploysController } from './deploys.controller.js';
import { DeploysRepository } from './deploys.repository.js';
import { DeploysService } from './deploys.service.js';

/**
 * Deploys: the API's requests and history, the worker's DeployRunner, and
 * their events. Follows deployment changes through DeploymentEvents.
 */
@Module({
  imports: [DeploymentsModule, ProjectsModule, SchedulesModule],
  controllers: [DeploysController],
  providers: [DeploysService, DeploysRepository, DeployEvents, DeployRunner, DeploymentSubscriber],
  exports: [DeploysService, DeployEvents, DeployRunner],
})
export class DeploysModule {}
