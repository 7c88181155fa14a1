import { Module, type Provider } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { CloneSourceProvider, OpenCloneSourceProvider } from '../projects/clone-source.js';
import { OpenRepositoryPolicy, RepositoryPolicy } from '../projects/repository-policy.js';
import { GithubAppService } from './github-app.service.js';
import { GithubCloneSourceProvider } from './github-clone-source.js';
import { GithubGrantsService } from './github-grants.service.js';
import { GithubRepositoryPolicy } from './github-repository-policy.js';

/**
 * The GitHub App client and the grants it keeps, with no controllers: used by
 * ProjectsModule (API and worker) and by GithubModule (API).
 */
@Module({
  providers: [GithubAppService, GithubGrantsService],
  exports: [GithubAppService, GithubGrantsService],
})
export class GithubCoreModule {}

/** With the GitHub App configured, only granted repositories; otherwise any repository git can clone. */
export const repositoryPolicyProvider: Provider = {
  provide: RepositoryPolicy,
  inject: [AppConfig, GithubGrantsService],
  useFactory: (config: AppConfig, grants: GithubGrantsService): RepositoryPolicy =>
    config.github.app ? new GithubRepositoryPolicy(grants) : new OpenRepositoryPolicy(),
};

/** With the GitHub App configured, clones use a token minted for the one repository. */
export const cloneSourceProvider: Provider = {
  provide: CloneSourceProvider,
  inject: [AppConfig, GithubAppService, GithubGrantsService],
  useFactory: (
    config: AppConfig,
    app: GithubAppService,
    grants: GithubGrantsService,
  ): CloneSourceProvider =>
    config.github.app
      ? new GithubCloneSourceProvider(config, app, grants)
      : new OpenCloneSourceProvider(config),
};
