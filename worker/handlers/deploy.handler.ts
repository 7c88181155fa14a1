import { Injectable } from '@nestjs/common';
import { JobHandlerRegistry } from '../../src/queue/job-handlers.js';
import { DeployRunner } from '../../src/deploys/deploy-runner.js';

@Injectable()
export class DeployHandlers {
  constructor(registry: JobHandlerRegistry, runner: DeployRunner) {
    registry.register('deploy.execute', (payload, job) =>
      runner.execute(
        payload.organizationId,
        payload.deployId,
        job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
      ),
    );
  }
}
