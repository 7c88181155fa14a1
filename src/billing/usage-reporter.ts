import { Injectable, Logger } from '@nestjs/common';
import { UsageLedgerRepository } from './usage-ledger.repository.js';
import { StripeGateway, classifyStripeError } from './stripe-gateway.js';

/** Stripe dedupes meter event identifiers for at least 24 hours: resend only well inside that window. */
export const DEDUPE_WINDOW_MS = 23 * 3600_000;
/** Meter event timestamps must lie within the past 35 days. */
const MAX_EVENT_AGE_MS = 34 * 24 * 3600_000;

export interface ReportResult {
  sent: number;
  /** Rows Stripe already had (a response lost after it accepted them). */
  duplicates: number;
  rejected: number;
  /** Rows whose earlier attempt may have reached Stripe outside its dedupe window: left for review. */
  held: number;
}

/**
 * Sends ledger rows to Stripe as meter events: one event per row, the row
 * id as its identifier, the credits in integer tenths as its value. A row is
 * marked reported only after Stripe accepts it. Our ledger is the guard
 * against double counting: a row whose earlier attempt had an unknown
 * outcome is not resent once Stripe's dedupe window may have passed.
 */
@Injectable()
export class UsageReporter {
  private readonly logger = new Logger(UsageReporter.name);

  constructor(
    private readonly ledger: UsageLedgerRepository,
    private readonly stripe: StripeGateway,
  ) {}

  /**
   * Reports every pending row, oldest first, in batches. A transient error
   * (Stripe down, a lost response) stops the batch and is thrown, so the
   * queue retries the job with backoff; rows already accepted stay reported.
   */
  async reportPending(
    options: { batchSize?: number; now?: () => Date } = {},
  ): Promise<ReportResult> {
    const result: ReportResult = { sent: 0, duplicates: 0, rejected: 0, held: 0 };
    if (!this.stripe.configured) return result;
    const now = options.now ?? (() => new Date());
    const batchSize = options.batchSize ?? 100;
    const skip = new Set<string>();
    for (;;) {
      const rows = (await this.ledger.unreportedAcrossTenants(batchSize + skip.size)).filter(
        (r) => !skip.has(r.id),
      );
      if (!rows.length) return result;
      for (const row of rows) {
        const at = now();
        const definitelyRefused = row.lastReportError?.startsWith('rejected:') ?? false;
        if (
          row.firstReportAt &&
          at.getTime() - row.firstReportAt.getTime() > DEDUPE_WINDOW_MS &&
          !definitelyRefused
        ) {
          skip.add(row.id);
          result.held++;
          this.logger.warn({
            msg: 'usage row held: an earlier meter event may have reached Stripe outside its dedupe window',
            row: row.id,
            org: row.orgId,
          });
          continue;
        }
        await this.ledger.markAttempt(row.orgId, row.id, at);
        try {
          await this.stripe.sendMeterEvent({
            identifier: row.id,
            customerId: row.stripeCustomerId,
            valueTenths: row.creditsTenths,
            timestamp: new Date(
              Math.max(row.finishedAt.getTime(), at.getTime() - MAX_EVENT_AGE_MS),
            ),
          });
          await this.ledger.markReported(row.orgId, row.id, row.id, now());
          result.sent++;
        } catch (err) {
          const kind = classifyStripeError(err);
          const message = err instanceof Error ? err.message : String(err);
          if (kind === 'duplicate') {
            await this.ledger.markReported(row.orgId, row.id, row.id, now());
            result.duplicates++;
            continue;
          }
          if (kind === 'rejected') {
            await this.ledger.markFailed(row.orgId, row.id, `rejected: ${message}`);
            skip.add(row.id);
            result.rejected++;
            this.logger.error({ msg: 'meter event rejected', row: row.id, err: message });
            continue;
          }
          await this.ledger.markFailed(row.orgId, row.id, `transient: ${message}`);
          throw err;
        }
      }
    }
  }

  /** The daily reconciliation: what the ledger holds that Stripe has not accepted is sent again. */
  async reconcile(): Promise<ReportResult & { pendingBefore: number }> {
    const pendingBefore = await this.ledger.countUnreportedAcrossTenants();
    const result = await this.reportPending();
    this.logger.log({ msg: 'usage reconciled with Stripe', pendingBefore, ...result });
    return { pendingBefore, ...result };
  }
}
