import { Controller, Get, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { decodeCursor, toPage } from '../common/pagination.js';
import { refParam } from '../common/slug.js';
import { ZodParam, ZodQuery, ZodResponse, pageQuery, paginated } from '../common/zod.js';
import { CurrentOrg, RequirePermission, type OrgScope } from '../organizations/org-access.js';
import { DeploymentsService } from '../deployments/deployments.service.js';
import { AuditService } from '../audit/audit.service.js';
import { Origin, type RequestOrigin } from '../auth/actor.js';
import { DeploysService, presentDeploy } from './deploys.service.js';

const deployOut = z.object({
  id: z.uuid(),
  deployment_id: z.uuid(),
  trigger: z.enum(['create', 'manual', 'push']),
  branch: z.string(),
  commit_sha: z.string().nullable(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'superseded']),
  message: z.string().nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
});

@ApiTags('deployments')
@Controller('orgs/:org/projects/:project/deployments/:deployment/deploys')
export class DeploysController {
  constructor(
    private readonly deploys: DeploysService,
    private readonly deployments: DeploymentsService,
    private readonly audit: AuditService,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Deploys of a deployment, newest first: commit, status and what changed or failed',
  })
  @ZodResponse(200, paginated(deployOut), 'A page of deploys')
  async list(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('project', refParam) projectRef: string,
    @ZodParam('deployment', refParam) deploymentRef: string,
    @CurrentOrg() scope: OrgScope,
    @ZodQuery(z.object(pageQuery)) query: { page_size: number; page_token?: string | undefined },
  ) {
    const { deployment } = await this.deployments.get(
      scope.organization.id,
      projectRef,
      deploymentRef,
    );
    const rows = await this.deploys.list(
      scope.organization.id,
      deployment.id,
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
    @ZodParam('org', refParam) _org: string,
    @ZodParam('project', refParam) projectRef: string,
    @ZodParam('deployment', refParam) deploymentRef: string,
    @ZodParam('deployId', z.uuid()) deployId: string,
    @CurrentOrg() scope: OrgScope,
  ) {
    const { deployment } = await this.deployments.get(
      scope.organization.id,
      projectRef,
      deploymentRef,
    );
    return presentDeploy(await this.deploys.get(scope.organization.id, deployment.id, deployId));
  }

  @Post()
  @RequirePermission('deployment:write')
  @ApiOperation({ summary: 'Redeploy: read meltano.yml at the branch head again (admin)' })
  @ZodResponse(201, deployOut, 'Queued')
  async redeploy(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('project', refParam) projectRef: string,
    @ZodParam('deployment', refParam) deploymentRef: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
  ) {
    const { deployment } = await this.deployments.get(
      scope.organization.id,
      projectRef,
      deploymentRef,
    );
    const deploy = await this.deploys.request(deployment, 'manual', scope.actor.user.id);
    await this.audit.record(scope.organization.id, scope.actor, origin, {
      action: 'deployment.deploy',
      resourceType: 'deployment',
      resourceId: deployment.id,
      details: { deploy_id: deploy.id },
    });
    return presentDeploy(deploy);
  }
}
