import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { OrgId } from '../database/org-id.js';

/** Metered usage, recorded when a run finishes (one record per run and metric). */
@Injectable()
export class UsageRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Records a run's billable seconds; a second call for the same run changes nothing. */
  async recordRunSeconds(orgId: OrgId, runId: string, seconds: number): Promise<void> {
    await this.prisma.usageRecord.upsert({
      where: { runId_metric: { runId, metric: 'run_seconds' }, organizationId: orgId },
      create: { organizationId: orgId, runId, metric: 'run_seconds', quantity: seconds },
      update: {},
    });
  }
}
