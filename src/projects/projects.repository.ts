import { byRef } from '../common/refs.js';
import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Prisma, Project } from '../generated/prisma/client.js';
import { type Cursor, pastCursor } from '../common/pagination.js';

/** Project data access; every method is scoped by organization id (a required argument). */
@Injectable()
export class ProjectsRepository {
  constructor(private readonly prisma: PrismaService) {}

  find(organizationId: string, ref: string): Promise<Project | null> {
    return this.prisma.project.findFirst({ where: { organizationId, ...byRef(ref) } });
  }

  list(
    organizationId: string,
    take: number,
    namePrefix?: string,
    cursor?: Cursor,
  ): Promise<Project[]> {
    return this.prisma.project.findMany({
      where: {
        organizationId,
        ...(namePrefix ? { name: { startsWith: namePrefix, mode: 'insensitive' } } : {}),
        ...pastCursor('slug', cursor, 'asc'),
      },
      orderBy: [{ slug: 'asc' }, { id: 'asc' }],
      take,
    });
  }

  create(
    organizationId: string,
    data: Omit<Prisma.ProjectUncheckedCreateInput, 'organizationId'>,
    db: Prisma.TransactionClient = this.prisma,
  ) {
    return db.project.create({ data: { ...data, organizationId } });
  }

  update(
    organizationId: string,
    id: string,
    data: Prisma.ProjectUncheckedUpdateInput,
    db: Prisma.TransactionClient = this.prisma,
  ) {
    return db.project.update({ where: { id, organizationId }, data });
  }

  delete(organizationId: string, id: string, db: Prisma.TransactionClient = this.prisma) {
    return db.project.delete({ where: { id, organizationId } });
  }
}
