import { Injectable } from '@nestjs/common';
import type { RequestOrigin } from '../auth/actor.js';
import { AuditRepository } from '../audit/audit.repository.js';
import { notFound } from '../common/problem.js';
import { Transactions } from '../database/transactions.js';
import type { Tx } from '../database/tx.js';
import { DeploymentsService } from '../deployments/deployments.service.js';
import type { MeltanoState, Prisma } from '../generated/prisma/client.js';
import type { OrgScope } from '../organizations/org-access.js';
import { MeltanoStateRepository } from './meltano-state.repository.js';

/** Where a state lives: the deployment (by project and deployment ref) of the caller's organization. */
export interface StateRef {
  project: string;
  deployment: string;
}

/** `meltano state` through the API: list, get, set and clear a deployment's states. */
@Injectable()
export class StateService {
  constructor(
    private readonly states: MeltanoStateRepository,
    private readonly deployments: DeploymentsService,
    private readonly transactions: Transactions,
    private readonly audit: AuditRepository,
  ) {}

  private async deploymentId(scope: OrgScope, ref: StateRef): Promise<string> {
    const { deployment } = await this.deployments.get(scope.orgId, ref.project, ref.deployment);
    return deployment.id;
  }

  async list(scope: OrgScope, ref: StateRef): Promise<MeltanoState[]> {
    return this.states.list(scope.orgId, await this.deploymentId(scope, ref));
  }

  async get(scope: OrgScope, ref: StateRef, stateId: string): Promise<MeltanoState> {
    const row = await this.states.find(scope.orgId, await this.deploymentId(scope, ref), stateId);
    if (!row) throw notFound(`State "${stateId}"`);
    return row;
  }

  async set(
    scope: OrgScope,
    origin: RequestOrigin,
    ref: StateRef,
    stateId: string,
    value: Prisma.InputJsonValue,
  ): Promise<MeltanoState> {
    const deploymentId = await this.deploymentId(scope, ref);
    return this.transactions.run(async (tx) => {
      const row = await this.states.set(scope.orgId, deploymentId, stateId, value, tx);
      await this.recordAudit(scope, origin, 'state.set', deploymentId, stateId, tx);
      return row;
    });
  }

  async clear(
    scope: OrgScope,
    origin: RequestOrigin,
    ref: StateRef,
    stateId: string,
  ): Promise<void> {
    const deploymentId = await this.deploymentId(scope, ref);
    await this.transactions.run(async (tx) => {
      if (!(await this.states.delete(scope.orgId, deploymentId, stateId, tx)))
        throw notFound(`State "${stateId}"`);
      await this.recordAudit(scope, origin, 'state.clear', deploymentId, stateId, tx);
    });
  }

  private recordAudit(
    scope: OrgScope,
    origin: RequestOrigin,
    action: 'state.set' | 'state.clear',
    deploymentId: string,
    stateId: string,
    tx: Tx,
  ): Promise<void> {
    return this.audit.recordAs(
      scope,
      origin,
      {
        action,
        resourceType: 'deployment',
        resourceId: deploymentId,
        details: { state_id: stateId },
      },
      tx,
    );
  }
}
