import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Deployment, DeploymentStatus, Prisma } from '../generated/prisma/client.js';
import { type Cursor, pastCursor } from '../common/pagination.js';
import { byRef } from '../common/refs.js';

/** Deployment data access, scoped by organization id (required) and project. */
@Injectable()
export class DeploymentsRepository {
  constructor(private readonly prisma: PrismaService) {}

  find(organizationId: string, projectId: string, ref: string): Promise<Deployment | null> {
    return this.prisma.deployment.findFirst({
      where: { organizationId, projectId, ...byRef(ref) },
    });
  }

  findById(organizationId: string, id: string): Promise<Deployment | null> {
    return this.prisma.deployment.findFirst({ where: { organizationId, id } });
  }

  list(
    organizationId: string,
    projectId: string,
    take: number,
    filter: { namePrefix?: string | undefined; status?: DeploymentStatus | undefined },
    cursor?: Cursor,
  ): Promise<Deployment[]> {
    return this.prisma.deployment.findMany({
      where: {
        organizationId,
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
    organizationId: string,
    data: Omit<Prisma.DeploymentUncheckedCreateInput, 'organizationId'>,
    db: Prisma.TransactionClient = this.prisma,
  ) {
    return db.deployment.create({ data: { ...data, organizationId } });
  }

  update(
    organizationId: string,
    id: string,
    data: Prisma.DeploymentUncheckedUpdateInput,
    db: Prisma.TransactionClient = this.prisma,
  ) {
    return db.deployment.update({ where: { id, organizationId }, data });
  }
}
