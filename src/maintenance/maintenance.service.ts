import { Injectable, Logger } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';

export interface SweepResult {
  logLinesDeleted: number;
  sessionsDeleted: number;
  webhookDeliveriesDeleted: number;
}

/** Housekeeping that keeps tables bounded: log retention per organization, expired sessions. */
@Injectable()
export class MaintenanceService {
  private readonly logger = new Logger(MaintenanceService.name);

  constructor(private readonly prisma: PrismaService) {}

  async sweep(now = new Date()): Promise<SweepResult> {
    // Each organization chooses its own retention, so the cutoff is computed per row's organization.
    const logLinesDeleted = await this.prisma.$executeRaw`
      DELETE FROM run_log_lines l
      USING organizations o
      WHERE l.organization_id = o.id
        AND l.timestamp < ${now}::timestamptz - make_interval(days => o.log_retention_days)`;
    const { count: sessionsDeleted } = await this.prisma.session.deleteMany({
      where: { expiresAt: { lt: now } },
    });
    const { count: webhookDeliveriesDeleted } = await this.prisma.githubWebhookDelivery.deleteMany({
      where: { receivedAt: { lt: new Date(now.getTime() - 7 * 24 * 3600 * 1000) } },
    });
    const result = { logLinesDeleted, sessionsDeleted, webhookDeliveriesDeleted };
    if (logLinesDeleted || sessionsDeleted || webhookDeliveriesDeleted)
      this.logger.log({ msg: 'sweep', ...result });
    return result;
  }
}
