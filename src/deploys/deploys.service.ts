import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Deploy, DeployTrigger, Deployment } from '../generated/prisma/client.js';
import { QueueService } from '../queue/queue.service.js';
import { notFound } from '../common/problem.js';
import { pastCursor, type Cursor } from '../common/pagination.js';

/** Deploys: reading meltano.yml at a deployment's branch head and syncing its schedules (see DeployRunner). */
@Injectable()
export class DeploysService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly queues: QueueService,
  ) {}

  /**
   * Records a deploy and queues it. A newer request supersedes deploys of the
   * same deployment still waiting in the queue: only the latest state matters.
   */
  async request(
    deployment: Pick<Deployment, 'id' | 'organizationId' | 'branch'>,
    trigger: DeployTrigger,
    triggeredById: string | null,
    commitSha: string | null = null,
  ): Promise<Deploy> {
    const deploy = await this.prisma.$transaction(async (tx) => {
      await tx.deploy.updateMany({
        where: {
          organizationId: deployment.organizationId,
          deploymentId: deployment.id,
          status: 'queued',
        },
        data: {
          status: 'superseded',
          finishedAt: new Date(),
          message: 'superseded by a newer deploy',
        },
      });
      await tx.deployment.update({
        where: { id: deployment.id, organizationId: deployment.organizationId },
        data: { status: 'deploying', statusMessage: null },
      });
      return tx.deploy.create({
        data: {
          organizationId: deployment.organizationId,
          deploymentId: deployment.id,
          trigger,
          branch: deployment.branch,
          commitSha,
          triggeredById,
        },
      });
    });
    // The deploy id is the job id (the catalog's policy): re-enqueueing the same deploy is a no-op.
    await this.queues.enqueue('deploy.execute', {
      organizationId: deploy.organizationId,
      deployId: deploy.id,
    });
    return deploy;
  }

  list(
    organizationId: string,
    deploymentId: string,
    take: number,
    cursor?: Cursor,
  ): Promise<Deploy[]> {
    return this.prisma.deploy.findMany({
      where: {
        organizationId,
        deploymentId,
        ...pastCursor('createdAt', cursor, 'desc', true),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take,
    });
  }

  async get(organizationId: string, deploymentId: string, id: string): Promise<Deploy> {
    const deploy = await this.prisma.deploy.findFirst({
      where: { organizationId, deploymentId, id },
    });
    if (!deploy) throw notFound('Deploy');
    return deploy;
  }
}

export const presentDeploy = (d: Deploy) => ({
  id: d.id,
  deployment_id: d.deploymentId,
  trigger: d.trigger,
  branch: d.branch,
  commit_sha: d.commitSha,
  status: d.status,
  message: d.message,
  created_at: d.createdAt.toISOString(),
  started_at: d.startedAt?.toISOString() ?? null,
  finished_at: d.finishedAt?.toISOString() ?? null,
});
