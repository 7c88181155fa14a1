import { Injectable } from '@nestjs/common';
import { JobHandlerRegistry } from '../../src/queue/job-handlers.js';
import { StripeGateway } from '../../src/billing/stripe-gateway.js';
import { UsageReporter } from '../../src/billing/usage-reporter.js';

@Injectable()
export class BillingHandlers {
  constructor(registry: JobHandlerRegistry, reporter: UsageReporter, stripe: StripeGateway) {
    registry.register('billing.report-usage', async () => {
      await reporter.reportPending();
    });
    registry.register('billing.reconcile', async () => {
      await reporter.reconcile();
    });
    registry.register('billing.cancel-subscription', async (payload) => {
      if (stripe.configured) await stripe.cancelSubscription(payload.subscriptionId);
    });
  }
}
