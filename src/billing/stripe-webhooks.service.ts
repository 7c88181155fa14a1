import { Injectable, Logger } from '@nestjs/common';
import type Stripe from 'stripe';
import { AppConfig } from '../config/app-config.js';
import type { OrgId } from '../database/org-id.js';
import { BillingRepository, type BillingChange } from './billing.repository.js';

const idOf = (value: string | { id: string } | null | undefined): string | null =>
  typeof value === 'string' ? value : (value?.id ?? null);

const ACTIVE = new Set(['active', 'trialing']);
const ENDED = new Set(['canceled', 'unpaid', 'incomplete_expired']);

export type WebhookOutcome = 'applied' | 'ignored' | 'unknown-customer';

/** What each verified Stripe event changes in an organization's billing state. */
@Injectable()
export class StripeWebhooksService {
  private readonly logger = new Logger('stripe-webhooks');

  constructor(
    private readonly config: AppConfig,
    private readonly billing: BillingRepository,
  ) {}

  private async orgOf(
    customer: string | { id: string } | null | undefined,
    reference?: string | null,
  ): Promise<OrgId | null> {
    const customerId = idOf(customer);
    const byCustomer = customerId ? await this.billing.orgOfStripeCustomer(customerId) : null;
    if (byCustomer) return byCustomer;
    // Checkout names the organization too (client_reference_id), in case the customer was not stored yet.
    const byReference = reference ? await this.billing.orgById(reference) : null;
    if (byReference && customerId) await this.billing.setCustomer(byReference, customerId);
    return byReference;
  }

  async handle(event: Stripe.Event, now = new Date()): Promise<WebhookOutcome> {
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- hundreds of event types exist; these six change billing, the rest are acknowledged
    switch (event.type) {
      case 'checkout.session.completed': {
        const session = event.data.object;
        if (session.mode !== 'subscription') return 'ignored';
        const orgId = await this.orgOf(session.customer, session.client_reference_id);
        if (!orgId) return 'unknown-customer';
        await this.billing.update(orgId, {
          plan: 'usage',
          stripeSubscriptionId: idOf(session.subscription),
          subscriptionStatus: 'active',
          paymentState: 'ok',
          graceEndsAt: null,
        });
        return 'applied';
      }
      case 'customer.subscription.created':
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted': {
        const sub = event.data.object;
        const orgId = await this.orgOf(sub.customer, sub.metadata?.organization_id ?? null);
        if (!orgId) return 'unknown-customer';
        const status = event.type === 'customer.subscription.deleted' ? 'canceled' : sub.status;
        const state = await this.billing.get(orgId);
        // An event about a subscription the organization has since replaced changes nothing.
        if (
          state?.stripeSubscriptionId &&
          state.stripeSubscriptionId !== sub.id &&
          ENDED.has(status)
        )
          return 'ignored';
        const change: BillingChange & { plan?: string } = {
          stripeSubscriptionId: sub.id,
          subscriptionStatus: status,
        };
        if (ACTIVE.has(status)) {
          change.plan = 'usage';
          if (state?.paymentState !== 'past_due') change.paymentState = 'ok';
        } else if (status === 'past_due') {
          change.plan = 'usage';
          change.paymentState = 'past_due';
          change.graceEndsAt = state?.graceEndsAt ?? this.graceEnd(now);
        } else if (ENDED.has(status)) {
          // Back to the free allowance: no payment method on file any more.
          change.plan = 'free';
          change.paymentState = 'none';
          change.graceEndsAt = null;
        }
        await this.billing.update(orgId, change);
        return 'applied';
      }
      case 'invoice.paid': {
        const invoice = event.data.object;
        const orgId = await this.orgOf(invoice.customer);
        if (!orgId) return 'unknown-customer';
        await this.billing.update(orgId, { paymentState: 'ok', graceEndsAt: null });
        return 'applied';
      }
      case 'invoice.payment_failed': {
        const invoice = event.data.object;
        const orgId = await this.orgOf(invoice.customer);
        if (!orgId) return 'unknown-customer';
        const state = await this.billing.get(orgId);
        await this.billing.update(orgId, {
          paymentState: 'past_due',
          // The grace period starts at the first failure and is not extended by retries.
          graceEndsAt:
            state?.paymentState === 'past_due' && state.graceEndsAt
              ? state.graceEndsAt
              : this.graceEnd(now),
        });
        this.logger.warn({ msg: 'payment failed: grace period started', org: orgId });
        return 'applied';
      }
      default:
        return 'ignored';
    }
  }

  private graceEnd(now: Date): Date {
    return new Date(now.getTime() + this.config.billing.graceDays * 24 * 3600_000);
  }
}
