import { createHash } from 'node:crypto';
import { Injectable, Logger } from '@nestjs/common';
import type { OrgId } from '../database/org-id.js';
import type { BillingStanding } from './billing-gate.js';
import { BillingAlertsRepository } from './billing-alerts.repository.js';

/** Work of an organization paused for billing, reported once per episode. */
export interface BillingLimitReached {
  orgId: OrgId;
  slug: string;
  name: string;
  period: string;
  /** "billing limit reached: …", saying what to do. */
  reason: string;
  kind: 'free_allowance' | 'grace_period' | 'spend_cap';
  /** Names the episode: the same limit for the same reason is one episode. */
  episode: string;
  at: Date;
}

type Listener = (event: BillingLimitReached) => Promise<void>;

/** One episode per reason: the reason names the period, the cap or the end of the grace period. */
export const limitEpisode = (reason: string): string =>
  createHash('sha256').update(reason).digest('hex').slice(0, 32);

export function limitKind(reason: string): BillingLimitReached['kind'] {
  if (reason.includes('free allowance')) return 'free_allowance';
  if (reason.includes('grace period')) return 'grace_period';
  return 'spend_cap';
}

/**
 * Tells owners when work first pauses for billing (issue 11): the gate hands
 * over each standing it enforces; the first to find a new limit claims the
 * episode in organization_billing.limit_notice (one row update, so two
 * processes never both claim it) and calls the listeners (notifications and
 * owner email subscribe, see src/notifications/billing-limit-notices.ts). A
 * standing without a limit ends the episode. Listeners run in the background:
 * a slow mail server never delays a tick or a 402.
 */
@Injectable()
export class BillingAlerts {
  private readonly logger = new Logger('billing');
  private readonly listeners: Listener[] = [];
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly repository: BillingAlertsRepository) {}

  onLimitReached(listener: Listener): void {
    this.listeners.push(listener);
  }

  /** Resolves once every listener started so far has finished (for tests and shutdown). */
  async settled(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  /** Returns true when this call began a new episode (and notified). Never throws. */
  async observe(standing: BillingStanding, now = new Date()): Promise<boolean> {
    const { state, limit } = standing;
    try {
      if (!limit) {
        if (state.limitNotice) await this.repository.clearLimitNotice(state.orgId);
        return false;
      }
      const episode = limitEpisode(limit);
      if (state.limitNotice === episode) return false;
      if (!(await this.repository.claimLimitNotice(state.orgId, episode, now))) return false;
      const event: BillingLimitReached = {
        orgId: state.orgId,
        slug: state.slug,
        name: state.name,
        period: standing.period,
        reason: limit,
        kind: limitKind(limit),
        episode,
        at: now,
      };
      this.logger.log({ msg: 'work paused for billing', org: state.orgId, reason: limit });
      for (const listener of this.listeners) this.track(listener, event);
      return true;
    } catch (err) {
      this.logger.warn({
        msg: 'billing limit notice failed',
        org: state.orgId,
        err: err instanceof Error ? err.message : String(err),
      });
      return false;
    }
  }

  private track(listener: Listener, event: BillingLimitReached): void {
    const run = Promise.resolve()
      .then(() => listener(event))
      .catch((err: unknown) =>
        this.logger.warn({
          msg: 'billing limit listener failed',
          org: event.orgId,
          err: err instanceof Error ? err.message : String(err),
        }),
      )
      .finally(() => this.pending.delete(run));
    this.pending.add(run);
  }
}
