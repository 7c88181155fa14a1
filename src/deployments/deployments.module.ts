import { Module } from '@nestjs/common';
import { ProjectsModule } from '../projects/projects.module.js';
import { DeploymentLifecycle } from './deployment-lifecycle.js';
import { DeploymentsController } from './deployments.controller.js';
import { DeploymentsRepository } from './deployments.repository.js';
import { DeploymentsService } from './deployments.service.js';

@Module({
  imports: [ProjectsModule],
  controllers: [DeploymentsController],
  providers: [DeploymentsService, DeploymentsRepository, DeploymentLifecycle],
  exports: [DeploymentsService, DeploymentsRepository, DeploymentLifecycle],
})
export class DeploymentsModule {}
