import 'reflect-metadata';
import { pathToFileURL } from 'node:url';
import { Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigError, loadConfig, type AppConfig } from '../src/config/app-config.js';
import { ConfigModule } from '../src/config/config.module.js';
import { DatabaseModule } from '../src/database/database.module.js';
import { createRootLogger, PinoNestLogger } from '../src/common/logger.js';
import { EncryptionModule } from '../src/secrets/encryption.module.js';
import { DataKeyService, type RotationResult } from '../src/secrets/data-keys.js';

/**
 * Master key rotation: re-wraps every organization's data key under the
 * current master key. Secret values are not re-encrypted (they stay under the
 * same data keys), so nobody re-enters a secret.
 *
 * 1. Generate a key: `openssl rand -base64 32`.
 * 2. Configure MASTER_KEY=<new>, MASTER_KEY_ID=<new id> and add the old key to
 *    PREVIOUS_MASTER_KEYS=<old id>:<old key> on every process, and restart them
 *    (both keys now unwrap; new data keys use the new one).
 * 3. `npm run secrets:rotate-master-key` (safe to repeat).
 * 4. When it reports no failures, drop the old key from PREVIOUS_MASTER_KEYS.
 */
@Module({})
class RotationModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: RotationModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule, EncryptionModule],
    };
  }
}

export async function rotateMasterKey(config: AppConfig): Promise<RotationResult> {
  const app = await NestFactory.createApplicationContext(RotationModule.forRoot(config), {
    logger: new PinoNestLogger(createRootLogger(config.logLevel)),
    abortOnError: false,
  });
  try {
    return await app.get(DataKeyService).rotateMasterKey();
  } finally {
    await app.close();
  }
}

async function main(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(err.message + '\n');
      process.exit(78);
    }
    throw err;
  }
  const result = await rotateMasterKey(config);
  process.stdout.write(
    JSON.stringify({ master_key_id: config.encryption.masterKeyId, ...result }, null, 2) + '\n',
  );
  if (result.failed.length) {
    process.stderr.write(
      `${result.failed.length} data key(s) were not re-wrapped; keep PREVIOUS_MASTER_KEYS and run again.\n`,
    );
    process.exit(1);
  }
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`rotation failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
