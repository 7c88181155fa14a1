import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { DeploymentParams, type DeploymentRefs } from '../common/route-params.js';
import { ZodQuery, ZodResponse } from '../common/zod.js';
import { CurrentOrg, type OrgScope } from '../organizations/org-access.js';
import { runStatus } from './runs.schemas.js';
import { ScheduleHealthService } from './schedule-health.service.js';

const healthQuery = z.object({
  runs: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(30)
    .describe('How many of each schedule’s latest runs to return and count'),
});

const scheduleHealthOut = z.object({
  schedule_id: z.uuid(),
  name: z.string(),
  enabled: z.boolean(),
  valid: z.boolean(),
  last_run_at: z.string().nullable().describe('When the latest run was queued'),
  last_status: runStatus.nullable(),
  next_run_at: z.string().nullable().describe('Next fire time of an enabled schedule'),
  counted_runs: z
    .number()
    .int()
    .describe('Runs the success rate counts: those that succeeded, failed or timed out'),
  success_rate: z.number().min(0).max(1).nullable().describe('null when no run counts yet'),
  failing: z.boolean().describe('The latest counted run failed or timed out'),
  runs: z.array(
    z.object({
      id: z.uuid(),
      status: runStatus,
      trigger: z.enum(['schedule', 'manual', 'api', 'cli', 'retry']),
      queued_at: z.string(),
      finished_at: z.string().nullable(),
      duration_seconds: z.number().nullable(),
      status_reason: z.string().nullable(),
    }),
  ),
});

@ApiTags('schedules')
@Controller('orgs/:org/projects/:project/deployments/:deployment/schedule-health')
export class ScheduleHealthController {
  constructor(private readonly health: ScheduleHealthService) {}

  @Get()
  @ApiOperation({
    summary:
      'Each schedule’s latest runs (newest first), success rate, last and next run, in one request',
  })
  @ZodResponse(200, z.object({ results: z.array(scheduleHealthOut) }), 'Schedules with their runs')
  async list(
    @DeploymentParams() { project, deployment }: DeploymentRefs,
    @CurrentOrg() scope: OrgScope,
    @ZodQuery(healthQuery) query: z.infer<typeof healthQuery>,
  ) {
    return {
      results: await this.health.forDeployment(scope.orgId, project, deployment, query.runs),
    };
  }
}
