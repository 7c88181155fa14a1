import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { OrgId } from '../database/org-id.js';
import type { RunStatus, RunTrigger, Schedule } from '../generated/prisma/client.js';

/** One of a schedule's latest runs, as much as a health strip needs. */
export interface RecentRun {
  id: string;
  scheduleId: string;
  status: RunStatus;
  trigger: RunTrigger;
  queuedAt: Date;
  startedAt: Date | null;
  pipelineStartedAt: Date | null;
  finishedAt: Date | null;
  statusReason: string | null;
}

/** What the dashboard's deployment page shows per schedule: its active schedules and their latest runs. */
@Injectable()
export class ScheduleHealthRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The deployment's schedules still in meltano.yml, by name. */
  activeSchedules(orgId: OrgId, deploymentId: string): Promise<Schedule[]> {
    return this.prisma.schedule.findMany({
      where: { organizationId: orgId, deploymentId, archivedAt: null },
      orderBy: [{ name: 'asc' }, { id: 'asc' }],
    });
  }

  /**
   * The latest `perSchedule` runs of each schedule, newest first, in one query:
   * a LATERAL join walks the (schedule_id, queued_at) index once per schedule,
   * however many runs a schedule has had.
   */
  async latestRuns(orgId: OrgId, scheduleIds: string[], perSchedule: number): Promise<RecentRun[]> {
    if (!scheduleIds.length) return [];
    return this.prisma.$queryRaw<RecentRun[]>`
      SELECT r.id, r.schedule_id AS "scheduleId", r.status, r.trigger,
        r.queued_at AS "queuedAt", r.started_at AS "startedAt",
        r.pipeline_started_at AS "pipelineStartedAt", r.finished_at AS "finishedAt",
        r.status_reason AS "statusReason"
      FROM unnest(${scheduleIds}::uuid[]) AS s(id)
      CROSS JOIN LATERAL (
        SELECT * FROM runs
        WHERE runs.schedule_id = s.id AND runs.organization_id = ${orgId}::uuid
        ORDER BY runs.queued_at DESC, runs.id DESC
        LIMIT ${perSchedule}
      ) r
      ORDER BY r.schedule_id, r.queued_at DESC, r.id DESC`;
  }
}
