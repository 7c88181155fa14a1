import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { KeyWrapper, LocalMasterKeyWrapper } from './crypto.js';
import { DataKeyService } from './data-keys.js';
import { DataKeysRepository } from './data-keys.repository.js';

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
    DataKeysRepository,
    DataKeyService,
  ],
  exports: [KeyWrapper, DataKeyService],
})
export class EncryptionModule {}
