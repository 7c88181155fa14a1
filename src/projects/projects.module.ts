// projects: a repository + the folder holding meltano.yml; repository policy and clone sources.
import { Module } from '@nestjs/common';
import { ProjectsController } from './projects.controller.js';
import { ProjectsRepository } from './projects.repository.js';
import { ProjectsService } from './projects.service.js';
import { RepositoryPolicy } from './repository-policy.js';
import { CloneSourceProvider } from './clone-source.js';
import { RepositoryCheckouts } from './repository-checkout.js';
import {
  GithubCoreModule,
  cloneSourceProvider,
  repositoryPolicyProvider,
} from '../github/github-core.module.js';

/** Projects: providers only (services, repositories, events), for the API and the worker alike. */
@Module({
  imports: [GithubCoreModule],
  providers: [
    ProjectsService,
    ProjectsRepository,
    // The GitHub App's versions when it is configured (GITHUB_APP_ID), the open ones otherwise.
    repositoryPolicyProvider,
    cloneSourceProvider,
    RepositoryCheckouts,
  ],
  exports: [
    ProjectsService,
    ProjectsRepository,
    RepositoryPolicy,
    CloneSourceProvider,
    RepositoryCheckouts,
  ],
})
export class ProjectsCoreModule {}

/** Projects over HTTP. */
@Module({
  imports: [ProjectsCoreModule],
  controllers: [ProjectsController],
  exports: [ProjectsCoreModule],
})
export class ProjectsModule {}
