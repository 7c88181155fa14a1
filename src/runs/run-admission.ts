import { Injectable } from '@nestjs/common';
import type { OrgId } from '../database/org-id.js';
import { Transactions } from '../database/transactions.js';
import { RunQueue } from './run-queue.js';
import { RunsRepository, type RunWithContext } from './runs.repository.js';

export type Admission = 'admitted' | 'wait' | 'taken';

/** How many runs waiting on a limit a freed slot wakes. */
const WAKE_ON_FREED_SLOT = 5;

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
  ): Promise<Admission> {
    const { deployment } = run;
    const org = deployment.organization;
    return this.transactions.run(async (tx) => {
      await this.runs.lockAdmissions(orgId, tx);
      const [forDeployment, forOrg] = await Promise.all([
        this.runs.countInFlight(orgId, deployment.id, tx),
        this.runs.countInFlight(orgId, null, tx),
      ]);
      let reason: string | null = null;
      if (forDeployment >= deployment.maxConcurrentRuns) {
        reason = `waiting: the deployment's limit of ${deployment.maxConcurrentRuns} concurrent run(s) is reached`;
      } else if (forOrg >= org.maxConcurrentRuns) {
        reason = `waiting: the organization's limit of ${org.maxConcurrentRuns} concurrent run(s) is reached`;
      }
      if (reason) {
        await this.runs.markWaiting(orgId, run.id, reason, tx);
        return 'wait';
      }
      return (await this.runs.markAdmitted(orgId, run.id, by, tx)) ? 'admitted' : 'taken';
    });
  }

  /** A slot freed up: runs waiting on a limit in this organization get another try now rather than after their delay. */
  async slotFreed(orgId: OrgId): Promise<void> {
    for (const waiting of await this.runs.waitingOnLimit(orgId, WAKE_ON_FREED_SLOT)) {
      await this.queue.wake(orgId, waiting.id);
    }
  }
}
