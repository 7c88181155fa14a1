import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { OrgId } from '../database/org-id.js';

/** organization_billing.limit_notice (one billing-limit episode at a time) and whom to tell. */
@Injectable()
export class BillingAlertsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Records `episode` as the one owners were told about; true only for the
   * caller that changed it (a single upsert: concurrent callers cannot both win).
   */
  async claimLimitNotice(orgId: OrgId, episode: string, now: Date): Promise<boolean> {
    const rows = await this.prisma.$queryRaw<{ organization_id: string }[]>`
      INSERT INTO organization_billing (organization_id, limit_notice, updated_at)
      VALUES (${orgId}::uuid, ${episode}, ${now})
      ON CONFLICT (organization_id) DO UPDATE
        SET limit_notice = EXCLUDED.limit_notice, updated_at = EXCLUDED.updated_at
        WHERE organization_billing.limit_notice IS DISTINCT FROM EXCLUDED.limit_notice
      RETURNING organization_id::text`;
    return rows.length > 0;
  }

  /** Work may go on again: the next limit is a new episode. */
  async clearLimitNotice(orgId: OrgId): Promise<void> {
    await this.prisma.organizationBilling.updateMany({
      where: { organizationId: orgId, limitNotice: { not: null } },
      data: { limitNotice: null },
    });
  }

  /** The owners' email addresses (those who have one). */
  async ownerEmails(orgId: OrgId): Promise<{ login: string; email: string }[]> {
    const owners = await this.prisma.membership.findMany({
      where: { organizationId: orgId, role: 'owner', user: { email: { not: null } } },
      select: { user: { select: { login: true, email: true } } },
      orderBy: { createdAt: 'asc' },
    });
    return owners.map((o) => ({ login: o.user.login, email: o.user.email ?? '' }));
  }
}
