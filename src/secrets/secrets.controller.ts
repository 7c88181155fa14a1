import { Controller, Delete, Get, HttpCode, HttpStatus, Put, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { Origin, type RequestOrigin } from '../auth/actor.js';
import { decodeCursor, toPage } from '../common/pagination.js';
import {
  DeploymentParams,
  type DeploymentRefs,
  ProjectParams,
  type ProjectRefs,
} from '../common/route-params.js';
import { ZodBody, ZodParam, ZodQuery, ZodResponse, paginated } from '../common/zod.js';
import { CurrentOrg, RequirePermission, type OrgScope } from '../organizations/org-access.js';
import {
  listSecretsQuery,
  putSecretBody,
  secretName,
  secretNameParam,
  secretOut,
} from './secrets.schemas.js';
import { SecretsService, type SecretTarget } from './secrets.service.js';
import type { SecretMeta } from './secrets.repository.js';
import { presentSecret } from './secrets.presenter.js';

const example = {
  name: 'TAP_POSTGRES_PASSWORD',
  kind: 'env',
  scope: 'project',
  project_id: '5f1c2e0a-8a53-4d0b-9f8e-2b1d7c9e4a10',
  deployment_id: null,
  created_by: 'octocat',
  updated_by: 'octocat',
  created_at: '2026-11-21T09:00:00.000Z',
  updated_at: '2026-11-21T09:00:00.000Z',
};
const putExample = { value: 's3cr3t', kind: 'env' };

/** The routes shared by project secrets and deployment overrides. */
abstract class SecretRoutes {
  constructor(protected readonly secrets: SecretsService) {}

  protected async listFor(
    scope: OrgScope,
    target: SecretTarget,
    query: z.infer<typeof listSecretsQuery>,
  ) {
    const rows = await this.secrets.list(
      scope.orgId,
      target,
      query.page_size + 1,
      decodeCursor(query.page_token),
    );
    const page = toPage(
      rows,
      query.page_size,
      (s) => ({ k: s.name, id: s.id }),
      (s) => s,
    );
    return { ...page, results: await this.present(page.results) };
  }

  protected async getFor(scope: OrgScope, target: SecretTarget, name: string) {
    const [out] = await this.present([await this.secrets.get(scope.orgId, target, name)]);
    return out;
  }

  protected async putFor(
    scope: OrgScope,
    origin: RequestOrigin,
    target: SecretTarget,
    name: string,
    body: z.infer<typeof putSecretBody>,
    reply: FastifyReply,
  ) {
    const { secret, created } = await this.secrets.set(scope, origin, target, name, body);
    void reply.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    const [out] = await this.present([secret]);
    return out;
  }

  private async present(rows: SecretMeta[]) {
    const logins = await this.secrets.loginsOf(rows);
    return rows.map((row) => presentSecret(row, logins));
  }
}

@ApiTags('secrets')
@Controller('orgs/:org/projects/:project/secrets')
export class ProjectSecretsController extends SecretRoutes {
  constructor(secrets: SecretsService) {
    super(secrets);
  }

  @Get()
  @ApiOperation({ summary: 'Secrets of a project, by name: who set them and when, never values' })
  @ZodResponse(200, paginated(secretOut), 'A page of secrets', {
    results: [example],
    pagination: { next_page_token: null, page_size: 50 },
  })
  list(
    @ProjectParams() { project }: ProjectRefs,
    @CurrentOrg() scope: OrgScope,
    @ZodQuery(listSecretsQuery) query: z.infer<typeof listSecretsQuery>,
  ) {
    return this.listFor(scope, { projectRef: project }, query);
  }

  @Get(':name')
  @ApiOperation({ summary: 'One secret’s metadata (never its value)' })
  @ZodResponse(200, secretOut, 'The secret', example)
  get(
    @ProjectParams() { project }: ProjectRefs,
    @ZodParam('name', secretNameParam) name: string,
    @CurrentOrg() scope: OrgScope,
  ) {
    return this.getFor(scope, { projectRef: project }, name);
  }

  @Put(':name')
  @RequirePermission('secret:write')
  @ApiOperation({
    summary: 'Set a project secret: an environment variable (or file) for every run (admin)',
  })
  @ZodResponse(201, secretOut, 'Created', example)
  @ZodResponse(200, secretOut, 'Replaced', example)
  put(
    @ProjectParams() { project }: ProjectRefs,
    @ZodParam('name', secretName) name: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
    @ZodBody(putSecretBody, putExample) body: z.infer<typeof putSecretBody>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.putFor(scope, origin, { projectRef: project }, name, body, reply);
  }

  @Delete(':name')
  @HttpCode(204)
  @RequirePermission('secret:write')
  @ApiOperation({ summary: 'Delete a project secret (admin)' })
  async remove(
    @ProjectParams() { project }: ProjectRefs,
    @ZodParam('name', secretNameParam) name: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
  ): Promise<void> {
    await this.secrets.delete(scope, origin, { projectRef: project }, name);
  }
}

@ApiTags('secrets')
@Controller('orgs/:org/projects/:project/deployments/:deployment/secrets')
export class DeploymentSecretsController extends SecretRoutes {
  constructor(secrets: SecretsService) {
    super(secrets);
  }

  @Get()
  @ApiOperation({
    summary: 'A deployment’s secret overrides, by name (they replace project secrets of that name)',
  })
  @ZodResponse(200, paginated(secretOut), 'A page of secrets')
  list(
    @DeploymentParams() { project, deployment }: DeploymentRefs,
    @CurrentOrg() scope: OrgScope,
    @ZodQuery(listSecretsQuery) query: z.infer<typeof listSecretsQuery>,
  ) {
    return this.listFor(scope, { projectRef: project, deploymentRef: deployment }, query);
  }

  @Get(':name')
  @ApiOperation({ summary: 'One deployment secret’s metadata (never its value)' })
  @ZodResponse(200, secretOut, 'The secret', { ...example, scope: 'deployment' })
  get(
    @DeploymentParams() { project, deployment }: DeploymentRefs,
    @ZodParam('name', secretNameParam) name: string,
    @CurrentOrg() scope: OrgScope,
  ) {
    return this.getFor(scope, { projectRef: project, deploymentRef: deployment }, name);
  }

  @Put(':name')
  @RequirePermission('secret:write')
  @ApiOperation({ summary: 'Set a deployment override of a secret (admin)' })
  @ZodResponse(201, secretOut, 'Created')
  @ZodResponse(200, secretOut, 'Replaced')
  put(
    @DeploymentParams() { project, deployment }: DeploymentRefs,
    @ZodParam('name', secretName) name: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
    @ZodBody(putSecretBody, putExample) body: z.infer<typeof putSecretBody>,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.putFor(
      scope,
      origin,
      { projectRef: project, deploymentRef: deployment },
      name,
      body,
      reply,
    );
  }

  @Delete(':name')
  @HttpCode(204)
  @RequirePermission('secret:write')
  @ApiOperation({ summary: 'Delete a deployment secret override (admin)' })
  async remove(
    @DeploymentParams() { project, deployment }: DeploymentRefs,
    @ZodParam('name', secretNameParam) name: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
  ): Promise<void> {
    await this.secrets.delete(
      scope,
      origin,
      { projectRef: project, deploymentRef: deployment },
      name,
    );
  }
}
