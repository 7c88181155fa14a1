import { Injectable } from '@nestjs/common';
import type { Actor } from '../auth/actor.js';
import type { OrgId } from '../database/org-id.js';
import type { Deployment } from '../generated/prisma/client.js';

/**
 * A change to a deployment that others must follow: `created` and
 * `source-changed` (a new environment or branch) need a deploy;
 * `schedules-changed` and `deleted` need the scheduler reconciled.
 */
export type DeploymentChange =
  | { kind: 'created' | 'source-changed'; orgId: OrgId; deployment: Deployment; actor: Actor }
  | { kind: 'schedules-changed' | 'deleted'; orgId: OrgId; deployment: Deployment };

export type DeploymentChangeListener = (change: DeploymentChange) => Promise<void>;

/**
 * "Deployment changed", emitted by DeploymentsService and SchedulesService
 * after the change committed. DeploysModule subscribes (deploys and
 * scheduler reconciliation), so this module need not know it. Listeners are
 * awaited in turn and their errors reach the caller.
 */
@Injectable()
export class DeploymentEvents {
  private readonly listeners: DeploymentChangeListener[] = [];

  onDeploymentChanged(listener: DeploymentChangeListener): void {
    this.listeners.push(listener);
  }

  async deploymentChanged(change: DeploymentChange): Promise<void> {
    for (const listener of this.listeners) await listener(change);
  }
}
