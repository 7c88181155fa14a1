import { Injectable } from '@nestjs/common';
import type { OrgId } from '../database/org-id.js';
import { Transactions } from '../database/transactions.js';
import type { Tx } from '../database/tx.js';
import type { Run, Schedule } from '../generated/prisma/client.js';
import { RunQueue } from './run-queue.js';
import { RunsRepository, type RunWithContext } from './runs.repository.js';

export type Admission = 'admitted' | 'wait' | 'taken';

/** An admission's outcome; when admitted, the run as it now is (no need to read it again). */
export type AdmissionResult =
  { outcome: 'admitted'; run: RunWithContext } | { outcome: 'wait' } | { outcome: 'taken' };

/** How many runs waiting on a limit a freed slot wakes. */
const WAKE_ON_FREED_SLOT = 5;
/** How many recent state-writing runs teach which ids a target writes. */
const LEARN_FROM_RUNS = 50;

type RunWithSchedule = Run & { schedule: Schedule | null };

/**
 * What a run's target is, for Meltano state: an extractor/loader schedule
 * runs `meltano elt --state-id=<schedule name>` (its one state id); anything
 * else runs a job (or blocks) whose ids Meltano derives from its blocks
 * (`<environment>:<extractor>-to-<loader>[:<suffix>]`), the same for every
 * run of that job in the deployment.
 */
function stateTarget(run: RunWithSchedule): string {
  const schedule = run.schedule;
  if (schedule && !schedule.job && schedule.extractor) return `id:${schedule.name}`;
  return `job:${run.jobName ?? schedule?.job ?? run.target}`;
}

/**
 * Admission of queued runs past the deployment's and the organization's
 * concurrency limits. Admissions of one organization are serialised by a
 * PostgreSQL advisory lock, so two workers cannot both take the last slot.
 */
@Injectable()
export class RunAdmission {
  constructor(
    private readonly runs: RunsRepository,
    private readonly transactions: Transactions,
    private readonly queue: RunQueue,
  ) {}

  /**
   * `admitted`: the run is starting on this worker; `wait`: a limit is
   * reached (the run says which, in its waiting reason); `taken`: it left the
   * queue meanwhile (another worker, or a cancel).
   */
  admit(
    orgId: OrgId,
    run: RunWithContext,
    by: { workerId: string; executor: string },
  ): Promise<AdmissionResult> {
    // One admission of an organization at a time in this process too: transactions queued on the
    // advisory lock each hold a pooled connection while they wait, so many runs of one
    // organization taken at once (worker concurrency 50, a pool of 10) starved every other query
    // and failed to start their transactions. Other processes' admissions still take the lock.
    const before = this.inProcess.get(orgId) ?? Promise.resolve();
    const mine = before.then(() => this.admitLocked(orgId, run, by));
    const settled = mine.then(
      () => undefined,
      () => undefined,
    );
    this.inProcess.set(orgId, settled);
    void settled.then(() => {
      if (this.inProcess.get(orgId) === settled) this.inProcess.delete(orgId);
    });
    return mine;
  }

  /** The latest admission of each organization in this process (the next one waits for it). */
  private readonly inProcess = new Map<OrgId, Promise<void>>();

  private admitLocked(
    orgId: OrgId,
    run: RunWithContext,
    by: { workerId: string; executor: string },
  ): Promise<AdmissionResult> {
    const { deployment } = run;
    const org = deployment.organization;
    return this.transactions.run(async (tx): Promise<AdmissionResult> => {
      await this.runs.lockAdmissions(orgId, tx);
      const { deployment: forDeployment, organization: forOrg } = await this.runs.countInFlightBoth(
        orgId,
        deployment.id,
        tx,
      );
      let reason: string | null = null;
      if (forDeployment >= deployment.maxConcurrentRuns) {
        reason = `waiting: the deployment's limit of ${deployment.maxConcurrentRuns} concurrent run(s) is reached`;
      } else if (forOrg >= org.maxConcurrentRuns) {
        reason = `waiting: the organization's limit of ${org.maxConcurrentRuns} concurrent run(s) is reached`;
      }
      // The deployment's runs in flight are read only when there are some.
      if (!reason && forDeployment > 0) reason = await this.stateConflict(orgId, run, tx);
      if (reason) {
        await this.runs.markWaiting(orgId, run.id, reason, tx);
        return { outcome: 'wait' };
      }
      const admitted = await this.runs.markAdmitted(orgId, run.id, by, tx);
      return admitted
        ? { outcome: 'admitted', run: { ...run, ...admitted } }
        : { outcome: 'taken' };
    });
  }

  /**
   * Why the run must wait for another of its deployment that would write the
   * same Meltano state (Meltano itself refuses a conflicting job in flight),
   * or null. The ids a run would write: its target (the same job, or an
   * extractor/loader schedule's own id), the ids the latest run of its
   * target wrote, and those a run in flight already wrote.
   */
  private async stateConflict(orgId: OrgId, run: RunWithContext, tx: Tx): Promise<string | null> {
    const inFlight = await this.runs.inFlightOfDeployment(orgId, run.deploymentId, tx);
    if (inFlight.length === 0) return null;
    const learned = new Map<string, string[]>();
    for (const writer of await this.runs.recentStateWriters(
      orgId,
      run.deploymentId,
      LEARN_FROM_RUNS,
      tx,
    )) {
      const target = stateTarget(writer);
      if (!learned.has(target)) learned.set(target, writer.stateIds);
    }
    const keysOf = (r: RunWithSchedule) => {
      const target = stateTarget(r);
      return new Set([
        target,
        ...(learned.get(target) ?? []).map((id) => `id:${id}`),
        ...r.stateIds.map((id) => `id:${id}`),
      ]);
    };
    const mine = keysOf(run);
    for (const other of inFlight) {
      if (other.id === run.id) continue;
      const shared = [...keysOf(other)].filter((key) => mine.has(key));
      if (shared.length === 0) continue;
      const ids = shared.filter((key) => key.startsWith('id:')).map((key) => key.slice(3));
      const what =
        ids.length > 0
          ? `Meltano state ${ids.map((id) => `'${id}'`).join(', ')}`
          : `the Meltano state of job '${shared[0]!.slice(4)}'`;
      return `waiting: run ${other.id} of this deployment is writing ${what}; Meltano runs one pipeline per state id at a time`;
    }
    return null;
  }

  /** A slot freed up: runs waiting on a limit in this organization get another try now rather than after their delay. */
  async slotFreed(orgId: OrgId): Promise<void> {
    for (const waiting of await this.runs.waitingOnLimit(orgId, WAKE_ON_FREED_SLOT)) {
      await this.queue.wake(orgId, waiting.id);
    }
  }
}
