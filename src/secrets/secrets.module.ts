import { Module } from '@nestjs/common';
import { DeploymentsModule } from '../deployments/deployments.module.js';
import { ProjectsModule } from '../projects/projects.module.js';
import { EncryptionModule } from './encryption.module.js';
import { DeploymentSecretsController, ProjectSecretsController } from './secrets.controller.js';
import { SecretsService } from './secrets.service.js';

/** Secrets API and `SecretsService.forRun` for the worker. */
@Module({
  imports: [EncryptionModule, ProjectsModule, DeploymentsModule],
  controllers: [ProjectSecretsController, DeploymentSecretsController],
  providers: [SecretsService],
  exports: [SecretsService, EncryptionModule],
})
export class SecretsModule {}
