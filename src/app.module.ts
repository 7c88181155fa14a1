import { Module, type DynamicModule } from '@nestjs/common';
import { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { QueueModule } from './queue/queue.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { HealthModule } from './health/health.module.js';

/** Modules shared by every entry point (API, worker, admin commands). */
export function coreModules(config: AppConfig): DynamicModule['imports'] {
  return [ConfigModule.forRoot(config), DatabaseModule, QueueModule];
}

/** The HTTP API. */
@Module({})
export class ApiModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [...(coreModules(config) ?? []), MetricsModule, HealthModule],
    };
  }
}
