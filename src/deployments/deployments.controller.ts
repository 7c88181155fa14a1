import { Controller, Delete, Get, HttpCode, Patch, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Origin, type RequestOrigin } from '../auth/actor.js';
import { decodeCursor, toPage } from '../common/pagination.js';
import { refParam } from '../common/slug.js';
import { ZodBody, ZodParam, ZodQuery, ZodResponse, paginated } from '../common/zod.js';
import type { Deployment } from '../generated/prisma/client.js';
import { CurrentOrg, RequirePermission, type OrgScope } from '../organizations/org-access.js';
import { ProjectsService } from '../projects/projects.service.js';
import { DeploymentsRepository } from './deployments.repository.js';
import { DeploymentsService } from './deployments.service.js';
import {
  createDeploymentBody,
  deploymentOut,
  listDeploymentsQuery,
  updateDeploymentBody,
} from './deployments.schemas.js';

export const presentDeployment = (d: Deployment) => ({
  id: d.id,
  project_id: d.projectId,
  name: d.name,
  slug: d.slug,
  environment: d.environment,
  branch: d.branch,
  status: d.status,
  status_message: d.statusMessage,
  deployed_commit_sha: d.deployedCommitSha,
  deployed_at: d.deployedAt?.toISOString() ?? null,
  run_timeout_seconds: d.runTimeoutSeconds,
  max_concurrent_runs: d.maxConcurrentRuns,
  concurrency_policy: d.concurrencyPolicy,
  missed_run_policy: d.missedRunPolicy,
  spread_schedules: d.spreadSchedules,
  created_at: d.createdAt.toISOString(),
  updated_at: d.updatedAt.toISOString(),
});

const settingsOf = (b: z.infer<typeof updateDeploymentBody>) => ({
  runTimeoutSeconds: b.run_timeout_seconds,
  maxConcurrentRuns: b.max_concurrent_runs,
  concurrencyPolicy: b.concurrency_policy,
  missedRunPolicy: b.missed_run_policy,
  spreadSchedules: b.spread_schedules,
});

@ApiTags('deployments')
@Controller('orgs/:org/projects/:project/deployments')
export class DeploymentsController {
  constructor(
    private readonly service: DeploymentsService,
    private readonly deployments: DeploymentsRepository,
    private readonly projects: ProjectsService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Deployments of a project' })
  @ZodResponse(200, paginated(deploymentOut), 'A page of deployments')
  async list(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('project', refParam) projectRef: string,
    @CurrentOrg() scope: OrgScope,
    @ZodQuery(listDeploymentsQuery) query: z.infer<typeof listDeploymentsQuery>,
  ) {
    const project = await this.projects.get(scope.organization.id, projectRef);
    const rows = await this.deployments.list(
      scope.organization.id,
      project.id,
      query.page_size + 1,
      { namePrefix: query.name_prefix, status: query.status },
      decodeCursor(query.page_token),
    );
    return toPage(rows, query.page_size, (d) => ({ k: d.slug, id: d.id }), presentDeployment);
  }

  @Post()
  @RequirePermission('deployment:write')
  @ApiOperation({
    summary: 'Create a deployment: a Meltano environment and a git branch (admin); deploys it',
  })
  @ZodResponse(201, deploymentOut, 'Created')
  async create(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('project', refParam) projectRef: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
    @ZodBody(createDeploymentBody, { name: 'prod', environment: 'prod', branch: 'main' })
    body: z.infer<typeof createDeploymentBody>,
  ) {
    return presentDeployment(
      await this.service.create(scope, origin, projectRef, {
        name: body.name,
        environment: body.environment,
        branch: body.branch,
        ...settingsOf(body),
      }),
    );
  }

  @Get(':deployment')
  @ApiOperation({ summary: 'One deployment (id or slug)' })
  @ZodResponse(200, deploymentOut, 'The deployment')
  async get(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('project', refParam) projectRef: string,
    @ZodParam('deployment', refParam) ref: string,
    @CurrentOrg() scope: OrgScope,
  ) {
    return presentDeployment(
      (await this.service.get(scope.organization.id, projectRef, ref)).deployment,
    );
  }

  @Patch(':deployment')
  @RequirePermission('deployment:write')
  @ApiOperation({
    summary:
      'Change environment, branch or run settings (admin); a new environment or branch redeploys',
  })
  @ZodResponse(200, deploymentOut, 'Updated')
  async update(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('project', refParam) projectRef: string,
    @ZodParam('deployment', refParam) ref: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
    @ZodBody(updateDeploymentBody, { branch: 'release' })
    body: z.infer<typeof updateDeploymentBody>,
  ) {
    return presentDeployment(
      await this.service.update(scope, origin, projectRef, ref, {
        environment: body.environment,
        branch: body.branch,
        ...settingsOf(body),
      }),
    );
  }

  @Delete(':deployment')
  @HttpCode(204)
  @RequirePermission('deployment:write')
  @ApiOperation({
    summary: 'Delete a deployment: disables its schedules, cancels its queued runs (admin)',
  })
  async remove(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('project', refParam) projectRef: string,
    @ZodParam('deployment', refParam) ref: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
  ): Promise<void> {
    await this.service.delete(scope, origin, projectRef, ref);
  }
}
