import { byRef } from '../common/refs.js';
import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { OrgId } from '../database/org-id.js';
import { clientOf } from '../database/repository.js';
import type { Tx } from '../database/tx.js';
import type { Prisma, Project } from '../generated/prisma/client.js';
import { type Cursor, pastCursor } from '../common/pagination.js';

/** Project data access; every method is scoped by a verified organization id. */
@Injectable()
export class ProjectsRepository {
  constructor(private readonly prisma: PrismaService) {}

  find(orgId: OrgId, ref: string): Promise<Project | null> {
    return this.prisma.project.findFirst({ where: { organizationId: orgId, ...byRef(ref) } });
  }

  list(orgId: OrgId, take: number, namePrefix?: string, cursor?: Cursor): Promise<Project[]> {
    return this.prisma.project.findMany({
      where: {
        organizationId: orgId,
        ...(namePrefix ? { name: { startsWith: namePrefix, mode: 'insensitive' } } : {}),
        ...pastCursor('slug', cursor, 'asc'),
      },
      orderBy: [{ slug: 'asc' }, { id: 'asc' }],
      take,
    });
  }

  create(
    orgId: OrgId,
    data: Omit<Prisma.ProjectUncheckedCreateInput, 'organizationId'>,
    tx?: Tx,
  ): Promise<Project> {
    return clientOf(this.prisma, tx).project.create({ data: { ...data, organizationId: orgId } });
  }

  update(
    orgId: OrgId,
    id: string,
    data: Prisma.ProjectUncheckedUpdateInput,
    tx?: Tx,
  ): Promise<Project> {
    return clientOf(this.prisma, tx).project.update({
      where: { id, organizationId: orgId },
      data,
    });
  }

  delete(orgId: OrgId, id: string, tx?: Tx): Promise<Project> {
    return clientOf(this.prisma, tx).project.delete({ where: { id, organizationId: orgId } });
  }

  /** Runs of the project's deployments that a worker is executing now. */
  countRunsInProgress(orgId: OrgId, projectId: string): Promise<number> {
    return this.prisma.run.count({
      where: {
        organizationId: orgId,
        deployment: { projectId },
        status: { in: ['starting', 'running'] },
      },
    });
  }
}
