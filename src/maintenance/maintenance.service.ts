import { Injectable, Logger } from '@nestjs/common';
import { SystemRepository } from '../database/system.repository.js';

export interface SweepResult {
  logLinesDeleted: number;
  sessionsDeleted: number;
  webhookDeliveriesDeleted: number;
}

/** GitHub webhook deliveries are kept this long (to recognise redeliveries). */
const WEBHOOK_DELIVERIES_KEPT_MS = 7 * 24 * 3600 * 1000;

/** Housekeeping that keeps tables bounded: log retention per organization, expired sessions. */
@Injectable()
export class MaintenanceService {
  private readonly logger = new Logger(MaintenanceService.name);

  constructor(private readonly system: SystemRepository) {}

  async sweep(now = new Date()): Promise<SweepResult> {
    const logLinesDeleted = await this.system.deleteExpiredLogLinesAcrossTenants(now);
    const sessionsDeleted = await this.system.deleteExpiredSessionsAcrossTenants(now);
    const webhookDeliveriesDeleted = await this.system.deleteWebhookDeliveriesAcrossTenants(
      new Date(now.getTime() - WEBHOOK_DELIVERIES_KEPT_MS),
    );
    const result = { logLinesDeleted, sessionsDeleted, webhookDeliveriesDeleted };
    if (logLinesDeleted || sessionsDeleted || webhookDeliveriesDeleted)
      this.logger.log({ msg: 'sweep', ...result });
    return result;
  }
}
