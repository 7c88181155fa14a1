import { Injectable } from '@nestjs/common';
import type { OrganizationDataKey } from '../generated/prisma/client.js';
import { orgIdOfRow, type OrgId } from './org-id.js';
import { PrismaService } from './prisma.service.js';
import { isFinal } from '../runs/runs.schemas.js';
import {
  scheduleContext,
  type ScheduleWithContext,
} from '../schedules/schedule-timers.repository.js';

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

  /** Enabled, valid schedules on a cron, in every organization (catch-up of missed ticks). */
  async timedSchedulesAcrossTenants(): Promise<
    (ScheduleWithContext & { organizationId: OrgId })[]
  > {
    const rows = await this.prisma.schedule.findMany({
      where: { enabled: true, archivedAt: null, invalidReason: null, cron: { not: null } },
      include: scheduleContext,
    });
    return rows.map(withOrgId);
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

/** A row read across tenants, its organization id branded (it is by construction its tenant). */
function withOrgId<R extends { organizationId: string }>(
  row: R,
): Omit<R, 'organizationId'> & { organizationId: OrgId } {
  return { ...row, organizationId: orgIdOfRow(row) };
}
