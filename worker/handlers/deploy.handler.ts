import { Injectable, Optional } from '@nestjs/common';
import { WorkerMetrics } from '../../src/metrics/worker-metrics.js';
import { JobHandlerRegistry } from '../../src/queue/job-handlers.js';
import { DeployRunner } from '../../src/deploys/deploy-runner.js';
import { orgIdFromJob } from '../../src/database/org-id.js';

@Injectable()
export class DeployHandlers {
  constructor(
    registry: JobHandlerRegistry,
    runner: DeployRunner,
    @Optional() metrics?: WorkerMetrics,
  ) {
    registry.register('deploy.execute', async (payload, job) => {
      const end = metrics?.deployDuration.startTimer();
      try {
        await runner.execute(
          orgIdFromJob(payload),
          payload.deployId,
          job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
          { pinCommit: payload.pinCommit === true, onlyIfChanged: payload.onlyIfChanged === true },
        );
        end?.({ outcome: 'finished' });
      } catch (err) {
        end?.({ outcome: 'error' });
        throw err;
      }
    });
  }
}
