import { Injectable, Logger, Optional } from '@nestjs/common';
import { RunLogChannel } from './run-log-channel.js';
import { WorkerMetrics } from '../metrics/worker-metrics.js';
import type { Deployment, Run } from '../generated/prisma/client.js';
import type { OrgId } from '../database/org-id.js';
import { RunsRepository } from './runs.repository.js';

/** `retriedAs`: the automatic retry of a run lost to infrastructure, created with its final status. */
export type RunFinishedListener = (
  run: Run,
  deployment: Deployment,
  retriedAs: Run | null,
) => Promise<void>;

/**
 * What follows a run reaching a final status (its usage ledger row was
 * written with the status, by RunSupervisor): listeners (notifications) are told. A listener's failure is logged and
 * never changes the run's outcome.
 */
@Injectable()
export class RunEvents {
  private readonly logger = new Logger(RunEvents.name);
  private readonly listeners: RunFinishedListener[] = [];

  constructor(
    private readonly runs: RunsRepository,
    @Optional() private readonly logChannel?: RunLogChannel,
    @Optional() private readonly metrics?: WorkerMetrics,
  ) {}

  onRunFinished(listener: RunFinishedListener): void {
    this.listeners.push(listener);
  }

  async runFinished(orgId: OrgId, runId: string): Promise<void> {
    const run = await this.runs.findWithDeployment(orgId, runId);
    if (!run) return;
    this.logChannel?.publish(run.id, { t: 'end' }); // live log followers end their streams
    this.metrics?.runsFinished.inc({ status: run.status });
    const { deployment, ...plain } = run;
    const retriedAs =
      run.status === 'failed' ? await this.runs.automaticRetryOf(orgId, run.id) : null;
    for (const listener of this.listeners) {
      try {
        await listener(plain, deployment, retriedAs);
      } catch (err) {
        this.logger.warn({
          msg: 'run listener failed',
          run: run.id,
          err: err instanceof Error ? err.message : String(err),
        });
      }
    }
  }
}
