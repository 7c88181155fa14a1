import { Injectable } from '@nestjs/common';
import type { Deployment } from '../generated/prisma/client.js';

/**
 * What must follow a change to a deployment: a deploy when its environment
 * or branch changes, scheduler reconciliation when its schedules change.
 * The deploys and scheduling modules provide the real implementation; this
 * default does nothing so the API module graph has no cycle.
 */
@Injectable()
export class DeploymentLifecycle {
  async deploymentChanged(
    _deployment: Deployment,
    _userId: string | null,
    _trigger: 'create' | 'manual',
  ): Promise<void> {}
  async schedulesChanged(_deployment: Deployment): Promise<void> {}
  async deploymentDeleted(_deployment: Deployment): Promise<void> {}
}
