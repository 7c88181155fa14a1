import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { MeltanoState, Prisma } from '../generated/prisma/client.js';
import type { OrgId } from '../database/org-id.js';
import { clientOf } from '../database/repository.js';
import type { Tx } from '../database/tx.js';

/** Meltano's incremental state per deployment (one row per state id). */
@Injectable()
export class MeltanoStateRepository {
  constructor(private readonly prisma: PrismaService) {}

  list(orgId: OrgId, deploymentId: string): Promise<MeltanoState[]> {
    return this.prisma.meltanoState.findMany({
      where: { organizationId: orgId, deploymentId },
      orderBy: { stateId: 'asc' },
    });
  }

  find(orgId: OrgId, deploymentId: string, stateId: string): Promise<MeltanoState | null> {
    return this.prisma.meltanoState.findFirst({
      where: { organizationId: orgId, deploymentId, stateId },
    });
  }

  set(
    orgId: OrgId,
    deploymentId: string,
    stateId: string,
    value: Prisma.InputJsonValue,
    tx?: Tx,
  ): Promise<MeltanoState> {
    return clientOf(this.prisma, tx).meltanoState.upsert({
      where: { deploymentId_stateId: { deploymentId, stateId }, organizationId: orgId },
      create: { organizationId: orgId, deploymentId, stateId, value },
      update: { value },
    });
  }

  /** False when there was no such state. */
  async delete(orgId: OrgId, deploymentId: string, stateId: string, tx?: Tx): Promise<boolean> {
    const { count } = await clientOf(this.prisma, tx).meltanoState.deleteMany({
      where: { organizationId: orgId, deploymentId, stateId },
    });
    return count > 0;
  }
}
