import { Controller, Get, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { decodeCursor, toPage } from '../common/pagination.js';
import { DeploymentParams, type DeploymentRefs } from '../common/route-params.js';
import { ZodBody, ZodParam, ZodQuery, ZodResponse, pageQuery, paginated } from '../common/zod.js';
import { CurrentOrg, RequirePermission, type OrgScope } from '../organizations/org-access.js';
import { Origin, type RequestOrigin } from '../auth/actor.js';
import { DeploysService } from './deploys.service.js';
import { presentDeploy } from './deploys.presenter.js';
import { deployOut, redeployBody, type RedeployBody } from './deploys.schemas.js';

@ApiTags('deployments')
@Controller('orgs/:org/projects/:project/deployments/:deployment/deploys')
export class DeploysController {
  constructor(private readonly deploys: DeploysService) {}

  @Get()
  @ApiOperation({
    summary: 'Deploys of a deployment, newest first: commit, status and what changed or failed',
  })
  @ZodResponse(200, paginated(deployOut), 'A page of deploys')
  async list(
    @DeploymentParams() { project: projectRef, deployment: deploymentRef }: DeploymentRefs,
    @CurrentOrg() scope: OrgScope,
    @ZodQuery(z.object(pageQuery)) query: { page_size: number; page_token?: string | undefined },
  ) {
    const rows = await this.deploys.list(
      scope.orgId,
      projectRef,
      deploymentRef,
      query.page_size + 1,
      decodeCursor(query.page_token),
    );
    return toPage(
      rows,
      query.page_size,
      (d) => ({ k: d.createdAt.toISOString(), id: d.id }),
      presentDeploy,
    );
  }

  @Get(':deployId')
  @ApiOperation({ summary: 'One deploy' })
  @ZodResponse(200, deployOut, 'The deploy')
  async get(
    @DeploymentParams() { project: projectRef, deployment: deploymentRef }: DeploymentRefs,
    @ZodParam('deployId', z.uuid()) deployId: string,
    @CurrentOrg() scope: OrgScope,
  ) {
    return presentDeploy(await this.deploys.get(scope.orgId, projectRef, deploymentRef, deployId));
  }

  @Post()
  @RequirePermission('deployment:write')
  @ApiOperation({
    summary:
      'Redeploy: read meltano.yml at the branch head again, or the deployed commit (`commit: deployed`) (admin)',
  })
  @ZodResponse(201, deployOut, 'Queued')
  async redeploy(
    @DeploymentParams() { project: projectRef, deployment: deploymentRef }: DeploymentRefs,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
    @ZodBody(redeployBody, { commit: 'branch_head', only_if_changed: true })
    body: RedeployBody,
  ) {
    return presentDeploy(
      await this.deploys.redeploy(scope, origin, projectRef, deploymentRef, body ?? {}),
    );
  }
}
