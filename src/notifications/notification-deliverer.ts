import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { UnrecoverableError } from 'bullmq';
import { createMailer, type Mailer } from './mailer.js';
import { AppConfig } from '../config/app-config.js';
import { orgIdFromJob, type OrgId } from '../database/org-id.js';
import { Transactions } from '../database/transactions.js';
import type { NotificationChannel, NotificationDelivery } from '../generated/prisma/client.js';
import { TEST_EVENT_TYPE, type WebhookEnvelope } from './events.js';
import { privateTargetReason } from './target-guard.js';
import { emailMessage, isSlackWebhook, slackMessage } from './messages.js';
import { NotificationSettings } from './notification-settings.js';
import { NotificationsRepository, type DeliveryAttempt } from './notifications.repository.js';
import { NotificationsService } from './notifications.service.js';
import {
  DELIVERY_HEADER,
  EVENT_HEADER,
  SIGNATURE_HEADER,
  signWebhook,
} from './webhook-signature.js';

/** Where this attempt stands among the job's attempts. */
export interface AttemptInfo {
  /** 1-based number of this attempt. */
  attempt: number;
  /** Attempts the job has in all; the last one decides `failed`. */
  maxAttempts: number;
}

interface Outcome {
  ok: boolean;
  statusCode: number | null;
  error: string | null;
  /** Retrying cannot help (no SMTP configured, unknown channel kind). */
  permanent?: boolean;
}

const MAX_ERROR = 500;
const truncate = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n)}…` : s);

/** A readable reason for a request that got no response (errors may come from another realm). */
function networkError(err: unknown, timeoutMs: number): string {
  const e = (err ?? {}) as { name?: unknown; message?: unknown; cause?: { code?: unknown } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError')
    return `timed out after ${timeoutMs < 1000 ? `${timeoutMs} ms` : `${timeoutMs / 1000} s`}`;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const code = typeof e.cause?.code === 'string' ? e.cause.code : undefined;
  return code ? `${message} (${code})` : message;
}

/**
 * Delivers one notification (the `notification.deliver` job): a signed JSON
 * POST, Slack's format for Slack incoming webhooks, or an email over SMTP.
 * Every attempt is appended to the delivery; a failed attempt throws so the
 * queue retries it with exponential backoff, and the last one marks the
 * delivery failed.
 */
@Injectable()
export class NotificationDeliverer implements OnModuleDestroy {
  private readonly logger = new Logger('notifications');
  private mailer: Mailer | undefined;

  constructor(
    private readonly repository: NotificationsRepository,
    private readonly transactions: Transactions,
    private readonly notifications: NotificationsService,
    private readonly settings: NotificationSettings,
    private readonly config: AppConfig,
  ) {}

  /** `organizationId` and `deliveryId` come from the job's payload. */
  async deliver(organizationId: string, deliveryId: string, info: AttemptInfo): Promise<void> {
    const orgId = orgIdFromJob({ organizationId });
    const delivery = await this.repository.findDeliveryWithChannel(orgId, deliveryId);
    // Deleted with its channel, or already done (a repeated job): nothing to do.
    if (!delivery || delivery.status !== 'pending') return;
    const { channel } = delivery;
    const envelope = delivery.payload as unknown as WebhookEnvelope;
    const number = (Array.isArray(delivery.attempts) ? delivery.attempts.length : 0) + 1;
    const started = Date.now();
    let outcome: Outcome;
    if (!channel.active && delivery.eventType !== TEST_EVENT_TYPE) {
      outcome = { ok: false, statusCode: null, error: 'channel is inactive', permanent: true };
    } else {
      try {
        outcome =
          channel.kind === 'email'
            ? await this.sendEmail(channel, delivery, envelope)
            : await this.postWebhook(channel, delivery, envelope);
      } catch (err) {
        outcome = {
          ok: false,
          statusCode: null,
          error: networkError(err, this.settings.timeoutMs),
        };
      }
    }
    const attempt: DeliveryAttempt = {
      attempt: number,
      at: new Date(started).toISOString(),
      status_code: outcome.statusCode,
      error: outcome.error === null ? null : truncate(outcome.error, MAX_ERROR),
      duration_ms: Date.now() - started,
    };
    const final = outcome.ok || outcome.permanent === true || info.attempt >= info.maxAttempts;
    const status = outcome.ok ? 'delivered' : final ? 'failed' : 'pending';
    await this.record(orgId, delivery, attempt, status);
    if (outcome.ok) return;
    if (final) {
      this.logger.warn({
        msg: 'notification delivery failed',
        delivery_id: delivery.id,
        channel_id: channel.id,
        attempts: number,
        err: attempt.error,
      });
    }
    const error = `delivery attempt ${number} failed: ${attempt.error ?? 'unknown error'}`;
    throw outcome.permanent ? new UnrecoverableError(error) : new Error(error);
  }

  private async record(
    orgId: OrgId,
    delivery: NotificationDelivery,
    attempt: DeliveryAttempt,
    status: 'pending' | 'delivered' | 'failed',
  ): Promise<void> {
    await this.transactions.run(async (tx) => {
      await this.repository.appendAttempt(orgId, delivery.id, attempt, tx);
      if (status !== 'pending')
        await this.repository.finishDelivery(orgId, delivery.id, status, tx);
    });
  }

  private async postWebhook(
    channel: NotificationChannel,
    delivery: NotificationDelivery,
    envelope: WebhookEnvelope,
  ): Promise<Outcome> {
    const slack = isSlackWebhook(channel.target, this.settings.slackHosts);
    const body = JSON.stringify(slack ? slackMessage(envelope) : envelope);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'meltano-cloud-webhooks/1',
      [EVENT_HEADER]: envelope.type,
      [DELIVERY_HEADER]: delivery.id,
    };
    if (!this.config.notifications.allowPrivateTargets) {
      const reason = await privateTargetReason(channel.target).catch(
        (err: unknown) =>
          `the target's host could not be resolved (${err instanceof Error ? err.message : String(err)})`,
      );
      if (reason)
        return {
          ok: false,
          statusCode: null,
          error: reason,
          permanent: reason.startsWith('the target resolves'),
        };
    }
    const secret = await this.notifications.signingSecret(channel);
    if (secret) headers[SIGNATURE_HEADER] = signWebhook(secret, body);
    const response = await fetch(channel.target, {
      method: 'POST',
      headers,
      body,
      // A redirect is not followed (it could point anywhere): it counts as a failure.
      redirect: 'manual',
      signal: AbortSignal.timeout(this.settings.timeoutMs),
    });
    const text = await response.text().catch(() => '');
    if (response.status >= 200 && response.status < 300)
      return { ok: true, statusCode: response.status, error: null };
    const detail = text.trim().replace(/\s+/g, ' ');
    return {
      ok: false,
      statusCode: response.status,
      error: `HTTP ${response.status}${detail ? `: ${truncate(detail, 200)}` : ''}`,
    };
  }

  private async sendEmail(
    channel: NotificationChannel,
    delivery: NotificationDelivery,
    envelope: WebhookEnvelope,
  ): Promise<Outcome> {
    const smtpUrl = this.config.mail.smtpUrl;
    if (!smtpUrl) {
      return {
        ok: false,
        statusCode: null,
        error: 'email is not configured on this server (SMTP_URL)',
        permanent: true,
      };
    }
    this.mailer ??= createMailer(smtpUrl, this.settings.timeoutMs);
    const message = emailMessage(envelope, channel.target);
    await this.mailer.sendMail({
      from: this.config.mail.from,
      to: channel.target,
      subject: message.subject,
      text: message.text,
      headers: { [EVENT_HEADER]: envelope.type, [DELIVERY_HEADER]: delivery.id },
    });
    return { ok: true, statusCode: null, error: null };
  }

  onModuleDestroy(): void {
    this.mailer?.close();
  }
}
