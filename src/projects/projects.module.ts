import { Module } from '@nestjs/common';
import { ProjectsController } from './projects.controller.js';
import { ProjectsRepository } from './projects.repository.js';
import { ProjectsService } from './projects.service.js';
import { RepositoryPolicy } from './repository-policy.js';
import { CloneSourceProvider } from './clone-source.js';
import {
  GithubCoreModule,
  cloneSourceProvider,
  repositoryPolicyProvider,
} from '../github/github-core.module.js';

@Module({
  imports: [GithubCoreModule],
  controllers: [ProjectsController],
  providers: [
    ProjectsService,
    ProjectsRepository,
    // The GitHub App's versions when it is configured (GITHUB_APP_ID), the open ones otherwise.
    repositoryPolicyProvider,
    cloneSourceProvider,
  ],
  exports: [ProjectsService, ProjectsRepository, RepositoryPolicy, CloneSourceProvider],
})
export class ProjectsModule {}
