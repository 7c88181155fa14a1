import { Module } from '@nestjs/common';
import { DeploysCoreModule } from '../deploys/deploys.module.js';
import { GithubCoreModule } from './github-core.module.js';
import { GithubInstallationsService } from './github-installations.service.js';
import { GithubWebhooksController } from './github-webhooks.controller.js';
import { GithubWebhooksService } from './github-webhooks.service.js';
import { GithubController } from './github.controller.js';

/** The API side of the GitHub App: install flow, linked installations, webhooks. */
@Module({
  imports: [GithubCoreModule, DeploysCoreModule],
  controllers: [GithubController, GithubWebhooksController],
  providers: [GithubInstallationsService, GithubWebhooksService],
})
export class GithubModule {}
