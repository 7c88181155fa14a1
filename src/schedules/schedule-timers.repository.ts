import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Deployment, Organization, Schedule } from '../generated/prisma/client.js';
import type { OrgId } from '../database/org-id.js';

/** A schedule with what firing it needs: its deployment (policies, commit) and organization (limits). */
export type ScheduleWithContext = Schedule & {
  deployment: Deployment & { organization: Organization };
};

export const scheduleContext = { deployment: { include: { organization: true } } } as const;

/** The schedule reads and writes of the scheduler (ticks) and of manual runs of a schedule. */
@Injectable()
export class ScheduleTimersRepository {
  constructor(private readonly prisma: PrismaService) {}

  findWithContext(orgId: OrgId, scheduleId: string): Promise<ScheduleWithContext | null> {
    return this.prisma.schedule.findFirst({
      where: { organizationId: orgId, id: scheduleId },
      include: scheduleContext,
    });
  }

  /** A deployment's schedule by name, unless archived. */
  findActiveByName(orgId: OrgId, deploymentId: string, name: string): Promise<Schedule | null> {
    return this.prisma.schedule.findFirst({
      where: { organizationId: orgId, deploymentId, name, archivedAt: null },
    });
  }

  /** Moves the schedule's last accounted tick forward to `tickAt` (never back). */
  async advance(orgId: OrgId, scheduleId: string, tickAt: Date): Promise<void> {
    await this.prisma.schedule.updateMany({
      where: {
        organizationId: orgId,
        id: scheduleId,
        OR: [{ lastTickAt: null }, { lastTickAt: { lt: tickAt } }],
      },
      data: { lastTickAt: tickAt },
    });
  }
}
