import type { Deployment, Run } from '../generated/prisma/client.js';
import type { RunOutcome } from './executors/executor.js';

/** An automatic retry is a `retry` run nobody triggered; it links to the run it retries. */
export const isAutomaticRetry = (run: Pick<Run, 'trigger' | 'triggeredById' | 'retryOfId'>) =>
  run.trigger === 'retry' && run.triggeredById === null && run.retryOfId !== null;

/**
 * Whether a run that just ended is retried automatically: infrastructure (not its pipeline)
 * ended it — its worker was lost, its Pod evicted or its node gone — before its pipeline
 * started, nobody asked to cancel it, the deployment allows it (`retry_infra_failures`, on by
 * default), and it is not itself an automatic retry (at most one per original run).
 * `run` is read after its final status was written, so its phases are the latest.
 */
export function wantsInfraRetry(
  run: Pick<
    Run,
    'status' | 'pipelineStartedAt' | 'cancelRequestedAt' | 'trigger' | 'triggeredById' | 'retryOfId'
  >,
  deployment: Pick<Deployment, 'retryInfraFailures'>,
  outcome: RunOutcome,
): boolean {
  return (
    outcome.lostTo !== undefined &&
    run.status === 'failed' &&
    run.pipelineStartedAt === null &&
    run.cancelRequestedAt === null &&
    deployment.retryInfraFailures &&
    !isAutomaticRetry(run)
  );
}
