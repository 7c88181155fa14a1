import { Injectable } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import type { Actor, RequestOrigin } from '../auth/actor.js';
import type { Cursor } from '../common/pagination.js';
import { conflict, notFound } from '../common/problem.js';
import type { OrgId } from '../database/org-id.js';
import { Transactions } from '../database/transactions.js';
import { DeploymentsRepository } from '../deployments/deployments.repository.js';
import { DeploymentsService } from '../deployments/deployments.service.js';
import type { Deploy, DeployTrigger, Deployment, Prisma } from '../generated/prisma/client.js';
import type { OrgScope } from '../organizations/org-access.js';
import { QueueService } from '../queue/queue.service.js';
import { DeploysRepository } from './deploys.repository.js';

export interface DeployRequest {
  trigger: DeployTrigger;
  /** Who asked (null: GitHub or the system); recorded on the deploy and in the audit event. */
  actor: Actor | null;
  /** The commit GitHub said was pushed, when known. */
  commitSha?: string | null;
  /** Record `deployment.deploy` in the deploy's transaction, with these details beside the deploy id. */
  audit?: { origin: RequestOrigin | null; details?: Record<string, Prisma.InputJsonValue> };
  /** Read this commit (kept on the deploy as its commit) instead of the branch head. */
  pinnedCommit?: string;
  /** Finish without syncing when the branch head is the deployed commit. */
  onlyIfChanged?: boolean;
}

/** Deploys: reading meltano.yml at a deployment's branch head and syncing its schedules (see DeployRunner). */
@Injectable()
export class DeploysService {
  constructor(
    private readonly transactions: Transactions,
    private readonly deploys: DeploysRepository,
    private readonly deployments: DeploymentsRepository,
    private readonly deploymentsService: DeploymentsService,
    private readonly audit: AuditRepository,
    private readonly queues: QueueService,
  ) {}

  /**
   * Records a deploy and queues it. A newer request supersedes deploys of the
   * same deployment still waiting in the queue: only the latest state matters.
   */
  async request(
    orgId: OrgId,
    deployment: Pick<Deployment, 'id' | 'branch'>,
    request: DeployRequest,
  ): Promise<Deploy> {
    const { audit } = request;
    const deploy = await this.transactions.run(async (tx) => {
      await this.deploys.supersedeQueued(orgId, deployment.id, tx);
      await this.deployments.update(
        orgId,
        deployment.id,
        { status: 'deploying', statusMessage: null },
        tx,
      );
      const created = await this.deploys.create(
        orgId,
        {
          deploymentId: deployment.id,
          trigger: request.trigger,
          branch: deployment.branch,
          commitSha: request.pinnedCommit ?? request.commitSha ?? null,
          triggeredById: request.actor?.user.id ?? null,
        },
        tx,
      );
      if (audit) {
        await this.audit.record(
          orgId,
          request.actor,
          audit.origin,
          {
            action: 'deployment.deploy',
            resourceType: 'deployment',
            resourceId: deployment.id,
            details: { deploy_id: created.id, ...audit.details },
          },
          tx,
        );
      }
      return created;
    });
    // The deploy id is the job id (the catalog's policy): re-enqueueing the same deploy is a no-op.
    await this.queues.enqueue('deploy.execute', {
      organizationId: deploy.organizationId,
      deployId: deploy.id,
      ...(request.pinnedCommit ? { pinCommit: true } : {}),
      ...(request.onlyIfChanged ? { onlyIfChanged: true } : {}),
    });
    return deploy;
  }

  /** True when the deployment already deployed this commit, or has a deploy of it queued or running. */
  async hasCommit(
    orgId: OrgId,
    deployment: { id: string; deployedCommitSha: string | null },
    sha: string,
  ): Promise<boolean> {
    if (deployment.deployedCommitSha === sha) return true;
    return (await this.deploys.countPendingOfCommit(orgId, deployment.id, sha)) > 0;
  }

  /**
   * An admin's redeploy: meltano.yml is read at the branch head again (skipped
   * when `only_if_changed` and the head is the deployed commit), or at the
   * deployed commit (`commit: deployed`).
   */
  async redeploy(
    scope: OrgScope,
    origin: RequestOrigin,
    projectRef: string,
    deploymentRef: string,
    options: { commit?: 'branch_head' | 'deployed'; only_if_changed?: boolean } = {},
  ): Promise<Deploy> {
    const { deployment } = await this.deploymentsService.get(
      scope.orgId,
      projectRef,
      deploymentRef,
    );
    const preserve = options.commit === 'deployed';
    if (preserve && !deployment.deployedCommitSha)
      throw conflict(
        `Deployment ${deployment.slug} has no deployed commit yet; redeploy the branch head instead.`,
      );
    return this.request(scope.orgId, deployment, {
      trigger: 'manual',
      actor: scope.actor,
      audit: {
        origin,
        ...(preserve || options.only_if_changed
          ? {
              details: {
                ...(preserve ? { commit: 'deployed' } : {}),
                ...(options.only_if_changed ? { only_if_changed: true } : {}),
              },
            }
          : {}),
      },
      ...(preserve && deployment.deployedCommitSha
        ? { pinnedCommit: deployment.deployedCommitSha }
        : {}),
      // After a failed deploy (a changed environment, say) the deployed commit is not the whole story.
      ...(options.only_if_changed && !preserve && !deployment.statusMessage
        ? { onlyIfChanged: true }
        : {}),
    });
  }

  async list(
    orgId: OrgId,
    projectRef: string,
    deploymentRef: string,
    take: number,
    cursor?: Cursor,
  ): Promise<Deploy[]> {
    const { deployment } = await this.deploymentsService.get(orgId, projectRef, deploymentRef);
    return this.deploys.list(orgId, deployment.id, take, cursor);
  }

  async get(orgId: OrgId, projectRef: string, deploymentRef: string, id: string): Promise<Deploy> {
    const { deployment } = await this.deploymentsService.get(orgId, projectRef, deploymentRef);
    const deploy = await this.deploys.find(orgId, deployment.id, id);
    if (!deploy) throw notFound('Deploy');
    return deploy;
  }
}
