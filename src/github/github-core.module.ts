// github: the GitHub App (install flow, repository grants, webhooks, per-clone installation tokens).
import { Module, type Provider } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { CloneSourceProvider, OpenCloneSourceProvider } from '../projects/clone-source.js';
import { OpenRepositoryPolicy, RepositoryPolicy } from '../projects/repository-policy.js';
import { GithubAppService } from './github-app.service.js';
import { GithubCloneSourceProvider } from './github-clone-source.js';
import { GithubGrantsService } from './github-grants.service.js';
import { GithubRepositoryPolicy } from './github-repository-policy.js';
import { GithubAppRepository } from './github.repository.js';

/**
 * The GitHub App client and the grants it keeps, with no controllers: used by
 * ProjectsModule (API and worker) and by GithubModule (API).
 */
@Module({
  providers: [GithubAppService, GithubGrantsService, GithubAppRepository],
  exports: [GithubAppService, GithubGrantsService, GithubAppRepository],
})
export class GithubCoreModule {}

/** With the GitHub App configured, only granted repositories; otherwise any repository git can clone. */
export const repositoryPolicyProvider: Provider = {
  provide: RepositoryPolicy,
  inject: [AppConfig, GithubAppRepository],
  useFactory: (config: AppConfig, github: GithubAppRepository): RepositoryPolicy =>
    config.github.app ? new GithubRepositoryPolicy(github) : new OpenRepositoryPolicy(),
};

/** With the GitHub App configured, clones use a token minted for the one repository. */
export const cloneSourceProvider: Provider = {
  provide: CloneSourceProvider,
  inject: [AppConfig, GithubAppService, GithubAppRepository],
  useFactory: (
    config: AppConfig,
    app: GithubAppService,
    github: GithubAppRepository,
  ): CloneSourceProvider =>
    config.github.app
      ? new GithubCloneSourceProvider(config, app, github)
      : new OpenCloneSourceProvider(config),
};
