import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { DeploymentsModule } from '../deployments/deployments.module.js';
import { ProjectsModule } from '../projects/projects.module.js';
import { KeyWrapper, LocalMasterKeyWrapper } from './crypto.js';
import { DataKeyService } from './data-keys.js';
import { DeploymentSecretsController, ProjectSecretsController } from './secrets.controller.js';
import { SecretsService } from './secrets.service.js';

/** The master key wrapper (from configuration) and the organizations' data keys. */
@Module({
  providers: [
    {
      provide: KeyWrapper,
      inject: [AppConfig],
      useFactory: (config: AppConfig): KeyWrapper =>
        new LocalMasterKeyWrapper(
          { id: config.encryption.masterKeyId, key: config.encryption.masterKey },
          config.encryption.previousMasterKeys,
        ),
    },
    DataKeyService,
  ],
  exports: [KeyWrapper, DataKeyService],
})
export class EncryptionModule {}

/** Secrets API and `SecretsService.forRun` for the worker. */
@Module({
  imports: [EncryptionModule, ProjectsModule, DeploymentsModule],
  controllers: [ProjectSecretsController, DeploymentSecretsController],
  providers: [SecretsService],
  exports: [SecretsService, EncryptionModule],
})
export class SecretsModule {}
