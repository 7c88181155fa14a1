import { Injectable } from '@nestjs/common';

/**
 * Delivery tuning (attempts and backoff are the job catalog's policy, `src/queue/jobs.ts`).
 * Tests name their local receiver as a Slack host.
 */
@Injectable()
export class NotificationSettings {
  /** One webhook request's timeout. */
  timeoutMs = 10_000;
  /** Hosts besides those containing "slack" whose `/services/...` URLs get Slack's format. */
  slackHosts: string[] = [];
}
