import { Injectable } from '@nestjs/common';
import { JobHandlerRegistry } from '../../src/queue/job-handlers.js';
import { DeployRunner } from '../../src/deploys/deploy-runner.js';
import { orgIdFromJob } from '../../src/database/org-id.js';

@Injectable()
export class DeployHandlers {
  constructor(registry: JobHandlerRegistry, runner: DeployRunner) {
    registry.register('deploy.execute', (payload, job) =>
      runner.execute(
        orgIdFromJob(payload),
        payload.deployId,
        job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
        { pinCommit: payload.pinCommit === true, onlyIfChanged: payload.onlyIfChanged === true },
      ),
    );
  }
}
