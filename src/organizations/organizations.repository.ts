import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Organization, Prisma } from '../generated/prisma/client.js';
import { ACTIVE_STATUSES } from '../runs/runs.schemas.js';
import { orgIdOfRow, type OrgId } from '../database/org-id.js';
import { clientOf } from '../database/repository.js';
import type { Tx } from '../database/tx.js';

export type OrganizationSettings = Pick<
  Prisma.OrganizationUpdateInput,
  'name' | 'maxRunTimeoutSeconds' | 'maxConcurrentRuns' | 'logRetentionDays'
>;

/** Organizations themselves (the tenants). */
@Injectable()
export class OrganizationsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** A new organization and its `OrgId` (it is the tenant it creates). */
  async create(
    data: { name: string; slug: string; billingAccountNumber: string },
    tx?: Tx,
  ): Promise<{ organization: Organization; orgId: OrgId }> {
    const organization = await clientOf(this.prisma, tx).organization.create({ data });
    return { organization, orgId: orgIdOfRow({ organizationId: organization.id }) };
  }

  update(orgId: OrgId, data: OrganizationSettings, tx?: Tx): Promise<Organization> {
    return clientOf(this.prisma, tx).organization.update({ where: { id: orgId }, data });
  }

  async delete(orgId: OrgId): Promise<void> {
    await this.prisma.organization.delete({ where: { id: orgId } });
  }

  /** Runs still queued or running (an organization is not deleted under them). */
  activeRuns(orgId: OrgId): Promise<number> {
    return this.prisma.run.count({
      where: { organizationId: orgId, status: { in: [...ACTIVE_STATUSES] } },
    });
  }
}
