import { isUuid } from '../common/refs.js';
import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Deployment, Schedule } from '../generated/prisma/client.js';
import { AuditService } from '../audit/audit.service.js';
import type { RequestOrigin } from '../auth/actor.js';
import { conflict, notFound } from '../common/problem.js';
import { type Cursor, pastCursor } from '../common/pagination.js';
import { nextFireTimes, runsPerDay } from '../meltano/interval.js';
import type { OrgScope } from '../organizations/org-access.js';
import { DeploymentsService } from '../deployments/deployments.service.js';
import { DeploymentLifecycle } from '../deployments/deployment-lifecycle.js';

/** When a schedule fires next, including the deployment's spread offset. */
export function upcomingTicks(
  schedule: Schedule,
  deployment: Deployment,
  count: number,
  from = new Date(),
): Date[] {
  if (!schedule.cron || schedule.invalidReason || schedule.archivedAt || count === 0) return [];
  const offsetMs = deployment.spreadSchedules ? schedule.offsetSeconds * 1000 : 0;
  return nextFireTimes(
    schedule.cron,
    schedule.timezone,
    new Date(from.getTime() - offsetMs),
    count,
  ).map((d) => new Date(d.getTime() + offsetMs));
}

export const scheduleRunsPerDay = (schedule: Schedule): number =>
  schedule.cron && !schedule.invalidReason && !schedule.archivedAt
    ? runsPerDay(schedule.cron, schedule.timezone)
    : 0;

@Injectable()
export class SchedulesService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly deployments: DeploymentsService,
    private readonly audit: AuditService,
    private readonly lifecycle: DeploymentLifecycle,
  ) {}

  async list(
    organizationId: string,
    projectRef: string,
    deploymentRef: string,
    take: number,
    filter: {
      namePrefix?: string | undefined;
      enabled?: boolean | undefined;
      includeArchived: boolean;
    },
    cursor?: Cursor,
  ): Promise<{ deployment: Deployment; schedules: Schedule[] }> {
    const { deployment } = await this.deployments.get(organizationId, projectRef, deploymentRef);
    const schedules = await this.prisma.schedule.findMany({
      where: {
        organizationId,
        deploymentId: deployment.id,
        ...(filter.includeArchived ? {} : { archivedAt: null }),
        ...(filter.namePrefix ? { name: { startsWith: filter.namePrefix } } : {}),
        ...(filter.enabled !== undefined ? { enabled: filter.enabled } : {}),
        ...pastCursor('name', cursor, 'asc'),
      },
      orderBy: [{ name: 'asc' }, { id: 'asc' }],
      take,
    });
    return { deployment, schedules };
  }

  async get(organizationId: string, projectRef: string, deploymentRef: string, ref: string) {
    const { deployment } = await this.deployments.get(organizationId, projectRef, deploymentRef);
    const schedule = await this.prisma.schedule.findFirst({
      where: {
        organizationId,
        deploymentId: deployment.id,
        ...(isUuid(ref) ? { OR: [{ id: ref }, { name: ref }] } : { name: ref }),
      },
    });
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
    const orgId = scope.organization.id;
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
    const updated = await this.prisma.$transaction(async (tx) => {
      const row = await tx.schedule.update({
        where: { id: schedule.id, organizationId: orgId },
        data: {
          ...(input.enabled !== undefined ? { enabled: input.enabled } : {}),
          ...(input.timezone !== undefined ? { timezone: input.timezone } : {}),
          // Enabling starts counting ticks from now: earlier ones were not missed, the schedule was off.
          ...(input.enabled && !schedule.enabled ? { lastTickAt: new Date() } : {}),
        },
      });
      const action =
        input.enabled === undefined
          ? 'schedule.update'
          : input.enabled
            ? 'schedule.enable'
            : 'schedule.disable';
      await this.audit.record(
        orgId,
        scope.actor,
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
    await this.lifecycle.schedulesChanged(deployment);
    return { deployment, schedule: updated };
  }
}
