import { Injectable } from '@nestjs/common';
import type { TickRunRow } from '../database/system.repository.js';
import type {
  Deployment,
  Organization,
  Run,
  RunTrigger,
  Schedule,
} from '../generated/prisma/client.js';
import type { OrgId } from '../database/org-id.js';
import type { Tx } from '../database/tx.js';
import type { ScheduleWithContext } from '../schedules/schedule-timers.repository.js';
import { RunsRepository, type NewRun } from './runs.repository.js';

/** The timeout a run gets: the deployment's, capped by the organization's maximum. */
export function timeoutFor(deployment: Deployment, org: Organization): number {
  return Math.min(deployment.runTimeoutSeconds, org.maxRunTimeoutSeconds);
}

export interface ManualRun {
  deployment: Deployment;
  organization: Organization;
  /** The schedule run now, or null for a job (`jobName`). */
  schedule: Schedule | null;
  jobName: string | null;
  trigger: Extract<RunTrigger, 'manual' | 'api' | 'cli'>;
  triggeredById: string;
  idempotencyKey: string | null;
}

/**
 * Every run is created here, whatever started it: a user or token (manual),
 * a retry of a finished run, a schedule's tick, or a tick that was skipped
 * (recorded as a run that never ran). The caller enqueues runs to execute
 * (RunQueue).
 */
@Injectable()
export class RunFactory {
  constructor(private readonly runs: RunsRepository) {}

  manual(orgId: OrgId, input: ManualRun, tx?: Tx): Promise<Run> {
    const { deployment, schedule } = input;
    return this.runs.create(
      orgId,
      {
        deploymentId: deployment.id,
        scheduleId: schedule?.id ?? null,
        target: schedule?.name ?? input.jobName ?? '',
        jobName: input.jobName,
        trigger: input.trigger,
        commitSha: deployment.deployedCommitSha,
        timeoutSeconds: timeoutFor(deployment, input.organization),
        idempotencyKey: input.idempotencyKey,
        triggeredById: input.triggeredById,
      },
      tx,
    );
  }

  /** The same target again, at the deployment's current commit. */
  retry(
    orgId: OrgId,
    previous: Run & { deployment: Deployment },
    organization: Organization,
    triggeredById: string,
    tx?: Tx,
  ): Promise<Run> {
    return this.runs.create(
      orgId,
      {
        deploymentId: previous.deploymentId,
        scheduleId: previous.scheduleId,
        target: previous.target,
        jobName: previous.jobName,
        trigger: 'retry',
        attempt: previous.attempt + 1,
        retryOfId: previous.id,
        commitSha: previous.deployment.deployedCommitSha,
        timeoutSeconds: timeoutFor(previous.deployment, organization),
        triggeredById,
      },
      tx,
    );
  }

  /**
   * The automatic retry of a run lost to infrastructure before its pipeline started (see
   * `wantsInfraRetry`): the same target at the same commit, linked to the original, triggered
   * by nobody.
   */
  infraRetry(orgId: OrgId, lost: Run, tx?: Tx): Promise<Run> {
    return this.runs.create(
      orgId,
      {
        deploymentId: lost.deploymentId,
        scheduleId: lost.scheduleId,
        target: lost.target,
        jobName: lost.jobName,
        trigger: 'retry',
        attempt: lost.attempt + 1,
        retryOfId: lost.id,
        commitSha: lost.commitSha,
        timeoutSeconds: lost.timeoutSeconds,
        triggeredById: null,
      },
      tx,
    );
  }

  /** The run of a schedule's tick; unique per (schedule, tick), so a tick handled twice throws a unique violation. */
  tick(
    orgId: OrgId,
    schedule: ScheduleWithContext,
    tickAt: Date,
    waitingReason: string | null,
  ): Promise<Run> {
    return this.runs.create(orgId, { ...this.ofTick(schedule, tickAt), waitingReason });
  }

  /** A tick that did not run (missed, or the previous run still going), recorded as a finished run. */
  skipped(orgId: OrgId, schedule: ScheduleWithContext, tickAt: Date, reason: string): Promise<Run> {
    return this.runs.create(orgId, {
      ...this.ofTick(schedule, tickAt),
      status: 'skipped',
      statusReason: reason,
      finishedAt: new Date(),
    });
  }

  /**
   * The row of a tick's run, for the scheduler's batched insert (one multi-row insert for the
   * ticks that fell due together): queued, or skipped with `skippedReason`.
   */
  tickRow(
    schedule: ScheduleWithContext & { organizationId: OrgId },
    tickAt: Date,
    outcome: { waitingReason: string | null } | { skippedReason: string },
  ): TickRunRow {
    const { deployment } = schedule;
    const skipped = 'skippedReason' in outcome;
    return {
      organizationId: schedule.organizationId,
      deploymentId: schedule.deploymentId,
      scheduleId: schedule.id,
      target: schedule.name,
      jobName: schedule.job,
      status: skipped ? 'skipped' : 'queued',
      statusReason: skipped ? outcome.skippedReason : null,
      waitingReason: skipped ? null : outcome.waitingReason,
      commitSha: deployment.deployedCommitSha,
      tickAt,
      timeoutSeconds: timeoutFor(deployment, deployment.organization),
      finishedAt: skipped ? new Date() : null,
    };
  }

  private ofTick(schedule: ScheduleWithContext, tickAt: Date): NewRun {
    const { deployment } = schedule;
    return {
      deploymentId: schedule.deploymentId,
      scheduleId: schedule.id,
      target: schedule.name,
      jobName: schedule.job,
      trigger: 'schedule',
      tickAt,
      commitSha: deployment.deployedCommitSha,
      timeoutSeconds: timeoutFor(deployment, deployment.organization),
    };
  }
}
