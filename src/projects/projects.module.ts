import { Module } from '@nestjs/common';
import { ProjectsController } from './projects.controller.js';
import { ProjectsRepository } from './projects.repository.js';
import { ProjectsService } from './projects.service.js';
import { OpenRepositoryPolicy, RepositoryPolicy } from './repository-policy.js';
import { CloneSourceProvider, OpenCloneSourceProvider } from './clone-source.js';

@Module({
  controllers: [ProjectsController],
  providers: [
    ProjectsService,
    ProjectsRepository,
    { provide: RepositoryPolicy, useClass: OpenRepositoryPolicy },
    { provide: CloneSourceProvider, useClass: OpenCloneSourceProvider },
  ],
  exports: [ProjectsService, ProjectsRepository, RepositoryPolicy, CloneSourceProvider],
})
export class ProjectsModule {}
