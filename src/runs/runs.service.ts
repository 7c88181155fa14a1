import { isUniqueViolation } from '../common/db-errors.js';
import { byRef } from '../common/refs.js';
import { HttpStatus, Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import {
  Prisma,
  type Deployment,
  type Organization,
  type Run,
  type RunTrigger,
  type Schedule,
} from '../generated/prisma/client.js';
import { AuditService } from '../audit/audit.service.js';
import type { RequestOrigin } from '../auth/actor.js';
import { ProblemException, conflict, notFound } from '../common/problem.js';
import { type Cursor, pastCursor } from '../common/pagination.js';
import { QueueService } from '../queue/queue.service.js';
import type { OrgScope } from '../organizations/org-access.js';
import { DeploymentsService } from '../deployments/deployments.service.js';
import { RunSignals } from './run-signals.js';
import { isFinal } from './runs.schemas.js';
import { BillingGate } from '../billing/billing-gate.js';

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

/** Creating, reading and cancelling runs; execution happens in the worker (RunExecutor). */
@Injectable()
export class RunsService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly queues: QueueService,
    private readonly deployments: DeploymentsService,
    private readonly audit: AuditService,
    private readonly signals: RunSignals,
    private readonly billingGate: BillingGate,
  ) {}

  /** The timeout a run gets: the deployment's, capped by the organization's maximum. */
  static timeoutFor(deployment: Deployment, org: Organization): number {
    return Math.min(deployment.runTimeoutSeconds, org.maxRunTimeoutSeconds);
  }

  async enqueue(run: Pick<Run, 'id' | 'organizationId'>, delayMs = 0): Promise<void> {
    await this.queues.enqueue(
      'run.execute',
      { organizationId: run.organizationId, runId: run.id },
      { delayMs },
    );
  }

  async createManual(
    scope: OrgScope,
    origin: RequestOrigin,
    projectRef: string,
    deploymentRef: string,
    input: { schedule?: string | undefined; job?: string | undefined },
    idempotencyKey: string | undefined,
  ): Promise<{ run: Run; created: boolean }> {
    const orgId = scope.organization.id;
    if (idempotencyKey) {
      const existing = await this.prisma.run.findFirst({
        where: { organizationId: orgId, idempotencyKey },
      });
      if (existing) return { run: existing, created: false };
    }
    const { deployment } = await this.deployments.get(orgId, projectRef, deploymentRef);
    await this.billingGate.assertMayRun(scope.orgId); // billing (issue 11): 402 past a billing limit
    if (!deployment.deployedCommitSha) {
      throw conflict(
        'This deployment has not deployed yet: wait for its first deploy to succeed (or fix it).',
      );
    }
    let schedule: Schedule | null = null;
    let jobName: string | null = null;
    if (input.schedule !== undefined) {
      schedule = await this.prisma.schedule.findFirst({
        where: {
          organizationId: orgId,
          deploymentId: deployment.id,
          name: input.schedule,
          archivedAt: null,
        },
      });
      if (!schedule) throw notFound(`Schedule "${input.schedule}"`);
      if (schedule.invalidReason)
        throw conflict(`Schedule "${schedule.name}" cannot run: ${schedule.invalidReason}`);
      jobName = schedule.job;
    } else if (input.job !== undefined) {
      const jobs = (deployment.meltanoJobs ?? {}) as Record<string, unknown>;
      if (!Object.hasOwn(jobs, input.job)) {
        throw new ProblemException(
          HttpStatus.NOT_FOUND,
          'not-found',
          `Job "${input.job}" is not defined in meltano.yml (known: ${Object.keys(jobs).join(', ') || 'none'})`,
          [{ field: 'body.job', message: 'not a job of this deployment' }],
        );
      }
      jobName = input.job;
    }
    try {
      const run = await this.prisma.$transaction(async (tx) => {
        const row = await tx.run.create({
          data: {
            organizationId: orgId,
            deploymentId: deployment.id,
            scheduleId: schedule?.id ?? null,
            target: schedule?.name ?? jobName ?? '',
            jobName,
            trigger: (scope.actor.via === 'token' ? 'api' : 'manual') satisfies RunTrigger,
            commitSha: deployment.deployedCommitSha,
            timeoutSeconds: RunsService.timeoutFor(deployment, scope.organization),
            idempotencyKey: idempotencyKey ?? null,
            triggeredById: scope.actor.user.id,
          },
        });
        await this.audit.record(
          orgId,
          scope.actor,
          origin,
          {
            action: 'run.start',
            resourceType: 'run',
            resourceId: row.id,
            details: { target: row.target, deployment: deployment.slug },
          },
          tx,
        );
        return row;
      });
      await this.enqueue(run);
      return { run, created: true };
    } catch (err) {
      // Two requests with the same Idempotency-Key raced: the other one won, answer with its run.
      if (idempotencyKey && isUniqueViolation(err)) {
        const existing = await this.prisma.run.findFirst({
          where: { organizationId: orgId, idempotencyKey },
        });
        if (existing) return { run: existing, created: false };
      }
      throw err;
    }
  }

  async retry(scope: OrgScope, origin: RequestOrigin, runId: string): Promise<Run> {
    const previous = await this.get(scope.organization.id, runId);
    if (!isFinal(previous.status)) {
      throw conflict('Only finished runs can be retried.');
    }
    const deployment = await this.prisma.deployment.findFirstOrThrow({
      where: { organizationId: scope.organization.id, id: previous.deploymentId },
    });
    const run = await this.prisma.run.create({
      data: {
        organizationId: previous.organizationId,
        deploymentId: previous.deploymentId,
        scheduleId: previous.scheduleId,
        target: previous.target,
        jobName: previous.jobName,
        trigger: 'retry',
        attempt: previous.attempt + 1,
        retryOfId: previous.id,
        commitSha: deployment.deployedCommitSha,
        timeoutSeconds: RunsService.timeoutFor(deployment, scope.organization),
        triggeredById: scope.actor.user.id,
      },
    });
    await this.audit.record(scope.organization.id, scope.actor, origin, {
      action: 'run.retry',
      resourceType: 'run',
      resourceId: run.id,
      details: { retry_of: previous.id },
    });
    await this.enqueue(run);
    return run;
  }

  async get(organizationId: string, runId: string): Promise<Run> {
    const run = await this.prisma.run.findFirst({ where: { organizationId, id: runId } });
    if (!run) throw notFound('Run');
    return run;
  }

  async list(
    organizationId: string,
    filter: RunFilter,
    take: number,
    cursor?: Cursor,
  ): Promise<Run[]> {
    const where: Prisma.RunWhereInput = { organizationId };
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

  /** Works in every non-final state; always stops the actual process or Job (through the worker running it). */
  async cancel(scope: OrgScope, origin: RequestOrigin, runId: string): Promise<Run> {
    const run = await this.get(scope.organization.id, runId);
    if (isFinal(run.status)) {
      throw conflict(`The run already ended (${run.status}).`);
    }
    const now = new Date();
    // A queued run has no process yet: cancel it outright (the worker skips it if it picks it up).
    const cancelledWhileQueued = await this.prisma.run.updateMany({
      where: { id: run.id, status: 'queued' },
      data: {
        status: 'cancelled',
        statusReason: 'cancelled before it started',
        finishedAt: now,
        cancelRequestedAt: now,
      },
    });
    if (!cancelledWhileQueued.count) {
      await this.prisma.run.update({ where: { id: run.id }, data: { cancelRequestedAt: now } });
      await this.signals.requestCancel(run.id);
    }
    await this.audit.record(scope.organization.id, scope.actor, origin, {
      action: 'run.cancel',
      resourceType: 'run',
      resourceId: run.id,
      details: { status: run.status },
    });
    return this.get(scope.organization.id, run.id);
  }

  logLines(organizationId: string, runId: string, afterSeq: number, limit: number) {
    return this.prisma.runLogLine.findMany({
      where: { organizationId, runId, seq: { gt: afterSeq } },
      orderBy: { seq: 'asc' },
      take: limit,
    });
  }
}
