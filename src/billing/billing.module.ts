// billing: credits priced as data, the usage ledger, Stripe customers/Checkout/Portal/meter events/webhooks, limits that pause work.
import { Global, Module } from '@nestjs/common';
import { BillingController } from './billing.controller.js';
import { BillingAlerts } from './billing-alerts.js';
import { BillingAlertsRepository } from './billing-alerts.repository.js';
import { BillingGate } from './billing-gate.js';
import { BillingRepository } from './billing.repository.js';
import { BillingService } from './billing.service.js';
import { StripeGateway } from './stripe-gateway.js';
import { StripeWebhooksController } from './stripe-webhooks.controller.js';
import { StripeWebhooksService } from './stripe-webhooks.service.js';
import { UsageLedgerRepository } from './usage-ledger.repository.js';
import { UsageReporter } from './usage-reporter.js';

const core = [
  BillingRepository,
  UsageLedgerRepository,
  BillingAlertsRepository,
  BillingAlerts,
  BillingGate,
  StripeGateway,
  BillingService,
  UsageReporter,
];

/**
 * Billing for every entry point: the ledger (written by the run executor),
 * the gate (asked by manual runs and ticks), Stripe, the reporter (worker).
 */
@Global()
@Module({ providers: core, exports: core })
export class BillingCoreModule {}

/** The billing API: owners' billing routes, usage, and Stripe's webhooks. */
@Module({
  controllers: [BillingController, StripeWebhooksController],
  providers: [StripeWebhooksService],
})
export class BillingModule {}
