import { Body, Controller, Get, Headers, HttpCode, Put } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { z } from 'zod';
import { Public } from '../common/public.decorator.js';
import {
  MAX_STATE_VALUE_BYTES,
  ZodParam,
  ZodValidationPipe,
  jsonObjectWithin,
} from '../common/zod.js';
import type { Prisma } from '../generated/prisma/client.js';
import { MeltanoStateRepository } from './meltano-state.repository.js';
import { RunStateCredentials } from './run-state-credentials.js';
import { RunsRepository } from './runs.repository.js';

const stateBody = z.strictObject({ value: jsonObjectWithin(MAX_STATE_VALUE_BYTES) });

/**
 * Managed Meltano state for run Pods (Kubernetes executor): the Pod's
 * entrypoint downloads its deployment's states before `meltano` starts and
 * uploads each state the pipeline wrote afterwards. Authenticated by the
 * run-scoped credential only (no user session or API token), reachable from
 * the cluster network (see the chart's NetworkPolicy); not part of the public API.
 */
@Public()
@ApiExcludeController()
@Controller('internal/runs/:runId/states')
export class RunStateController {
  constructor(
    private readonly credentials: RunStateCredentials,
    private readonly states: MeltanoStateRepository,
    private readonly runs: RunsRepository,
  ) {}

  @Get()
  async list(
    @ZodParam('runId', z.uuid()) runId: string,
    @Headers('authorization') authorization: string | undefined,
  ) {
    const grant = await this.credentials.verify(runId, authorization);
    const rows = await this.states.list(grant.orgId, grant.deploymentId);
    return { states: rows.map((row) => ({ state_id: row.stateId, value: row.value })) };
  }

  @Put(':stateId')
  @HttpCode(204)
  async set(
    @ZodParam('runId', z.uuid()) runId: string,
    @ZodParam('stateId', z.string().min(1).max(500)) id: string,
    @Headers('authorization') authorization: string | undefined,
    @Body(new ZodValidationPipe(stateBody, 'body')) body: z.infer<typeof stateBody>,
  ): Promise<void> {
    const grant = await this.credentials.verify(runId, authorization);
    await this.states.set(grant.orgId, grant.deploymentId, id, body.value as Prisma.InputJsonValue);
    await this.runs.addStateIds(grant.orgId, grant.runId, [id]);
  }
}
