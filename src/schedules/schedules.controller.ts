import { Controller, Get, Patch } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Origin, type RequestOrigin } from '../auth/actor.js';
import { decodeCursor, toPage } from '../common/pagination.js';
import { DeploymentParams, type DeploymentRefs } from '../common/route-params.js';
import { ZodBody, ZodParam, ZodQuery, ZodResponse, paginated } from '../common/zod.js';
import { CurrentOrg, RequirePermission, type OrgScope } from '../organizations/org-access.js';
import { presentSchedule } from './schedules.presenter.js';
import { SchedulesService } from './schedules.service.js';
import {
  getScheduleQuery,
  listSchedulesQuery,
  scheduleOut,
  scheduleRef,
  updateScheduleBody,
} from './schedules.schemas.js';

const example = {
  id: '1b0e7c52-2d35-4c41-8f5e-0f1a3e8b9d21',
  name: 'daily-load',
  interval: '@daily',
  cron: '0 0 * * *',
  timezone: 'UTC',
  job: 'load',
  enabled: true,
  valid: true,
  invalid_reason: null,
  runs_per_day: 1,
  upcoming: ['2026-11-22T00:00:00.000Z', '2026-11-23T00:00:00.000Z'],
};

@ApiTags('schedules')
@Controller('orgs/:org/projects/:project/deployments/:deployment/schedules')
export class SchedulesController {
  constructor(private readonly schedules: SchedulesService) {}

  @Get()
  @ApiOperation({
    summary:
      'Schedules of a deployment, as read from meltano.yml, with runs per day and next fire time',
  })
  @ZodResponse(200, paginated(scheduleOut), 'A page of schedules')
  async list(
    @DeploymentParams() { project: projectRef, deployment: deploymentRef }: DeploymentRefs,
    @CurrentOrg() scope: OrgScope,
    @ZodQuery(listSchedulesQuery) query: z.infer<typeof listSchedulesQuery>,
  ) {
    const { deployment, schedules } = await this.schedules.list(
      scope.orgId,
      projectRef,
      deploymentRef,
      query.page_size + 1,
      {
        namePrefix: query.name_prefix,
        enabled: query.enabled === undefined ? undefined : query.enabled === 'true',
        includeArchived: query.include_archived === 'true',
      },
      decodeCursor(query.page_token),
    );
    return toPage(
      schedules,
      query.page_size,
      (s) => ({ k: String(s.position), id: s.id }),
      (s) => presentSchedule(s, deployment),
    );
  }

  @Get(':schedule')
  @ApiOperation({ summary: 'One schedule (id or name) with its next N fire times' })
  @ZodResponse(200, scheduleOut, 'The schedule', example)
  async get(
    @DeploymentParams() { project: projectRef, deployment: deploymentRef }: DeploymentRefs,
    @ZodParam('schedule', scheduleRef) ref: string,
    @CurrentOrg() scope: OrgScope,
    @ZodQuery(getScheduleQuery) query: z.infer<typeof getScheduleQuery>,
  ) {
    const { deployment, schedule } = await this.schedules.get(
      scope.orgId,
      projectRef,
      deploymentRef,
      ref,
    );
    return presentSchedule(schedule, deployment, query.num_upcoming);
  }

  @Patch(':schedule')
  @RequirePermission('schedule:toggle')
  @ApiOperation({
    summary: 'Enable or disable a schedule for this deployment, or set its timezone (member)',
  })
  @ZodResponse(200, scheduleOut, 'Updated', example)
  async update(
    @DeploymentParams() { project: projectRef, deployment: deploymentRef }: DeploymentRefs,
    @ZodParam('schedule', scheduleRef) ref: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
    @ZodBody(updateScheduleBody, { enabled: true }) body: z.infer<typeof updateScheduleBody>,
  ) {
    const { deployment, schedule } = await this.schedules.update(
      scope,
      origin,
      projectRef,
      deploymentRef,
      ref,
      body,
    );
    return presentSchedule(schedule, deployment, 10);
  }
}
