import { Injectable } from '@nestjs/common';

/**
 * Delivery tuning in one place. Defaults suit production; tests shorten the
 * backoff and name their local receiver as a Slack host.
 */
@Injectable()
export class NotificationSettings {
  /** Delivery attempts per notification (the first included). */
  attempts = 6;
  /** Exponential backoff base: retries wait base, 2·base, 4·base… */
  backoffMs = 10_000;
  /** One webhook request's timeout. */
  timeoutMs = 10_000;
  /** Hosts besides those containing "slack" whose `/services/...` URLs get Slack's format. */
  slackHosts: string[] = [];
}
