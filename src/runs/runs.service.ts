import { isUniqueViolation } from '../common/db-errors.js';
import { HttpStatus, Injectable } from '@nestjs/common';
import type { Run, RunLogLine, Schedule } from '../generated/prisma/client.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { RequestOrigin } from '../auth/actor.js';
import { manualTrigger } from './run-trigger.js';
import { ProblemException, conflict, notFound } from '../common/problem.js';
import type { Cursor } from '../common/pagination.js';
import type { OrgId } from '../database/org-id.js';
import { Transactions } from '../database/transactions.js';
import type { Tx } from '../database/tx.js';
import type { OrgScope } from '../organizations/org-access.js';
import { DeploymentsService } from '../deployments/deployments.service.js';
import { ScheduleTimersRepository } from '../schedules/schedule-timers.repository.js';
import { RunFactory } from './run-factory.js';
import { RunLogsRepository } from './run-logs.repository.js';
import { RunQueue } from './run-queue.js';
import { RunSignals } from './run-signals.js';
import { RunsRepository, type RunFilter, type RunListRow } from './runs.repository.js';
import { isFinal } from './runs.schemas.js';
import { BillingGate } from '../billing/billing-gate.js';
import { objectOf } from '../meltano/ordered-entries.js';

export type { RunFilter } from './runs.repository.js';

/** Creating, reading and cancelling runs; execution happens in the worker (RunSupervisor). */
@Injectable()
export class RunsService {
  constructor(
    private readonly runs: RunsRepository,
    private readonly logs: RunLogsRepository,
    private readonly schedules: ScheduleTimersRepository,
    private readonly factory: RunFactory,
    private readonly queue: RunQueue,
    private readonly transactions: Transactions,
    private readonly deployments: DeploymentsService,
    private readonly audit: AuditRepository,
    private readonly signals: RunSignals,
    private readonly billingGate: BillingGate,
  ) {}

  async createManual(
    scope: OrgScope,
    origin: RequestOrigin,
    projectRef: string,
    deploymentRef: string,
    input: { schedule?: string | undefined; job?: string | undefined },
    idempotencyKey: string | undefined,
  ): Promise<{ run: Run; created: boolean }> {
    const { orgId } = scope;
    if (idempotencyKey) {
      const existing = await this.runs.findByIdempotencyKey(orgId, idempotencyKey);
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
      schedule = await this.schedules.findActiveByName(orgId, deployment.id, input.schedule);
      if (!schedule) throw notFound(`Schedule "${input.schedule}"`);
      if (schedule.invalidReason)
        throw conflict(`Schedule "${schedule.name}" cannot run: ${schedule.invalidReason}`);
      jobName = schedule.job;
    } else if (input.job !== undefined) {
      const jobs = objectOf(deployment.meltanoJobs);
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
      const run = await this.transactions.run(async (tx) => {
        const row = await this.factory.manual(
          orgId,
          {
            deployment,
            organization: scope.organization,
            schedule,
            jobName,
            trigger: manualTrigger(scope.actor, origin),
            triggeredById: scope.actor.user.id,
            idempotencyKey: idempotencyKey ?? null,
          },
          tx,
        );
        await this.recordAudit(scope, origin, 'run.start', row, tx, {
          target: row.target,
          deployment: deployment.slug,
        });
        return row;
      });
      await this.queue.enqueue(orgId, run.id);
      return { run, created: true };
    } catch (err) {
      // Two requests with the same Idempotency-Key raced: the other one won, answer with its run.
      if (idempotencyKey && isUniqueViolation(err)) {
        const existing = await this.runs.findByIdempotencyKey(orgId, idempotencyKey);
        if (existing) return { run: existing, created: false };
      }
      throw err;
    }
  }

  async retry(scope: OrgScope, origin: RequestOrigin, runId: string): Promise<Run> {
    const { orgId } = scope;
    const previous = await this.runs.findWithDeployment(orgId, runId);
    if (!previous) throw notFound('Run');
    if (!isFinal(previous.status)) {
      throw conflict('Only finished runs can be retried.');
    }
    const run = await this.transactions.run(async (tx) => {
      const row = await this.factory.retry(
        orgId,
        previous,
        scope.organization,
        scope.actor.user.id,
        tx,
      );
      await this.recordAudit(scope, origin, 'run.retry', row, tx, { retry_of: previous.id });
      return row;
    });
    await this.queue.enqueue(orgId, run.id);
    return run;
  }

  async get(orgId: OrgId, runId: string): Promise<Run> {
    const run = await this.runs.find(orgId, runId);
    if (!run) throw notFound('Run');
    return run;
  }

  list(orgId: OrgId, filter: RunFilter, take: number, cursor?: Cursor): Promise<RunListRow[]> {
    return this.runs.list(orgId, filter, take, cursor);
  }

  /** Works in every non-final state; always stops the actual process or Job (through the worker running it). */
  async cancel(scope: OrgScope, origin: RequestOrigin, runId: string): Promise<Run> {
    const { orgId } = scope;
    const run = await this.get(orgId, runId);
    if (isFinal(run.status)) {
      throw conflict(`The run already ended (${run.status}).`);
    }
    const now = new Date();
    const cancelledWhileQueued = await this.transactions.run(async (tx) => {
      // A queued run has no process yet: cancel it outright (the worker skips it if it picks it up).
      const cancelled = await this.runs.cancelQueued(orgId, run.id, now, tx);
      if (!cancelled) await this.runs.requestCancel(orgId, run.id, now, tx);
      await this.recordAudit(scope, origin, 'run.cancel', run, tx, { status: run.status });
      return cancelled;
    });
    if (!cancelledWhileQueued) await this.signals.requestCancel(run.id);
    return this.get(orgId, run.id);
  }

  logLines(orgId: OrgId, runId: string, afterSeq: number, limit: number): Promise<RunLogLine[]> {
    return this.logs.lines(orgId, runId, afterSeq, limit);
  }

  private recordAudit(
    scope: OrgScope,
    origin: RequestOrigin,
    action: 'run.start' | 'run.retry' | 'run.cancel',
    run: Run,
    tx: Tx,
    details: Record<string, string>,
  ): Promise<void> {
    return this.audit.recordAs(
      scope,
      origin,
      { action, resourceType: 'run', resourceId: run.id, details },
      tx,
    );
  }
}
