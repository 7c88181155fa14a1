import { Module } from '@nestjs/common';
import { ProjectsController } from './projects.controller.js';
import { ProjectsRepository } from './projects.repository.js';
import { ProjectsService } from './projects.service.js';
import { OpenRepositoryPolicy, RepositoryPolicy } from './repository-policy.js';

@Module({
  controllers: [ProjectsController],
  providers: [
    ProjectsService,
    ProjectsRepository,
    { provide: RepositoryPolicy, useClass: OpenRepositoryPolicy },
  ],
  exports: [ProjectsService, ProjectsRepository, RepositoryPolicy],
})
export class ProjectsModule {}
