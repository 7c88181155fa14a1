import { Controller, Delete, Get, HttpCode, Patch, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Origin, type RequestOrigin } from '../auth/actor.js';
import { decodeCursor, toPage } from '../common/pagination.js';
import {
  DeploymentParams,
  type DeploymentRefs,
  ProjectParams,
  type ProjectRefs,
} from '../common/route-params.js';
import { ZodBody, ZodQuery, ZodResponse, paginated } from '../common/zod.js';
import { CurrentOrg, RequirePermission, type OrgScope } from '../organizations/org-access.js';
import { presentDeployment } from './deployments.presenter.js';
import { DeploymentsService } from './deployments.service.js';
import {
  createDeploymentBody,
  deploymentOut,
  listDeploymentsQuery,
  updateDeploymentBody,
} from './deployments.schemas.js';

const settingsOf = (b: z.infer<typeof updateDeploymentBody>) => ({
  runTimeoutSeconds: b.run_timeout_seconds,
  maxConcurrentRuns: b.max_concurrent_runs,
  concurrencyPolicy: b.concurrency_policy,
  missedRunPolicy: b.missed_run_policy,
  spreadSchedules: b.spread_schedules,
  pluginImage: b.plugin_image,
  retryInfraFailures: b.retry_infra_failures,
  runPod: b.run_pod,
});

@ApiTags('deployments')
@Controller('orgs/:org/projects/:project/deployments')
export class DeploymentsController {
  constructor(private readonly service: DeploymentsService) {}

  @Get()
  @ApiOperation({ summary: 'Deployments of a project' })
  @ZodResponse(200, paginated(deploymentOut), 'A page of deployments')
  async list(
    @ProjectParams() { project: projectRef }: ProjectRefs,
    @CurrentOrg() scope: OrgScope,
    @ZodQuery(listDeploymentsQuery) query: z.infer<typeof listDeploymentsQuery>,
  ) {
    const rows = await this.service.list(
      scope.orgId,
      projectRef,
      query.page_size + 1,
      { namePrefix: query.name_prefix, status: query.status },
      decodeCursor(query.page_token),
    );
    return toPage(rows, query.page_size, (d) => ({ k: d.slug, id: d.id }), presentDeployment);
  }

  @Post()
  @RequirePermission('deployment:write')
  @ApiOperation({
    summary:
      'Create a deployment: a Meltano environment (or none) and a git branch (admin); deploys it',
  })
  @ZodResponse(201, deploymentOut, 'Created')
  async create(
    @ProjectParams() { project: projectRef }: ProjectRefs,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
    @ZodBody(createDeploymentBody, { name: 'prod', environment: 'prod', branch: 'main' })
    body: z.infer<typeof createDeploymentBody>,
  ) {
    return presentDeployment(
      await this.service.create(scope, origin, projectRef, {
        name: body.name,
        environment: body.environment ?? null,
        branch: body.branch,
        ...settingsOf(body),
      }),
    );
  }

  @Get(':deployment')
  @ApiOperation({ summary: 'One deployment (id or slug)' })
  @ZodResponse(200, deploymentOut, 'The deployment')
  async get(
    @DeploymentParams() { project: projectRef, deployment: ref }: DeploymentRefs,
    @CurrentOrg() scope: OrgScope,
  ) {
    return presentDeployment(await this.service.view(scope.orgId, projectRef, ref));
  }

  @Patch(':deployment')
  @RequirePermission('deployment:write')
  @ApiOperation({
    summary:
      'Change environment, branch or run settings (admin); a new environment or branch redeploys',
  })
  @ZodResponse(200, deploymentOut, 'Updated')
  async update(
    @DeploymentParams() { project: projectRef, deployment: ref }: DeploymentRefs,
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
    @DeploymentParams() { project: projectRef, deployment: ref }: DeploymentRefs,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
  ): Promise<void> {
    await this.service.delete(scope, origin, projectRef, ref);
  }
}
