import { Controller, Delete, Get, HttpCode, Patch, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Origin, type RequestOrigin } from '../auth/actor.js';
import { decodeCursor, toPage } from '../common/pagination.js';
import { refParam } from '../common/slug.js';
import { ProjectParams, type ProjectRefs } from '../common/route-params.js';
import { ZodBody, ZodParam, ZodQuery, ZodResponse, paginated } from '../common/zod.js';
import { CurrentOrg, RequirePermission, type OrgScope } from '../organizations/org-access.js';
import { presentProject } from './projects.presenter.js';
import { ProjectsService } from './projects.service.js';
import {
  createProjectBody,
  listProjectsQuery,
  projectOut,
  updateProjectBody,
} from './projects.schemas.js';
import { RepositoryPolicy } from './repository-policy.js';

const example = {
  id: '5f1c2e0a-8a53-4d0b-9f8e-2b1d7c9e4a10',
  name: 'Analytics',
  slug: 'analytics',
  repository: 'acme/analytics',
  root_path: 'data',
  repository_access: 'granted',
  created_at: '2026-11-21T09:00:00.000Z',
  updated_at: '2026-11-21T09:00:00.000Z',
};

@ApiTags('projects')
@Controller('orgs/:org')
export class ProjectsController {
  constructor(
    private readonly service: ProjectsService,
    private readonly repositories: RepositoryPolicy,
  ) {}

  @Get('repositories')
  @ApiOperation({
    summary:
      'Repositories the organization’s GitHub App installations grant (for creating projects)',
  })
  async availableRepositories(
    @ZodParam('org', refParam) _org: string,
    @CurrentOrg() scope: OrgScope,
  ) {
    return { results: await this.repositories.listAvailable(scope.orgId) };
  }

  @Get('projects')
  @ApiOperation({ summary: 'Projects, by slug' })
  @ZodResponse(200, paginated(projectOut), 'A page of projects', {
    results: [example],
    pagination: { next_page_token: null, page_size: 50 },
  })
  async list(
    @ZodParam('org', refParam) _org: string,
    @CurrentOrg() scope: OrgScope,
    @ZodQuery(listProjectsQuery) query: z.infer<typeof listProjectsQuery>,
  ) {
    const rows = await this.service.list(
      scope.orgId,
      query.page_size + 1,
      query.name_prefix,
      decodeCursor(query.page_token),
    );
    return toPage(rows, query.page_size, (p) => ({ k: p.slug, id: p.id }), presentProject);
  }

  @Post('projects')
  @RequirePermission('project:write')
  @ApiOperation({
    summary: 'Register a project: a repository and the folder holding meltano.yml (admin)',
  })
  @ZodResponse(201, projectOut, 'Created', example)
  async create(
    @ZodParam('org', refParam) _org: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
    @ZodBody(createProjectBody, {
      name: 'Analytics',
      repository: 'acme/analytics',
      root_path: 'data',
    })
    body: z.infer<typeof createProjectBody>,
  ) {
    return presentProject(
      await this.service.create(scope, origin, {
        name: body.name,
        repository: body.repository,
        rootPath: body.root_path,
      }),
    );
  }

  @Get('projects/:project')
  @ApiOperation({ summary: 'One project (id or slug)' })
  @ZodResponse(200, projectOut, 'The project', example)
  async get(@ProjectParams() { project }: ProjectRefs, @CurrentOrg() scope: OrgScope) {
    return presentProject(await this.service.get(scope.orgId, project));
  }

  @Patch('projects/:project')
  @RequirePermission('project:write')
  @ApiOperation({ summary: 'Rename a project or change its repository or root path (admin)' })
  @ZodResponse(200, projectOut, 'Updated', example)
  async update(
    @ProjectParams() { project }: ProjectRefs,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
    @ZodBody(updateProjectBody, { root_path: 'meltano' }) body: z.infer<typeof updateProjectBody>,
  ) {
    return presentProject(
      await this.service.update(scope, origin, project, {
        name: body.name,
        rootPath: body.root_path,
        repository: body.repository,
      }),
    );
  }

  @Delete('projects/:project')
  @HttpCode(204)
  @RequirePermission('project:write')
  @ApiOperation({
    summary: 'Delete a project with its deployments, schedules and run history (admin)',
  })
  async remove(
    @ProjectParams() { project }: ProjectRefs,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
  ): Promise<void> {
    await this.service.delete(scope, origin, project);
  }
}
