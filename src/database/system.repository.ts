import { Injectable } from '@nestjs/common';
import type { OrganizationDataKey, RunStatus, Schedule } from '../generated/prisma/client.js';
import { SCHEDULE_FIELDS, selectList } from './columns.js';
import { orgIdOfRow, type OrgId } from './org-id.js';
import { PrismaService } from './prisma.service.js';
import { isFinal } from '../runs/runs.schemas.js';
import {
  scheduleContext,
  type ScheduleWithContext,
} from '../schedules/schedule-timers.repository.js';

const SCHEDULE_COLUMNS = selectList('s', SCHEDULE_FIELDS);

/**
 * The one door for work that spans tenants by design: the worker's
 * reconcile, sweep, retention and catch-up, and resolving which organization
 * a verified webhook belongs to. Every method says so in its name
 * (`…AcrossTenants`) and returns rows whose `organizationId` is an `OrgId`,
 * so the scoped repositories take over from there.
 */
@Injectable()
export class SystemRepository {
  constructor(private readonly prisma: PrismaService) {}

  // ---- secrets: master key rotation (every organization's data key) ---------------------------

  /** A page of data keys, by organization id after `after`. */
  async dataKeysAcrossTenants(
    after: string | undefined,
    take: number,
  ): Promise<(OrganizationDataKey & { orgId: OrgId })[]> {
    const rows = await this.prisma.organizationDataKey.findMany({
      where: after ? { organizationId: { gt: after } } : {},
      orderBy: { organizationId: 'asc' },
      take,
    });
    return rows.map((row) => ({ ...row, orgId: orgIdOfRow(row) }));
  }

  // ---- schedules: reconcile and catch-up ------------------------------------------------------

  /** Every schedule (or one deployment's), for making Redis's timers match PostgreSQL. */
  async schedulesAcrossTenants(
    deploymentId?: string,
  ): Promise<(ScheduleWithContext & { organizationId: OrgId })[]> {
    const rows = await this.prisma.schedule.findMany({
      where: deploymentId ? { deploymentId } : {},
      include: scheduleContext,
    });
    return rows.map(withOrgId);
  }

  /**
   * A page (by id, after `after`) of the schedules that fire on a timer in every organization
   * (enabled, not archived, valid, on a cron, of a deployed deployment), with only what a timer
   * and a check for missed ticks need: a full reconcile or catch-up never holds every schedule
   * with every column at once.
   */
  async timerSchedulesAcrossTenants(
    after: string | undefined,
    take: number,
  ): Promise<TimerSchedule[]> {
    const rows = await this.prisma.schedule.findMany({
      where: {
        enabled: true,
        archivedAt: null,
        invalidReason: null,
        AND: [{ cron: { not: null } }, { cron: { not: '' } }],
        deployment: {
          AND: [{ deployedCommitSha: { not: null } }, { deployedCommitSha: { not: '' } }],
        },
        ...(after ? { id: { gt: after } } : {}),
      },
      orderBy: { id: 'asc' },
      take,
      select: { id: true, organizationId: true, cron: true, timezone: true, lastTickAt: true },
    });
    return rows.map((row) => ({ ...withOrgId(row), cron: row.cron ?? '' }));
  }

  /** Moves these schedules' last accounted tick to `tickAt` where none is recorded yet. */
  async startSchedulesAcrossTenants(scheduleIds: readonly string[], tickAt: Date): Promise<void> {
    if (!scheduleIds.length) return;
    await this.prisma.schedule.updateMany({
      where: { id: { in: [...scheduleIds] }, lastTickAt: null },
      data: { lastTickAt: tickAt },
    });
  }

  // ---- schedules: ticks handled in batches (one batch spans the organizations whose ticks fell due) --

  /**
   * The schedules of a batch of ticks with what firing them needs, in one query. A schedule is
   * returned only under the organization its tick's payload names (a tick never crosses tenants).
   */
  async tickSchedulesAcrossTenants(
    ticks: readonly { organizationId: OrgId; scheduleId: string }[],
  ): Promise<(ScheduleWithContext & { organizationId: OrgId })[]> {
    if (!ticks.length) return [];
    const wanted = new Map(ticks.map((t) => [t.scheduleId, t.organizationId as string]));
    // Thousands of schedules fall due together, of a few deployments: the schedules are read on
    // the driver (Prisma's per-row mapping cost more than the query), their deployments once each.
    const rows = await this.prisma.readRows<Schedule>(
      `SELECT ${SCHEDULE_COLUMNS} FROM schedules s WHERE s.id = ANY($1::uuid[])`,
      [[...wanted.keys()]],
    );
    const mine = rows.filter((row) => wanted.get(row.id) === row.organizationId);
    const deployments = new Map(
      (
        await this.prisma.deployment.findMany({
          where: { id: { in: [...new Set(mine.map((row) => row.deploymentId))] } },
          include: { organization: true },
        })
      ).map((d) => [d.id, d]),
    );
    return mine.flatMap((row) => {
      const deployment = deployments.get(row.deploymentId);
      return deployment ? [withOrgId({ ...row, deployment })] : [];
    });
  }

  /** Of these schedules, those with a run not finished yet (queued, starting or running). */
  async schedulesWithUnfinishedRunsAcrossTenants(scheduleIds: string[]): Promise<Set<string>> {
    if (!scheduleIds.length) return new Set();
    const rows = await this.prisma.run.findMany({
      where: { scheduleId: { in: scheduleIds }, status: { in: ['queued', 'starting', 'running'] } },
      select: { scheduleId: true },
      distinct: ['scheduleId'],
    });
    return new Set(rows.map((r) => r.scheduleId ?? ''));
  }

  /**
   * The runs of a batch of ticks in one multi-row insert (`ON CONFLICT DO NOTHING` on the unique
   * `(schedule_id, tick_at)`): a tick another worker (or an earlier attempt) already recorded
   * inserts nothing. Returns the rows inserted.
   */
  async insertTickRunsAcrossTenants(rows: readonly TickRunRow[]): Promise<TickRun[]> {
    if (!rows.length) return [];
    const col = <K extends keyof TickRunRow>(key: K) => rows.map((r) => r[key]);
    // One statement whatever the batch size: the rows travel as one array per column.
    const inserted = await this.prisma.$queryRaw<
      { id: string; organizationId: string; scheduleId: string; tickAt: Date; status: RunStatus }[]
    >`
      INSERT INTO runs (id, organization_id, deployment_id, schedule_id, target, job_name, trigger,
                        status, status_reason, waiting_reason, commit_sha, tick_at, timeout_seconds,
                        finished_at)
      SELECT gen_random_uuid(), r.organization_id, r.deployment_id, r.schedule_id, r.target,
             r.job_name, 'schedule', r.status::"RunStatus", r.status_reason, r.waiting_reason,
             r.commit_sha, r.tick_at, r.timeout_seconds, r.finished_at
      FROM unnest(${col('organizationId')}::uuid[], ${col('deploymentId')}::uuid[],
                  ${col('scheduleId')}::uuid[], ${col('target')}::text[], ${col('jobName')}::text[],
                  ${col('status')}::text[], ${col('statusReason')}::text[],
                  ${col('waitingReason')}::text[], ${col('commitSha')}::text[],
                  ${col('tickAt')}::timestamptz[], ${col('timeoutSeconds')}::int[],
                  ${col('finishedAt')}::timestamptz[])
        AS r(organization_id, deployment_id, schedule_id, target, job_name, status, status_reason,
             waiting_reason, commit_sha, tick_at, timeout_seconds, finished_at)
      ON CONFLICT (schedule_id, tick_at) DO NOTHING
      RETURNING id, organization_id AS "organizationId", schedule_id AS "scheduleId",
                tick_at AS "tickAt", status`;
    return inserted.map(withOrgId);
  }

  /** Runs of these ticks still queued (recorded by an attempt that may have died before enqueueing them). */
  async queuedTickRunsAcrossTenants(
    ticks: readonly { scheduleId: string; tickAt: Date }[],
  ): Promise<TickRun[]> {
    if (!ticks.length) return [];
    const rows = await this.prisma.run.findMany({
      where: {
        status: 'queued',
        OR: ticks.map((t) => ({ scheduleId: t.scheduleId, tickAt: t.tickAt })),
      },
      select: { id: true, organizationId: true, scheduleId: true, tickAt: true, status: true },
    });
    return rows.map(withOrgId);
  }

  /** Moves each schedule's last accounted tick forward to its `tickAt` (never back), in one statement. */
  async advanceSchedulesAcrossTenants(
    ticks: readonly { scheduleId: string; tickAt: Date }[],
  ): Promise<void> {
    if (!ticks.length) return;
    await this.prisma.$executeRaw`
      UPDATE schedules s SET last_tick_at = t.tick_at, updated_at = now()
        FROM unnest(${ticks.map((t) => t.scheduleId)}::uuid[],
                    ${ticks.map((t) => t.tickAt)}::timestamptz[]) AS t(id, tick_at)
       WHERE s.id = t.id AND (s.last_tick_at IS NULL OR s.last_tick_at < t.tick_at)`;
  }

  // ---- runs: sweep (orphaned and stale runs), executor leftovers ------------------------------

  /** Runs holding a slot (starting or running) in every organization, with the worker that has them. */
  async inFlightRunsAcrossTenants(): Promise<
    { id: string; organizationId: OrgId; workerId: string | null }[]
  > {
    const rows = await this.prisma.run.findMany({
      where: { status: { in: ['starting', 'running'] } },
      select: { id: true, organizationId: true, workerId: true },
    });
    return rows.map(withOrgId);
  }

  /** Runs queued before `queuedBefore` and still queued (their queue job may be lost). */
  async staleQueuedRunsAcrossTenants(
    queuedBefore: Date,
    take: number,
  ): Promise<{ id: string; organizationId: OrgId }[]> {
    const rows = await this.prisma.run.findMany({
      where: { status: 'queued', queuedAt: { lt: queuedBefore } },
      select: { id: true, organizationId: true },
      take,
    });
    return rows.map(withOrgId);
  }

  /** Whether a run (of whichever organization) exists and has not ended: its executor leftovers stay. */
  async isRunUnfinishedAcrossTenants(runId: string): Promise<boolean> {
    const run = await this.prisma.run.findUnique({
      where: { id: runId },
      select: { status: true },
    });
    return run !== null && !isFinal(run.status);
  }

  /**
   * What checks a run-scoped state credential: the run's organization,
   * deployment, status and credential hash. The caller mints the `OrgId` only
   * once the presented token matched the hash.
   */
  runStateCredentialAcrossTenants(runId: string) {
    return this.prisma.run.findUnique({
      where: { id: runId },
      select: {
        id: true,
        organizationId: true,
        deploymentId: true,
        status: true,
        stateTokenHash: true,
      },
    });
  }

  // ---- maintenance: retention, expired sessions ----------------------------------------------

  /** Deletes log lines older than their organization's retention; returns how many. */
  deleteExpiredLogLinesAcrossTenants(now: Date): Promise<number> {
    // Each organization chooses its own retention, so the cutoff is computed per row's organization.
    return this.prisma.$executeRaw`
      DELETE FROM run_log_lines l
      USING organizations o
      WHERE l.organization_id = o.id
        AND l.timestamp < ${now}::timestamptz - make_interval(days => o.log_retention_days)`;
  }

  async deleteExpiredSessionsAcrossTenants(now: Date): Promise<number> {
    const { count } = await this.prisma.session.deleteMany({ where: { expiresAt: { lt: now } } });
    return count;
  }

  async deleteWebhookDeliveriesAcrossTenants(receivedBefore: Date): Promise<number> {
    const { count } = await this.prisma.githubWebhookDelivery.deleteMany({
      where: { receivedAt: { lt: receivedBefore } },
    });
    return count;
  }

  // ---- webhooks: which organizations a verified delivery concerns ------------------------------

  /**
   * The organization a GitHub App installation (GitHub's numeric id, unique
   * across tenants) is linked to, if any: for verified webhook deliveries and
   * the installation setup callback. Callers mint the `OrgId` from it
   * (`orgIdFromVerifiedWebhook`) once the delivery's signature was checked.
   */
  githubInstallationAcrossTenants(installationId: number) {
    return this.prisma.githubInstallation.findUnique({
      where: { installationId: BigInt(installationId) },
    });
  }
}

/** The row of a tick's run, as the batched insert takes it (RunFactory.tickRow builds it). */
export interface TickRunRow {
  organizationId: OrgId;
  deploymentId: string;
  scheduleId: string;
  target: string;
  jobName: string | null;
  status: 'queued' | 'skipped';
  statusReason: string | null;
  waitingReason: string | null;
  commitSha: string | null;
  tickAt: Date;
  timeoutSeconds: number;
  finishedAt: Date | null;
}

/** A schedule that fires on a timer, as a reconcile or a check for missed ticks reads it. */
export interface TimerSchedule {
  id: string;
  organizationId: OrgId;
  cron: string;
  timezone: string;
  lastTickAt: Date | null;
}

/** A run of a schedule tick, as the batched tick path needs it. */
export interface TickRun {
  id: string;
  organizationId: OrgId;
  scheduleId: string | null;
  tickAt: Date | null;
  status: RunStatus;
}

/** A row read across tenants, its organization id branded (it is by construction its tenant). */
function withOrgId<R extends { organizationId: string }>(
  row: R,
): Omit<R, 'organizationId'> & { organizationId: OrgId } {
  return { ...row, organizationId: orgIdOfRow(row) };
}
