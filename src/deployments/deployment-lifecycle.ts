import { Injectable } from '@nestjs/common';
import type { Deployment } from '../generated/prisma/client.js';
import { DeploysService } from '../deploys/deploys.service.js';
import { QueueService } from '../queue/queue.service.js';

/**
 * What must follow a change to a deployment: a deploy when it is created or
 * its environment or branch changes, scheduler reconciliation when its
 * schedules change or it is deleted.
 */
@Injectable()
export class DeploymentLifecycle {
  constructor(
    private readonly deploys: DeploysService,
    private readonly queues: QueueService,
  ) {}

  async deploymentChanged(
    deployment: Deployment,
    userId: string | null,
    trigger: 'create' | 'manual',
  ): Promise<void> {
    await this.deploys.request(deployment, trigger, userId);
  }

  async schedulesChanged(deployment: Deployment): Promise<void> {
    await this.queues.enqueue('schedules.reconcile', { deploymentId: deployment.id });
  }

  async deploymentDeleted(_deployment: Deployment): Promise<void> {
    // Its schedules are gone from PostgreSQL; a full reconcile removes their timers from Redis.
    await this.queues.enqueue('schedules.reconcile', {});
  }
}
