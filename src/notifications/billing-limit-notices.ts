import {
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { createMailer, type Mailer } from './mailer.js';
import { AppConfig } from '../config/app-config.js';
import { BillingAlerts, type BillingLimitReached } from '../billing/billing-alerts.js';
import { BillingAlertsRepository } from '../billing/billing-alerts.repository.js';
import { NotificationSettings } from './notification-settings.js';
import { EVENT_HEADER } from './webhook-signature.js';
import { NotificationsService } from './notifications.service.js';

/** The email owners get when work pauses for billing. */
export function ownerLimitEmail(
  event: BillingLimitReached,
  url: string,
): { subject: string; text: string } {
  return {
    subject: `[meltano-cloud] Work paused in ${event.name}: billing limit reached`,
    text: [
      `Runs of ${event.name} (${event.slug}) are paused: scheduled runs are recorded as skipped and runs started by hand are refused.`,
      '',
      `Reason:       ${event.reason}`,
      `Period:       ${event.period} (UTC)`,
      `Since:        ${event.at.toISOString()}`,
      '',
      `See billing and usage, raise the spend cap or add a payment method: ${url}`,
      'Work resumes at the next scheduled tick once the limit no longer applies.',
      '',
      '-- ',
      `You receive this because you are an owner of ${event.name} on meltano-cloud.`,
    ].join('\n'),
  };
}

/**
 * When work first pauses for billing (BillingAlerts, once per episode): one
 * `billing.limit_reached` event through the notification channels (the
 * organization-wide ones: it is nobody's project) and, when SMTP is
 * configured, an email to each owner with an address.
 */
@Injectable()
export class BillingLimitNotices implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('notifications');
  private mailer: Mailer | undefined;

  constructor(
    private readonly alerts: BillingAlerts,
    private readonly owners: BillingAlertsRepository,
    private readonly notifications: NotificationsService,
    private readonly settings: NotificationSettings,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.alerts.onLimitReached((event) => this.limitReached(event));
  }

  async limitReached(event: BillingLimitReached): Promise<void> {
    const url = `${this.config.http.publicUrl}/orgs/${event.slug}/billing`;
    await this.notifications.emit(event.orgId, {
      type: 'billing.limit_reached',
      projectId: null,
      deploymentId: null,
      scheduleName: null,
      occurredAt: event.at,
      // One claim per episode (BillingAlerts): its time tells a recurrence from a replay.
      idempotencyKey: `billing.limit_reached:${event.episode}:${event.at.toISOString()}`,
      subject: {
        kind: 'billing',
        id: event.episode,
        url,
        status: 'paused',
        reason: event.reason,
        limit: event.kind,
        period: event.period,
      },
    });
    await this.emailOwners(event, url);
  }

  private async emailOwners(event: BillingLimitReached, url: string): Promise<void> {
    const smtpUrl = this.config.mail.smtpUrl;
    if (!smtpUrl) return;
    const owners = await this.owners.ownerEmails(event.orgId);
    if (!owners.length) return;
    this.mailer ??= createMailer(smtpUrl, this.settings.timeoutMs);
    const message = ownerLimitEmail(event, url);
    for (const owner of owners) {
      try {
        await this.mailer.sendMail({
          from: this.config.mail.from,
          to: owner.email,
          subject: message.subject,
          text: message.text,
          headers: { [EVENT_HEADER]: 'billing.limit_reached' },
        });
      } catch (err) {
        this.logger.warn({
          msg: 'billing limit email not sent',
          org: event.orgId,
          owner: owner.login,
          err: err instanceof Error ? err.message : String(err),
        });
      }
    }
  }

  onModuleDestroy(): void {
    this.mailer?.close();
  }
}
