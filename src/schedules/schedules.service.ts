import { Injectable } from '@nestjs/common';
import type { Deployment, Schedule } from '../generated/prisma/client.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { RequestOrigin } from '../auth/actor.js';
import { conflict, notFound } from '../common/problem.js';
import type { Cursor } from '../common/pagination.js';
import type { OrgId } from '../database/org-id.js';
import { Transactions } from '../database/transactions.js';
import type { OrgScope } from '../organizations/org-access.js';
import { DeploymentEvents } from '../deployments/deployment-events.js';
import { DeploymentsService } from '../deployments/deployments.service.js';
import { SchedulesRepository, type ScheduleFilter } from './schedules.repository.js';

@Injectable()
export class SchedulesService {
  constructor(
    private readonly transactions: Transactions,
    private readonly schedules: SchedulesRepository,
    private readonly deployments: DeploymentsService,
    private readonly audit: AuditRepository,
    private readonly events: DeploymentEvents,
  ) {}

  async list(
    orgId: OrgId,
    projectRef: string,
    deploymentRef: string,
    take: number,
    filter: ScheduleFilter,
    cursor?: Cursor,
  ): Promise<{ deployment: Deployment; schedules: Schedule[] }> {
    const { deployment } = await this.deployments.get(orgId, projectRef, deploymentRef);
    const schedules = await this.schedules.list(orgId, deployment.id, take, filter, cursor);
    return { deployment, schedules };
  }

  async get(orgId: OrgId, projectRef: string, deploymentRef: string, ref: string) {
    const { deployment } = await this.deployments.get(orgId, projectRef, deploymentRef);
    const schedule = await this.schedules.find(orgId, deployment.id, ref);
    if (!schedule) throw notFound('Schedule');
    return { deployment, schedule };
  }

  async update(
    scope: OrgScope,
    origin: RequestOrigin,
    projectRef: string,
    deploymentRef: string,
    ref: string,
    input: { enabled?: boolean | undefined; timezone?: string | undefined },
  ) {
    const { orgId } = scope;
    const { deployment, schedule } = await this.get(orgId, projectRef, deploymentRef, ref);
    if (input.enabled) {
      if (schedule.archivedAt)
        throw conflict(
          `Schedule "${schedule.name}" was removed from meltano.yml and cannot be enabled.`,
        );
      if (schedule.invalidReason)
        throw conflict(`Schedule "${schedule.name}" cannot be enabled: ${schedule.invalidReason}`);
      if (!schedule.cron) {
        throw conflict(
          `Schedule "${schedule.name}" has interval ${schedule.interval ?? '(none)'}: it only runs when started by hand.`,
        );
      }
    }
    const updated = await this.transactions.run(async (tx) => {
      const row = await this.schedules.update(
        orgId,
        schedule.id,
        {
          ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
          ...(input.timezone !== undefined ? { timezone: input.timezone } : {}),
          // Enabling starts counting ticks from now: earlier ones were not missed, the schedule was off.
          ...(input.enabled && !schedule.enabled ? { lastTickAt: new Date() } : {}),
        },
        tx,
      );
      const action =
        input.enabled === undefined
          ? 'schedule.update'
          : input.enabled
            ? 'schedule.enable'
            : 'schedule.disable';
      await this.audit.recordAs(
        scope,
        origin,
        {
          action,
          resourceType: 'schedule',
          resourceId: schedule.id,
          details: { name: schedule.name, deployment: deployment.slug, ...input },
        },
        tx,
      );
      return row;
    });
    await this.events.deploymentChanged({ kind: 'schedules-changed', orgId, deployment });
    return { deployment, schedule: updated };
  }
}
