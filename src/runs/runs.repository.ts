import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type {
  Deployment,
  Organization,
  Prisma,
  Project,
  Run,
  RunStatus,
  Schedule,
} from '../generated/prisma/client.js';
import { type Cursor, cursorTime } from '../common/pagination.js';
import { byRef } from '../common/refs.js';
import type { OrgId } from '../database/org-id.js';
import {
  DEPLOYMENT_FIELDS,
  ORGANIZATION_FIELDS,
  PROJECT_FIELDS,
  RUN_FIELDS,
  SCHEDULE_FIELDS,
  nestRow,
  selectList,
} from '../database/columns.js';
import { clientOf } from '../database/repository.js';
import type { Tx } from '../database/tx.js';
import type { PhaseDetail, RunOutcome, RunPhase } from './executors/executor.js';
import { FINAL_STATUSES } from './runs.schemas.js';

/** A run with what executing it needs: its deployment, project, organization and schedule. */
export type RunWithContext = Run & {
  deployment: Deployment & { project: Project; organization: Organization };
  schedule: Schedule | null;
};

export interface RunFilter {
  projectRef?: string | undefined;
  deploymentRefs?: string[] | undefined;
  schedule?: string | undefined;
  schedulePrefix?: string | undefined;
  scheduleContains?: string | undefined;
  statuses?: string[] | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
}

const RUN_VIEW_FIELDS = [
  'id',
  'deploymentId',
  'scheduleId',
  'target',
  'jobName',
  'trigger',
  'status',
  'statusReason',
  'waitingReason',
  'commitSha',
  'attempt',
  'retryOfId',
  'exitCode',
  'tickAt',
  'queuedAt',
  'admittedAt',
  'startedAt',
  'installStartedAt',
  'installFinishedAt',
  'pluginInstall',
  'pipelineStartedAt',
  'finishedAt',
  'timeoutSeconds',
  'triggeredById',
] as const satisfies readonly (keyof Run)[];

/** The columns of a run its API shape (`presentRun`) reads. */
export type RunView = Pick<Run, (typeof RUN_VIEW_FIELDS)[number]>;

/** A run in a list: its API columns and who started it (null when nobody did, or they are gone). */
export type RunListRow = RunView & {
  triggeredByLogin: string | null;
  triggeredByName: string | null;
};

const RUN_CONTEXT_RELATIONS = [
  'deployment',
  'deployment.project',
  'deployment.organization',
  'schedule',
];
const RUN_WITH_CONTEXT_COLUMNS = [
  selectList('r', RUN_FIELDS),
  selectList('d', DEPLOYMENT_FIELDS, 'deployment'),
  selectList('p', PROJECT_FIELDS, 'deployment.project'),
  selectList('o', ORGANIZATION_FIELDS, 'deployment.organization'),
  selectList('s', SCHEDULE_FIELDS, 'schedule'),
].join(', ');

const RUN_LIST_COLUMNS = selectList('r', RUN_VIEW_FIELDS);

/** `text` matched literally inside a LIKE pattern (backslash is PostgreSQL's default escape). */
const likeEscaped = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

export type NewRun = Omit<Prisma.RunUncheckedCreateInput, 'organizationId'>;

const FINAL: RunStatus[] = [...FINAL_STATUSES];
const IN_FLIGHT: RunStatus[] = ['starting', 'running'];

/** Runs of one organization: creation, reads, and every status change the API and the worker make. */
@Injectable()
export class RunsRepository {
  constructor(private readonly prisma: PrismaService) {}

  create(orgId: OrgId, data: NewRun, tx?: Tx): Promise<Run> {
    return clientOf(this.prisma, tx).run.create({ data: { ...data, organizationId: orgId } });
  }

  find(orgId: OrgId, runId: string): Promise<Run | null> {
    return this.prisma.run.findFirst({ where: { organizationId: orgId, id: runId } });
  }

  findByIdempotencyKey(orgId: OrgId, key: string): Promise<Run | null> {
    return this.prisma.run.findFirst({ where: { organizationId: orgId, idempotencyKey: key } });
  }

  findWithDeployment(
    orgId: OrgId,
    runId: string,
    tx?: Tx,
  ): Promise<(Run & { deployment: Deployment }) | null> {
    return clientOf(this.prisma, tx).run.findFirst({
      where: { organizationId: orgId, id: runId },
      include: { deployment: true },
    });
  }

  /** The automatic retry of a run lost to infrastructure (a `retry` run nobody triggered), if any. */
  automaticRetryOf(orgId: OrgId, runId: string): Promise<Run | null> {
    return this.prisma.run.findFirst({
      where: { organizationId: orgId, retryOfId: runId, trigger: 'retry', triggeredById: null },
    });
  }

  /**
   * The run with what executing it needs, in one statement on the driver (every run the worker
   * takes starts here; Prisma's include cost a query per relation and four times the CPU).
   */
  async findWithContext(orgId: OrgId, runId: string): Promise<RunWithContext | null> {
    const [row] = await this.prisma.readRows<Record<string, unknown>>(
      `SELECT ${RUN_WITH_CONTEXT_COLUMNS}
         FROM runs r
         JOIN deployments d ON d.id = r.deployment_id
         JOIN projects p ON p.id = d.project_id
         JOIN organizations o ON o.id = d.organization_id
         LEFT JOIN schedules s ON s.id = r.schedule_id
        WHERE r.organization_id = $1::uuid AND r.id = $2::uuid`,
      [orgId, runId],
    );
    return row ? nestRow<RunWithContext>(row, RUN_CONTEXT_RELATIONS) : null;
  }

  /**
   * A page of the organization's runs, newest first, with who started each (one statement:
   * the starter's login and name are joined, not looked up after). Keyset pagination on
   * `(queued_at, id)` by row comparison, which the `(organization_id, queued_at, id)` index
   * serves as a range: a deep page costs what the first one does. Only the columns a run's
   * API shape needs are read.
   */
  async list(
    orgId: OrgId,
    filter: RunFilter,
    take: number,
    cursor?: Cursor,
  ): Promise<RunListRow[]> {
    const values: unknown[] = [orgId];
    const param = (value: unknown): string => `$${values.push(value)}`;
    const where = [`r.organization_id = $1::uuid`];
    const deployment: string[] = [];
    if (filter.projectRef) {
      const ref = byRef(filter.projectRef);
      deployment.push(
        'id' in ref
          ? `d.project_id = ${param(ref.id)}::uuid`
          : `d.project_id IN (SELECT p.id FROM projects p WHERE p.organization_id = $1::uuid AND p.slug = ${param(ref.slug)})`,
      );
    }
    if (filter.deploymentRefs?.length) {
      const refs = filter.deploymentRefs.map((ref) => byRef(ref));
      const ids = refs.flatMap((r) => ('id' in r ? [r.id] : []));
      const slugs = refs.flatMap((r) => ('slug' in r ? [r.slug] : []));
      deployment.push(
        `(d.id = ANY(${param(ids)}::uuid[]) OR d.slug = ANY(${param(slugs)}::text[]))`,
      );
    }
    if (deployment.length) {
      where.push(
        `r.deployment_id IN (SELECT d.id FROM deployments d WHERE d.organization_id = $1::uuid AND ${deployment.join(' AND ')})`,
      );
    }
    if (filter.schedule) where.push(`r.target = ${param(filter.schedule)}`);
    if (filter.schedulePrefix)
      where.push(`r.target LIKE ${param(`${likeEscaped(filter.schedulePrefix)}%`)}`);
    if (filter.scheduleContains)
      where.push(`r.target LIKE ${param(`%${likeEscaped(filter.scheduleContains)}%`)}`);
    if (filter.statuses?.length)
      where.push(`r.status = ANY(${param(filter.statuses)}::"RunStatus"[])`);
    if (filter.since) where.push(`r.queued_at >= ${param(filter.since)}`);
    if (filter.until) where.push(`r.queued_at <= ${param(filter.until)}`);
    if (cursor) {
      where.push(
        `(r.queued_at, r.id) < (${param(cursorTime(cursor))}::timestamptz, ${param(cursor.id)}::uuid)`,
      );
    }
    return this.prisma.readRows<RunListRow>(
      `SELECT ${RUN_LIST_COLUMNS}, u.login AS "triggeredByLogin", u.name AS "triggeredByName"
         FROM runs r LEFT JOIN users u ON u.id = r.triggered_by_id
        WHERE ${where.join(' AND ')}
        ORDER BY r.queued_at DESC, r.id DESC
        LIMIT ${param(take)}`,
      values,
    );
  }

  /** Runs of a schedule not yet finished (queued, starting or running). */
  countUnfinishedOfSchedule(orgId: OrgId, scheduleId: string): Promise<number> {
    return this.prisma.run.count({
      where: {
        organizationId: orgId,
        scheduleId,
        status: { in: ['queued', 'starting', 'running'] },
      },
    });
  }

  // ---- cancel -----------------------------------------------------------------------------------

  /** A queued run has no process yet: it is cancelled outright. False when it had left the queue. */
  async cancelQueued(orgId: OrgId, runId: string, now: Date, tx?: Tx): Promise<boolean> {
    const { count } = await clientOf(this.prisma, tx).run.updateMany({
      where: { organizationId: orgId, id: runId, status: 'queued' },
      data: {
        status: 'cancelled',
        statusReason: 'cancelled before it started',
        finishedAt: now,
        cancelRequestedAt: now,
      },
    });
    return count > 0;
  }

  async requestCancel(orgId: OrgId, runId: string, now: Date, tx?: Tx): Promise<void> {
    await clientOf(this.prisma, tx).run.updateMany({
      where: { organizationId: orgId, id: runId },
      data: { cancelRequestedAt: now },
    });
  }

  /** True when a cancel was requested (or the run is gone). */
  async cancelWanted(orgId: OrgId, runId: string): Promise<boolean> {
    const run = await this.prisma.run.findFirst({
      where: { organizationId: orgId, id: runId },
      select: { cancelRequestedAt: true },
    });
    return run === null || run.cancelRequestedAt !== null;
  }

  // ---- admission --------------------------------------------------------------------------------

  /** One admission at a time per organization (until `tx` ends), so two workers cannot both take the last slot. */
  async lockAdmissions(orgId: OrgId, tx: Tx): Promise<void> {
    await clientOf(this.prisma, tx).$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${orgId}))`;
  }

  /**
   * Runs holding a concurrency slot (starting or running) in the organization and in one of its
   * deployments, counted by one statement (admission's one read of the limits).
   */
  async countInFlightBoth(
    orgId: OrgId,
    deploymentId: string,
    tx?: Tx,
  ): Promise<{ organization: number; deployment: number }> {
    const [row] = await clientOf(this.prisma, tx).$queryRaw<
      { organization: number; deployment: number }[]
    >`SELECT count(*)::int AS organization,
             count(*) FILTER (WHERE deployment_id = ${deploymentId}::uuid)::int AS deployment
      FROM runs WHERE organization_id = ${orgId}::uuid AND status IN ('starting', 'running')`;
    return row ?? { organization: 0, deployment: 0 };
  }

  async markWaiting(orgId: OrgId, runId: string, reason: string, tx?: Tx): Promise<void> {
    await clientOf(this.prisma, tx).run.updateMany({
      where: { organizationId: orgId, id: runId, status: 'queued' },
      data: { waitingReason: reason },
    });
  }

  /**
   * Takes a queued run for `by` (status `starting`); the run as it is now, or null when it left the
   * queue meanwhile. One statement (`UPDATE … RETURNING`): what the run was read with before the
   * admission lock is refreshed by it, so nothing read earlier (its timeout, say) is stale.
   */
  async markAdmitted(
    orgId: OrgId,
    runId: string,
    by: { workerId: string; executor: string },
    tx?: Tx,
  ): Promise<Run | null> {
    const [row] = await clientOf(this.prisma, tx).run.updateManyAndReturn({
      where: { organizationId: orgId, id: runId, status: 'queued' },
      data: {
        status: 'starting',
        admittedAt: new Date(),
        waitingReason: null,
        workerId: by.workerId,
        executor: by.executor,
      },
    });
    return row ?? null;
  }

  /** Queued runs waiting on a concurrency limit, oldest first. */
  waitingOnLimit(orgId: OrgId, take: number): Promise<Run[]> {
    return this.prisma.run.findMany({
      where: { organizationId: orgId, status: 'queued', waitingReason: { startsWith: 'waiting:' } },
      orderBy: { queuedAt: 'asc' },
      take,
    });
  }

  // ---- execution --------------------------------------------------------------------------------

  /** Takes over a starting/running run from `fromWorkerId`; false when someone else did first. */
  async claim(
    orgId: OrgId,
    runId: string,
    fromWorkerId: string | null,
    toWorkerId: string,
  ): Promise<boolean> {
    const { count } = await this.prisma.run.updateMany({
      where: {
        organizationId: orgId,
        id: runId,
        workerId: fromWorkerId,
        status: { in: IN_FLIGHT },
      },
      data: { workerId: toWorkerId },
    });
    return count > 0;
  }

  async setExecutorRef(orgId: OrgId, runId: string, executorRef: string): Promise<void> {
    await this.prisma.run.updateMany({
      where: { organizationId: orgId, id: runId },
      data: { executorRef },
    });
  }

  /**
   * A step of the run's timeline: the process was created, the install started
   * or ended (and how), the pipeline started (then the run is running).
   */
  async recordPhase(
    orgId: OrgId,
    runId: string,
    phase: RunPhase,
    at: Date,
    detail?: PhaseDetail,
  ): Promise<void> {
    const data = {
      process_created: { startedAt: at },
      install_started: { installStartedAt: at },
      install_finished: { installFinishedAt: at, pluginInstall: detail?.install ?? 'installed' },
      pipeline_started: { status: 'running' as const, pipelineStartedAt: at },
    }[phase];
    await this.prisma.run.updateMany({
      where: {
        organizationId: orgId,
        id: runId,
        status: { in: IN_FLIGHT },
        // Reported again once the install is known to be over (Kubernetes): the later one wins.
        ...(phase === 'pipeline_started'
          ? { OR: [{ pipelineStartedAt: null }, { pipelineStartedAt: { lt: at } }] }
          : {}),
      },
      data,
    });
  }

  /** Sets the final status, once: false when the run had already ended. */
  async finish(orgId: OrgId, runId: string, end: RunOutcome, tx?: Tx): Promise<boolean> {
    const { count } = await clientOf(this.prisma, tx).run.updateMany({
      where: { organizationId: orgId, id: runId, status: { notIn: FINAL } },
      data: {
        status: end.status,
        exitCode: end.exitCode,
        statusReason: end.reason,
        finishedAt: new Date(),
        waitingReason: null,
        // The run-scoped state credential expires with the run.
        stateTokenHash: null,
      },
    });
    return count > 0;
  }

  // ---- managed Meltano state ----------------------------------------------------------------------

  /** Stores the hash of the run's state credential (only while it has not ended). */
  async setStateTokenHash(orgId: OrgId, runId: string, hash: string): Promise<void> {
    await this.prisma.run.updateMany({
      where: { organizationId: orgId, id: runId, status: { notIn: FINAL } },
      data: { stateTokenHash: hash },
    });
  }

  /** Ends the run's state credential early (its state was collected). */
  async clearStateTokenHash(orgId: OrgId, runId: string): Promise<void> {
    await this.prisma.run.updateMany({
      where: { organizationId: orgId, id: runId },
      data: { stateTokenHash: null },
    });
  }

  /** Remembers state ids the run wrote (each once, in the order first written). */
  async addStateIds(orgId: OrgId, runId: string, stateIds: string[], tx?: Tx): Promise<void> {
    if (stateIds.length === 0) return;
    const client = clientOf(this.prisma, tx);
    const run = await client.run.findFirst({
      where: { organizationId: orgId, id: runId },
      select: { stateIds: true },
    });
    if (!run) return;
    const merged = [...new Set([...run.stateIds, ...stateIds])];
    if (merged.length === run.stateIds.length) return;
    await client.run.updateMany({
      where: { organizationId: orgId, id: runId },
      data: { stateIds: merged },
    });
  }

  /** The deployment's runs holding a slot (starting or running), with what tells their state ids. */
  inFlightOfDeployment(
    orgId: OrgId,
    deploymentId: string,
    tx?: Tx,
  ): Promise<(Run & { schedule: Schedule | null })[]> {
    return clientOf(this.prisma, tx).run.findMany({
      where: { organizationId: orgId, deploymentId, status: { in: IN_FLIGHT } },
      include: { schedule: true },
    });
  }

  /** State ids written by the latest runs of a deployment that wrote any (newest first). */
  recentStateWriters(
    orgId: OrgId,
    deploymentId: string,
    take: number,
    tx?: Tx,
  ): Promise<(Run & { schedule: Schedule | null })[]> {
    return clientOf(this.prisma, tx).run.findMany({
      where: { organizationId: orgId, deploymentId, NOT: { stateIds: { isEmpty: true } } },
      include: { schedule: true },
      orderBy: { queuedAt: 'desc' },
      take,
    });
  }

  /**
   * The run's repository is no longer reachable with the access the project
   * had (the GitHub App lost it): the project says so until access is back.
   */
  async markRepositoryAccessLost(orgId: OrgId, projectId: string): Promise<void> {
    await this.prisma.project.updateMany({
      where: { organizationId: orgId, id: projectId },
      data: { repositoryAccess: 'lost' },
    });
  }
}
