import { Injectable } from '@nestjs/common';
import { DelayedError } from 'bullmq';
import { orgIdFromJob } from '../../src/database/org-id.js';
import { JobHandlerRegistry } from '../../src/queue/job-handlers.js';
import { RunSupervisor } from '../../src/runs/run-supervisor.js';

@Injectable()
export class RunHandlers {
  constructor(registry: JobHandlerRegistry, supervisor: RunSupervisor) {
    registry.register('run.execute', async (payload, job, token) => {
      const retryInMs = await supervisor.execute(orgIdFromJob(payload), payload.runId);
      if (retryInMs === null) return;
      // Waiting for a concurrency slot: the same job waits (one job id per run); a freed slot promotes it.
      await job.moveToDelayed(Date.now() + retryInMs, token);
      throw new DelayedError();
    });
  }
}
