import { Injectable } from '@nestjs/common';
import { type Cursor, pastCursor } from '../common/pagination.js';
import { PrismaService } from '../database/prisma.service.js';
import type { OrgId } from '../database/org-id.js';
import { clientOf } from '../database/repository.js';
import type { Tx } from '../database/tx.js';
import type { Deploy, Deployment, Prisma, Project } from '../generated/prisma/client.js';

export type DeployToRun = Deploy & { deployment: Deployment & { project: Project } };

/** Deploys of a deployment; every method is scoped by a verified organization id. */
@Injectable()
export class DeploysRepository {
  constructor(private readonly prisma: PrismaService) {}

  list(orgId: OrgId, deploymentId: string, take: number, cursor?: Cursor): Promise<Deploy[]> {
    return this.prisma.deploy.findMany({
      where: {
        organizationId: orgId,
        deploymentId,
        ...pastCursor('createdAt', cursor, 'desc', true),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take,
    });
  }

  find(orgId: OrgId, deploymentId: string, id: string): Promise<Deploy | null> {
    return this.prisma.deploy.findFirst({ where: { organizationId: orgId, deploymentId, id } });
  }

  /** A deploy with its deployment and project, as the worker executes it. */
  findToRun(orgId: OrgId, id: string): Promise<DeployToRun | null> {
    return this.prisma.deploy.findFirst({
      where: { organizationId: orgId, id },
      include: { deployment: { include: { project: true } } },
    });
  }

  create(
    orgId: OrgId,
    data: Omit<Prisma.DeployUncheckedCreateInput, 'organizationId'>,
    tx?: Tx,
  ): Promise<Deploy> {
    return clientOf(this.prisma, tx).deploy.create({ data: { ...data, organizationId: orgId } });
  }

  /** Deploys of the deployment still waiting in the queue give way to a newer one. */
  /** Deploys of this commit that are queued or running. */
  countPendingOfCommit(orgId: OrgId, deploymentId: string, sha: string): Promise<number> {
    return this.prisma.deploy.count({
      where: {
        organizationId: orgId,
        deploymentId,
        commitSha: sha,
        status: { in: ['queued', 'running'] },
      },
    });
  }

  async supersedeQueued(orgId: OrgId, deploymentId: string, tx?: Tx): Promise<void> {
    await clientOf(this.prisma, tx).deploy.updateMany({
      where: { organizationId: orgId, deploymentId, status: 'queued' },
      data: {
        status: 'superseded',
        finishedAt: new Date(),
        message: 'superseded by a newer deploy',
      },
    });
  }

  /** Marks the deploy running unless it was superseded or finished meanwhile; false if not. */
  async claim(orgId: OrgId, id: string): Promise<boolean> {
    const claimed = await this.prisma.deploy.updateMany({
      where: { organizationId: orgId, id, status: { in: ['queued', 'running'] } },
      data: { status: 'running', startedAt: new Date() },
    });
    return claimed.count > 0;
  }

  async finish(
    orgId: OrgId,
    id: string,
    outcome: { status: 'succeeded' | 'failed'; message: string; commitSha?: string },
    tx?: Tx,
  ): Promise<void> {
    await clientOf(this.prisma, tx).deploy.update({
      where: { id, organizationId: orgId },
      data: { ...outcome, finishedAt: new Date() },
    });
  }
}
