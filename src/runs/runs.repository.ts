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
import { type Cursor, pastCursor } from '../common/pagination.js';
import { byRef } from '../common/refs.js';
import type { OrgId } from '../database/org-id.js';
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

  findWithContext(orgId: OrgId, runId: string): Promise<RunWithContext | null> {
    return this.prisma.run.findFirst({
      where: { organizationId: orgId, id: runId },
      include: { deployment: { include: { project: true, organization: true } }, schedule: true },
    });
  }

  list(orgId: OrgId, filter: RunFilter, take: number, cursor?: Cursor): Promise<Run[]> {
    const where: Prisma.RunWhereInput = { organizationId: orgId };
    const deployment: Prisma.DeploymentWhereInput = {};
    if (filter.projectRef) deployment.project = byRef(filter.projectRef);
    if (filter.deploymentRefs?.length)
      deployment.OR = filter.deploymentRefs.map((ref) => byRef(ref));
    if (Object.keys(deployment).length) where.deployment = deployment;
    const target: Prisma.StringFilter = {};
    if (filter.schedule) target.equals = filter.schedule;
    if (filter.schedulePrefix) target.startsWith = filter.schedulePrefix;
    if (filter.scheduleContains) target.contains = filter.scheduleContains;
    if (Object.keys(target).length) where.target = target;
    if (filter.statuses?.length) where.status = { in: filter.statuses as Run['status'][] };
    if (filter.since || filter.until) {
      where.queuedAt = {
        ...(filter.since ? { gte: filter.since } : {}),
        ...(filter.until ? { lte: filter.until } : {}),
      };
    }
    if (cursor) where.AND = [pastCursor('queuedAt', cursor, 'desc', true)];
    return this.prisma.run.findMany({
      where,
      orderBy: [{ queuedAt: 'desc' }, { id: 'desc' }],
      take,
    });
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
   * Queued → starting, on this worker: what changed on the run (so it need not be read again), or
   * null when another worker took it first.
   */
  async markAdmitted(
    orgId: OrgId,
    runId: string,
    by: { workerId: string; executor: string },
    tx?: Tx,
  ): Promise<Pick<
    Run,
    'status' | 'admittedAt' | 'waitingReason' | 'workerId' | 'executor'
  > | null> {
    const data = {
      status: 'starting' as const,
      admittedAt: new Date(),
      waitingReason: null,
      workerId: by.workerId,
      executor: by.executor,
    };
    const { count } = await clientOf(this.prisma, tx).run.updateMany({
      where: { organizationId: orgId, id: runId, status: 'queued' },
      data,
    });
    return count > 0 ? data : null;
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
