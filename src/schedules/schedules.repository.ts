import { Injectable } from '@nestjs/common';
import { isUuid } from '../common/refs.js';
import { type Cursor, pastCursor } from '../common/pagination.js';
import { validationFailed } from '../common/problem.js';
import { PrismaService } from '../database/prisma.service.js';
import type { OrgId } from '../database/org-id.js';
import { clientOf } from '../database/repository.js';
import type { Tx } from '../database/tx.js';
import type { Prisma, Schedule } from '../generated/prisma/client.js';

export interface ScheduleFilter {
  namePrefix?: string | undefined;
  enabled?: boolean | undefined;
  includeArchived: boolean;
}

/** Schedules of a deployment; every method is scoped by a verified organization id. */
@Injectable()
export class SchedulesRepository {
  constructor(private readonly prisma: PrismaService) {}

  list(
    orgId: OrgId,
    deploymentId: string,
    take: number,
    filter: ScheduleFilter,
    cursor?: Cursor,
  ): Promise<Schedule[]> {
    return this.prisma.schedule.findMany({
      where: {
        organizationId: orgId,
        deploymentId,
        ...(filter.includeArchived ? {} : { archivedAt: null }),
        ...(filter.namePrefix ? { name: { startsWith: filter.namePrefix } } : {}),
        ...(filter.enabled !== undefined ? { enabled: filter.enabled } : {}),
        ...pastPosition(cursor),
      },
      // As meltano.yml lists them (main file, then included files in include_paths order).
      orderBy: [{ position: 'asc' }, { id: 'asc' }],
      take,
    });
  }

  /** By id or by name (names come from meltano.yml). */
  find(orgId: OrgId, deploymentId: string, ref: string): Promise<Schedule | null> {
    return this.prisma.schedule.findFirst({
      where: {
        organizationId: orgId,
        deploymentId,
        ...(isUuid(ref) ? { OR: [{ id: ref }, { name: ref }] } : { name: ref }),
      },
    });
  }

  /** Every schedule of the deployment, archived ones included (a deploy syncs them). */
  listAll(orgId: OrgId, deploymentId: string, tx?: Tx): Promise<Schedule[]> {
    return clientOf(this.prisma, tx).schedule.findMany({
      where: { organizationId: orgId, deploymentId },
    });
  }

  create(
    orgId: OrgId,
    data: Omit<Prisma.ScheduleUncheckedCreateInput, 'organizationId'>,
    tx?: Tx,
  ): Promise<Schedule> {
    return clientOf(this.prisma, tx).schedule.create({ data: { ...data, organizationId: orgId } });
  }

  update(
    orgId: OrgId,
    id: string,
    data: Prisma.ScheduleUncheckedUpdateInput,
    tx?: Tx,
  ): Promise<Schedule> {
    return clientOf(this.prisma, tx).schedule.update({
      where: { id, organizationId: orgId },
      data,
    });
  }
}

/** The keyset condition past a `{ k: position, id }` cursor. */
function pastPosition(cursor: Cursor | undefined): ReturnType<typeof pastCursor> {
  if (!cursor) return {};
  const position = Number(cursor.k);
  if (!/^\d{1,9}$/.test(cursor.k) || !Number.isSafeInteger(position)) {
    throw validationFailed([
      { field: 'query.page_token', message: 'is not a token this API issued' },
    ]);
  }
  return { OR: [{ position: { gt: position } }, { position, id: { gt: cursor.id } }] };
}
