import { Injectable } from '@nestjs/common';
import type { Deployment } from '../generated/prisma/client.js';
import { QueueService } from '../queue/queue.service.js';

/**
 * What follows a deploy: the scheduler is reconciled with the synced
 * schedules. Notifications subscribe to deploy failures here too.
 */
@Injectable()
export class DeployEvents {
  private readonly failureListeners: ((
    deployment: Deployment,
    deployId: string,
    message: string,
  ) => Promise<void>)[] = [];

  constructor(private readonly queues: QueueService) {}

  onDeployFailed(
    listener: (deployment: Deployment, deployId: string, message: string) => Promise<void>,
  ): void {
    this.failureListeners.push(listener);
  }

  async deploySucceeded(deployment: Deployment): Promise<void> {
    await this.queues.enqueue('schedules.reconcile', { deploymentId: deployment.id });
  }

  async deployFailed(deployment: Deployment, deployId: string, message: string): Promise<void> {
    for (const listener of this.failureListeners) await listener(deployment, deployId, message);
  }
}
