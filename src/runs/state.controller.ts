import { Body, Controller, Delete, Get, HttpCode, Put } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Origin, type RequestOrigin } from '../auth/actor.js';
import { DeploymentParams, type DeploymentRefs } from '../common/route-params.js';
import {
  MAX_STATE_VALUE_BYTES,
  ZodParam,
  ZodValidationPipe,
  jsonObjectWithin,
} from '../common/zod.js';
import type { Prisma } from '../generated/prisma/client.js';
import { CurrentOrg, RequirePermission, type OrgScope } from '../organizations/org-access.js';
import { presentState, presentStateSummary } from './runs.presenter.js';
import { StateService } from './state.service.js';

const stateId = z.string().min(1).max(500);
const stateBody = z.strictObject({
  value: jsonObjectWithin(MAX_STATE_VALUE_BYTES).describe(
    'Meltano state, e.g. {"singer_state": {...}}; at most 256 KiB of JSON',
  ),
});

@ApiTags('state')
@Controller('orgs/:org/projects/:project/deployments/:deployment/state')
export class StateController {
  constructor(private readonly states: StateService) {}

  @Get()
  @ApiOperation({ summary: 'State ids of a deployment (meltano state list)' })
  async list(
    @DeploymentParams() { project, deployment }: DeploymentRefs,
    @CurrentOrg() scope: OrgScope,
  ) {
    const rows = await this.states.list(scope, { project, deployment });
    return { results: rows.map(presentStateSummary) };
  }

  @Get(':stateId')
  @ApiOperation({ summary: 'One state (meltano state get)' })
  async get(
    @DeploymentParams() { project, deployment }: DeploymentRefs,
    @ZodParam('stateId', stateId) id: string,
    @CurrentOrg() scope: OrgScope,
  ) {
    return presentState(await this.states.get(scope, { project, deployment }, id));
  }

  @Put(':stateId')
  @RequirePermission('deployment:write')
  @ApiOperation({ summary: 'Set a state (meltano state set) (admin)' })
  @ApiBody({
    schema: { type: 'object', properties: { value: { type: 'object' } }, required: ['value'] },
  })
  async set(
    @DeploymentParams() { project, deployment }: DeploymentRefs,
    @ZodParam('stateId', stateId) id: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
    @Body(new ZodValidationPipe(stateBody, 'body')) body: z.infer<typeof stateBody>,
  ) {
    const row = await this.states.set(
      scope,
      origin,
      { project, deployment },
      id,
      body.value as Prisma.InputJsonValue,
    );
    return presentState(row);
  }

  @Delete(':stateId')
  @HttpCode(204)
  @RequirePermission('deployment:write')
  @ApiOperation({ summary: 'Clear a state (meltano state clear) (admin)' })
  async clear(
    @DeploymentParams() { project, deployment }: DeploymentRefs,
    @ZodParam('stateId', stateId) id: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
  ): Promise<void> {
    await this.states.clear(scope, origin, { project, deployment }, id);
  }
}
