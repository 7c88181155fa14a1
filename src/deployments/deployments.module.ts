import { Module } from '@nestjs/common';
import { ProjectsModule } from '../projects/projects.module.js';
import { DeploymentEvents } from './deployment-events.js';
import { DeploymentsController } from './deployments.controller.js';
import { DeploymentsRepository } from './deployments.repository.js';
import { DeploymentsService } from './deployments.service.js';

/** Deployments; what must follow their changes subscribes to DeploymentEvents (DeploysModule). */
@Module({
  imports: [ProjectsModule],
  controllers: [DeploymentsController],
  providers: [DeploymentsService, DeploymentsRepository, DeploymentEvents],
  exports: [DeploymentsService, DeploymentsRepository, DeploymentEvents],
})
export class DeploymentsModule {}
