// secrets: envelope-encrypted secrets per project/deployment, log masking, the key wrapper.
import { Module } from '@nestjs/common';
import { DeploymentsCoreModule } from '../deployments/deployments.module.js';
import { ProjectsCoreModule } from '../projects/projects.module.js';
import { UsersModule } from '../auth/users.module.js';
import { EncryptionModule } from './encryption.module.js';
import { SecretsRepository } from './secrets.repository.js';
import { DeploymentSecretsController, ProjectSecretsController } from './secrets.controller.js';
import { SecretsService } from './secrets.service.js';

/** Secrets: providers only (services, repositories, events), for the API and the worker alike. */
@Module({
  imports: [EncryptionModule, ProjectsCoreModule, DeploymentsCoreModule, UsersModule],
  providers: [SecretsService, SecretsRepository],
  exports: [SecretsService, EncryptionModule],
})
export class SecretsCoreModule {}

/** Secrets API and `SecretsService.forRun` for the worker. */
@Module({
  imports: [SecretsCoreModule],
  controllers: [ProjectSecretsController, DeploymentSecretsController],
  exports: [SecretsCoreModule],
})
export class SecretsModule {}
