import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { OrgId } from '../database/org-id.js';
import { clientOf } from '../database/repository.js';
import type { Tx } from '../database/tx.js';
import type { Deployment, DeploymentStatus, Prisma } from '../generated/prisma/client.js';
import { type Cursor, pastCursor } from '../common/pagination.js';
import { byRef } from '../common/refs.js';

/** Deployment data access, scoped by a verified organization id and project. */
@Injectable()
export class DeploymentsRepository {
  constructor(private readonly prisma: PrismaService) {}

  find(orgId: OrgId, projectId: string, ref: string): Promise<Deployment | null> {
    return this.prisma.deployment.findFirst({
      where: { organizationId: orgId, projectId, ...byRef(ref) },
    });
  }

  findById(orgId: OrgId, id: string): Promise<Deployment | null> {
    return this.prisma.deployment.findFirst({ where: { organizationId: orgId, id } });
  }

  list(
    orgId: OrgId,
    projectId: string,
    take: number,
    filter: { namePrefix?: string | undefined; status?: DeploymentStatus | undefined },
    cursor?: Cursor,
  ): Promise<Deployment[]> {
    return this.prisma.deployment.findMany({
      where: {
        organizationId: orgId,
        projectId,
        ...(filter.namePrefix
          ? { name: { startsWith: filter.namePrefix, mode: 'insensitive' } }
          : {}),
        ...(filter.status ? { status: filter.status } : {}),
        ...pastCursor('slug', cursor, 'asc'),
      },
      orderBy: [{ slug: 'asc' }, { id: 'asc' }],
      take,
    });
  }

  create(
    orgId: OrgId,
    data: Omit<Prisma.DeploymentUncheckedCreateInput, 'organizationId'>,
    tx?: Tx,
  ): Promise<Deployment> {
    return clientOf(this.prisma, tx).deployment.create({
      data: { ...data, organizationId: orgId },
    });
  }

  update(
    orgId: OrgId,
    id: string,
    data: Prisma.DeploymentUncheckedUpdateInput,
    tx?: Tx,
  ): Promise<Deployment> {
    return clientOf(this.prisma, tx).deployment.update({
      where: { id, organizationId: orgId },
      data,
    });
  }

  async delete(orgId: OrgId, id: string, tx?: Tx): Promise<void> {
    await clientOf(this.prisma, tx).deployment.delete({ where: { id, organizationId: orgId } });
  }

  // ---- what a deployment's deletion does to its schedules and runs ----------------------------

  async disableSchedules(orgId: OrgId, deploymentId: string, tx?: Tx): Promise<void> {
    await clientOf(this.prisma, tx).schedule.updateMany({
      where: { organizationId: orgId, deploymentId },
      data: { enabled: false },
    });
  }

  async cancelQueuedRuns(
    orgId: OrgId,
    deploymentId: string,
    reason: string,
    tx?: Tx,
  ): Promise<void> {
    await clientOf(this.prisma, tx).run.updateMany({
      where: { organizationId: orgId, deploymentId, status: 'queued' },
      data: { status: 'cancelled', statusReason: reason, finishedAt: new Date() },
    });
  }

  /** Runs of the deployment that a worker is executing now. */
  countRunsInProgress(orgId: OrgId, deploymentId: string, tx?: Tx): Promise<number> {
    return clientOf(this.prisma, tx).run.count({
      where: { organizationId: orgId, deploymentId, status: { in: ['starting', 'running'] } },
    });
  }
}
