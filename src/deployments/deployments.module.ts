// deployments: a project's Meltano environment + branch, its settings and limits; emits "deployment changed" events.
import { Module } from '@nestjs/common';
import { ProjectsCoreModule } from '../projects/projects.module.js';
import { DeclaredEnvironments } from './declared-environments.js';
import { DeploymentEvents } from './deployment-events.js';
import { DeploymentsController } from './deployments.controller.js';
import { DeploymentsRepository } from './deployments.repository.js';
import { DeploymentsService } from './deployments.service.js';

/** Deployments: providers only (services, repositories, events), for the API and the worker alike. */
@Module({
  imports: [ProjectsCoreModule],
  providers: [DeploymentsService, DeploymentsRepository, DeploymentEvents, DeclaredEnvironments],
  exports: [DeploymentsService, DeploymentsRepository, DeploymentEvents],
})
export class DeploymentsCoreModule {}

/** Deployments; what must follow their changes subscribes to DeploymentEvents (DeploysModule). */
@Module({
  imports: [DeploymentsCoreModule],
  controllers: [DeploymentsController],
  exports: [DeploymentsCoreModule],
})
export class DeploymentsModule {}
