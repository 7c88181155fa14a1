import { Module, type DynamicModule } from '@nestjs/common';
import { AppConfig } from './config/app-config.js';
import { ConfigModule } from './config/config.module.js';
import { DatabaseModule } from './database/database.module.js';
import { QueueModule } from './queue/queue.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { HealthModule } from './health/health.module.js';
import { AuditModule } from './audit/audit.module.js';
import { AuthModule } from './auth/auth.module.js';
import { OrganizationsModule } from './organizations/organizations.module.js';
import { ProjectsModule } from './projects/projects.module.js';
import { DeploymentsModule } from './deployments/deployments.module.js';
import { DeploysModule } from './deploys/deploys.module.js';
import { SchedulesModule } from './schedules/schedules.module.js';
import { GithubModule } from './github/github.module.js';
import { SecretsModule } from './secrets/secrets.module.js';
import { NotificationsModule } from './notifications/notifications.module.js';
import { RunsModule } from './runs/runs.module.js';
import { WebModule } from './web/web.module.js';
import { BillingCoreModule, BillingModule } from './billing/billing.module.js';

/** Modules shared by every entry point (API, worker, admin commands). */
export function coreModules(config: AppConfig): DynamicModule['imports'] {
  return [
    ConfigModule.forRoot(config),
    DatabaseModule,
    QueueModule,
    AuditModule,
    BillingCoreModule,
  ];
}

/** The HTTP API. */
@Module({})
export class ApiModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        ...(coreModules(config) ?? []),
        MetricsModule,
        HealthModule,
        AuthModule,
        OrganizationsModule,
        ProjectsModule,
        DeploymentsModule,
        DeploysModule,
        SchedulesModule,
        RunsModule,
        GithubModule,
        SecretsModule,
        NotificationsModule,
        BillingModule,
        WebModule,
      ],
    };
  }
}
