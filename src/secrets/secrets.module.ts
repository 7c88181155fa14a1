import { Module } from '@nestjs/common';
import { DeploymentsModule } from '../deployments/deployments.module.js';
import { ProjectsModule } from '../projects/projects.module.js';
import { UsersModule } from '../auth/users.module.js';
import { EncryptionModule } from './encryption.module.js';
import { SecretsRepository } from './secrets.repository.js';
import { DeploymentSecretsController, ProjectSecretsController } from './secrets.controller.js';
import { SecretsService } from './secrets.service.js';

/** Secrets API and `SecretsService.forRun` for the worker. */
@Module({
  imports: [EncryptionModule, ProjectsModule, DeploymentsModule, UsersModule],
  controllers: [ProjectSecretsController, DeploymentSecretsController],
  providers: [SecretsService, SecretsRepository],
  exports: [SecretsService, EncryptionModule],
})
export class SecretsModule {}
