import { Module } from '@nestjs/common';
import { ProjectsModule } from '../projects/projects.module.js';
import { DeploymentLifecycle } from './deployment-lifecycle.js';
import { DeploymentsController } from './deployments.controller.js';
import { DeploymentsRepository } from './deployments.repository.js';
import { DeploymentsService } from './deployments.service.js';
import { DeploysModule } from '../deploys/deploys.module.js';
import { DeploysController } from '../deploys/deploys.controller.js';

@Module({
  imports: [ProjectsModule, DeploysModule],
  controllers: [DeploymentsController, DeploysController],
  providers: [DeploymentsService, DeploymentsRepository, DeploymentLifecycle],
  exports: [DeploymentsService, DeploymentsRepository, DeploymentLifecycle],
})
export class DeploymentsModule {}
