import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DeploymentEvents, type DeploymentChange } from '../deployments/deployment-events.js';
import { QueueService } from '../queue/queue.service.js';
import { DeploysService } from './deploys.service.js';

/**
 * What follows a change to a deployment: a deploy when it is created or its
 * environment or branch changes, scheduler reconciliation when its schedules
 * change or it is deleted.
 */
@Injectable()
export class DeploymentSubscriber implements OnModuleInit {
  constructor(
    private readonly events: DeploymentEvents,
    private readonly deploys: DeploysService,
    private readonly queues: QueueService,
  ) {}

  onModuleInit(): void {
    this.events.onDeploymentChanged((change) => this.deploymentChanged(change));
  }

  async deploymentChanged(change: DeploymentChange): Promise<void> {
    switch (change.kind) {
      case 'created':
      case 'source-changed':
        await this.deploys.request(change.orgId, change.deployment, {
          trigger: change.kind === 'created' ? 'create' : 'manual',
          actor: change.actor,
        });
        return;
      case 'schedules-changed':
        await this.queues.enqueue('schedules.reconcile', { deploymentId: change.deployment.id });
        return;
      case 'deleted':
        // Its schedules are gone from PostgreSQL; a full reconcile removes their timers from Redis.
        await this.queues.enqueue('schedules.reconcile', {});
        return;
    }
  }
}
