import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import { orgIdOfRow, type OrgId } from '../database/org-id.js';
import { clientOf } from '../database/repository.js';
import type { Tx } from '../database/tx.js';
import { Prisma, type Run, type UsageLedgerEntry } from '../generated/prisma/client.js';
import { cachedRunsPerDay } from '../schedules/runs-per-day.js';
import { pastCursor, type Cursor } from '../common/pagination.js';
import { billedSecondsOf, billingPeriodOf, priceRun } from './pricing.js';

export type UsageGroup = 'project' | 'deployment' | 'schedule' | 'day';

export interface UsageTotal {
  key: string;
  label: string;
  creditsTenths: number;
  runs: number;
}

/**
 * The usage ledger (issue 11): one row per finished run, priced by the plan
 * table, written in the transaction that records the run's final status.
 * Every total users see is read from here, so they hold while Stripe is down.
 */
@Injectable()
export class UsageLedgerRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Prices a run that just reached its final status and writes its ledger row
   * (at most one per run: a second call is a no-op). Reads the run inside `tx`
   * so the timestamps are the ones being committed.
   */
  async recordForRun(orgId: OrgId, run: Pick<Run, 'id'>, tx: Tx): Promise<UsageLedgerEntry | null> {
    const db = clientOf(this.prisma, tx);
    const row = await db.run.findFirst({
      where: { organizationId: orgId, id: run.id },
      include: {
        deployment: { select: { projectId: true } },
        schedule: { select: { cron: true, timezone: true } },
        organization: { select: { plan: true } },
      },
    });
    if (!row || !row.finishedAt) return null;
    const rate =
      row.trigger === 'schedule' && row.schedule?.cron
        ? cachedRunsPerDay(row.schedule.cron, row.schedule.timezone, row.tickAt ?? row.queuedAt)
        : null;
    const billedSeconds = billedSecondsOf(row);
    const price = priceRun({
      trigger: row.trigger,
      status: row.status,
      runsPerDay: rate,
      billedSeconds,
      pipelineStarted: row.pipelineStartedAt !== null,
    });
    const data: Prisma.UsageLedgerEntryUncheckedCreateInput = {
      organizationId: orgId,
      runId: row.id,
      projectId: row.deployment.projectId,
      deploymentId: row.deploymentId,
      scheduleId: row.scheduleId,
      target: row.target,
      period: billingPeriodOf(row.finishedAt),
      creditsTenths: price.creditsTenths,
      trigger: row.trigger,
      status: row.status,
      runsPerDay: rate,
      frequent: price.frequent,
      billedSeconds,
      plan: row.organization.plan,
      finishedAt: row.finishedAt,
    };
    await db.usageLedgerEntry.createMany({ data: [data], skipDuplicates: true });
    return db.usageLedgerEntry.findUnique({ where: { runId: row.id } });
  }

  async forRun(orgId: OrgId, runId: string): Promise<UsageLedgerEntry | null> {
    return this.prisma.usageLedgerEntry.findFirst({ where: { organizationId: orgId, runId } });
  }

  /** Credits used in a period (tenths). */
  async periodTotal(orgId: OrgId, period: string, tx?: Tx): Promise<number> {
    const agg = await clientOf(this.prisma, tx).usageLedgerEntry.aggregate({
      where: { organizationId: orgId, period },
      _sum: { creditsTenths: true },
    });
    return agg._sum.creditsTenths ?? 0;
  }

  /** Totals of a period grouped by project, deployment, schedule or UTC day, largest first, with a label. */
  async totals(orgId: OrgId, period: string, by: UsageGroup): Promise<UsageTotal[]> {
    const [key, label] = {
      project: [Prisma.sql`u.project_id::text`, Prisma.sql`COALESCE(MIN(p.name), '(deleted)')`],
      deployment: [
        Prisma.sql`u.deployment_id::text`,
        Prisma.sql`COALESCE(MIN(p.name) || ' / ' || MIN(d.name), '(deleted)')`,
      ],
      schedule: [
        Prisma.sql`u.deployment_id::text || ':' || u.target`,
        Prisma.sql`COALESCE(MIN(d.name), '(deleted)') || ' / ' || MIN(u.target)`,
      ],
      day: [
        Prisma.sql`to_char(u.finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
        Prisma.sql`to_char(MIN(u.finished_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')`,
      ],
    }[by];
    const rows = await this.prisma.$queryRaw<
      { key: string; label: string; tenths: bigint; runs: bigint }[]
    >`
      SELECT ${key} AS key, ${label} AS label,
        SUM(u.credits_tenths)::bigint AS tenths, COUNT(*)::bigint AS runs
      FROM usage_ledger u
      LEFT JOIN projects p ON p.id = u.project_id AND p.organization_id = u.organization_id
      LEFT JOIN deployments d ON d.id = u.deployment_id AND d.organization_id = u.organization_id
      WHERE u.organization_id = ${orgId}::uuid AND u.period = ${period}
      GROUP BY 1 ORDER BY 3 DESC, 1 ASC`;
    return rows.map((r) => ({
      key: r.key,
      label: r.label,
      creditsTenths: Number(r.tenths),
      runs: Number(r.runs),
    }));
  }

  /** A page of a period's rows, newest first (keyset on finished_at, id). */
  async list(
    orgId: OrgId,
    filter: { period?: string | undefined; projectId?: string; deploymentId?: string },
    take: number,
    cursor?: Cursor,
  ): Promise<UsageLedgerEntry[]> {
    return this.prisma.usageLedgerEntry.findMany({
      where: {
        organizationId: orgId,
        ...(filter.period ? { period: filter.period } : {}),
        ...(filter.projectId ? { projectId: filter.projectId } : {}),
        ...(filter.deploymentId ? { deploymentId: filter.deploymentId } : {}),
        ...(cursor ? { AND: [pastCursor('finishedAt', cursor, 'desc', true)] } : {}),
      },
      orderBy: [{ finishedAt: 'desc' }, { id: 'desc' }],
      take,
    });
  }

  // ---- the Stripe reporter (cross-tenant by design: it drains every organization's rows) -------

  /**
   * Rows with credits on the paid plan that Stripe has not accepted yet, for
   * organizations with a Stripe customer, oldest first (free-plan usage is
   * never billed).
   */
  async unreportedAcrossTenants(
    limit: number,
  ): Promise<(UsageLedgerEntry & { orgId: OrgId; stripeCustomerId: string })[]> {
    const rows = await this.prisma.usageLedgerEntry.findMany({
      where: {
        reportedAt: null,
        creditsTenths: { gt: 0 },
        plan: 'usage',
        organization: { stripeCustomerId: { not: null } },
      },
      include: { organization: { select: { stripeCustomerId: true } } },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take: limit,
    });
    return rows.map(({ organization, ...row }) => ({
      ...row,
      orgId: orgIdOfRow(row),
      stripeCustomerId: organization.stripeCustomerId ?? '',
    }));
  }

  /** Before sending: counts the attempt and remembers the first one (Stripe's dedupe window starts there). */
  async markAttempt(orgId: OrgId, id: string, now = new Date()): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE usage_ledger SET report_attempts = report_attempts + 1,
        first_report_at = COALESCE(first_report_at, ${now})
      WHERE organization_id = ${orgId}::uuid AND id = ${id}::uuid`;
  }

  /** Stripe accepted the meter event: the row is never sent again. */
  async markReported(orgId: OrgId, id: string, identifier: string, now = new Date()) {
    await this.prisma.usageLedgerEntry.updateMany({
      where: { organizationId: orgId, id, reportedAt: null },
      data: { reportedAt: now, stripeIdentifier: identifier, lastReportError: null },
    });
  }

  async markFailed(orgId: OrgId, id: string, error: string): Promise<void> {
    await this.prisma.usageLedgerEntry.updateMany({
      where: { organizationId: orgId, id },
      data: { lastReportError: error.slice(0, 500) },
    });
  }

  /** How many rows with credits are still waiting for Stripe, across tenants (the reconciliation's figure). */
  async countUnreportedAcrossTenants(): Promise<number> {
    return this.prisma.usageLedgerEntry.count({
      where: {
        reportedAt: null,
        creditsTenths: { gt: 0 },
        plan: 'usage',
        organization: { stripeCustomerId: { not: null } },
      },
    });
  }
}
