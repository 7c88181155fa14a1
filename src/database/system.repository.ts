import { Injectable } from '@nestjs/common';
import type { OrganizationDataKey } from '../generated/prisma/client.js';
import { orgIdOfRow, type OrgId } from './org-id.js';
import { PrismaService } from './prisma.service.js';

/**
 * The one door for work that spans tenants by design: the worker's
 * reconcile, sweep, retention and catch-up, and resolving which organization
 * a verified webhook belongs to. Every method says so in its name
 * (`…AcrossTenants`) and returns rows whose `organizationId` is an `OrgId`,
 * so the scoped repositories take over from there.
 */
@Injectable()
export class SystemRepository {
  constructor(private readonly prisma: PrismaService) {}

  // ---- secrets: master key rotation (every organization's data key) ---------------------------

  /** A page of data keys, by organization id after `after`. */
  async dataKeysAcrossTenants(
    after: string | undefined,
    take: number,
  ): Promise<(OrganizationDataKey & { orgId: OrgId })[]> {
    const rows = await this.prisma.organizationDataKey.findMany({
      where: after ? { organizationId: { gt: after } } : {},
      orderBy: { organizationId: 'asc' },
      take,
    });
    return rows.map((row) => ({ ...row, orgId: orgIdOfRow(row) }));
  }

  // ---- schedules: reconcile and catch-up ------------------------------------------------------

  // ---- runs: sweep (orphaned and stale runs), executor leftovers ------------------------------

  // ---- maintenance: retention, expired sessions ----------------------------------------------

  // ---- webhooks: which organizations a verified delivery concerns ------------------------------

  /**
   * The organization a GitHub App installation (GitHub's numeric id, unique
   * across tenants) is linked to, if any: for verified webhook deliveries and
   * the installation setup callback. Callers mint the `OrgId` from it
   * (`orgIdFromVerifiedWebhook`) once the delivery's signature was checked.
   */
  githubInstallationAcrossTenants(installationId: number) {
    return this.prisma.githubInstallation.findUnique({
      where: { installationId: BigInt(installationId) },
    });
  }
}
