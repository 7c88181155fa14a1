import { Body, Controller, Delete, Get, HttpCode, Put } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Origin, type RequestOrigin } from '../auth/actor.js';
import { AuditService } from '../audit/audit.service.js';
import { refParam } from '../common/slug.js';
import {
  MAX_STATE_VALUE_BYTES,
  ZodParam,
  ZodValidationPipe,
  jsonObjectWithin,
} from '../common/zod.js';
import type { Prisma } from '../generated/prisma/client.js';
import { CurrentOrg, RequirePermission, type OrgScope } from '../organizations/org-access.js';
import { DeploymentsService } from '../deployments/deployments.service.js';
import { MeltanoStateService } from './meltano-state.service.js';

const stateId = z.string().min(1).max(500);
const stateBody = z.strictObject({
  value: jsonObjectWithin(MAX_STATE_VALUE_BYTES).describe(
    'Meltano state, e.g. {"singer_state": {...}}; at most 256 KiB of JSON',
  ),
});

@ApiTags('state')
@Controller('orgs/:org/projects/:project/deployments/:deployment/state')
export class StateController {
  constructor(
    private readonly states: MeltanoStateService,
    private readonly deployments: DeploymentsService,
    private readonly audit: AuditService,
  ) {}

  @Get()
  @ApiOperation({ summary: 'State ids of a deployment (meltano state list)' })
  async list(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('project', refParam) project: string,
    @ZodParam('deployment', refParam) deployment: string,
    @CurrentOrg() scope: OrgScope,
  ) {
    const { deployment: d } = await this.deployments.get(
      scope.organization.id,
      project,
      deployment,
    );
    const rows = await this.states.list(scope.organization.id, d.id);
    return {
      results: rows.map((r) => ({ state_id: r.stateId, updated_at: r.updatedAt.toISOString() })),
    };
  }

  @Get(':stateId')
  @ApiOperation({ summary: 'One state (meltano state get)' })
  async get(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('project', refParam) project: string,
    @ZodParam('deployment', refParam) deployment: string,
    @ZodParam('stateId', stateId) id: string,
    @CurrentOrg() scope: OrgScope,
  ) {
    const { deployment: d } = await this.deployments.get(
      scope.organization.id,
      project,
      deployment,
    );
    const row = await this.states.get(scope.organization.id, d.id, id);
    return { state_id: row.stateId, value: row.value, updated_at: row.updatedAt.toISOString() };
  }

  @Put(':stateId')
  @RequirePermission('deployment:write')
  @ApiOperation({ summary: 'Set a state (meltano state set) (admin)' })
  @ApiBody({
    schema: { type: 'object', properties: { value: { type: 'object' } }, required: ['value'] },
  })
  async set(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('project', refParam) project: string,
    @ZodParam('deployment', refParam) deployment: string,
    @ZodParam('stateId', stateId) id: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
    @Body(new ZodValidationPipe(stateBody, 'body')) body: z.infer<typeof stateBody>,
  ) {
    const { deployment: d } = await this.deployments.get(
      scope.organization.id,
      project,
      deployment,
    );
    const row = await this.states.set(
      scope.organization.id,
      d.id,
      id,
      body.value as Prisma.InputJsonValue,
    );
    await this.audit.record(scope.organization.id, scope.actor, origin, {
      action: 'state.set',
      resourceType: 'deployment',
      resourceId: d.id,
      details: { state_id: id },
    });
    return { state_id: row.stateId, value: row.value, updated_at: row.updatedAt.toISOString() };
  }

  @Delete(':stateId')
  @HttpCode(204)
  @RequirePermission('deployment:write')
  @ApiOperation({ summary: 'Clear a state (meltano state clear) (admin)' })
  async clear(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('project', refParam) project: string,
    @ZodParam('deployment', refParam) deployment: string,
    @ZodParam('stateId', stateId) id: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
  ): Promise<void> {
    const { deployment: d } = await this.deployments.get(
      scope.organization.id,
      project,
      deployment,
    );
    await this.states.clear(scope.organization.id, d.id, id);
    await this.audit.record(scope.organization.id, scope.actor, origin, {
      action: 'state.clear',
      resourceType: 'deployment',
      resourceId: d.id,
      details: { state_id: id },
    });
  }
}
