import { Injectable, Logger } from '@nestjs/common';
import type Stripe from 'stripe';
import { AppConfig } from '../config/app-config.js';
import type { OrgId } from '../database/org-id.js';
import { Transactions } from '../database/transactions.js';
import type { Tx } from '../database/tx.js';
import { BillingRepository, type BillingChange } from './billing.repository.js';

const idOf = (value: string | { id: string } | null | undefined): string | null =>
  typeof value === 'string' ? value : (value?.id ?? null);

const ACTIVE = new Set(['active', 'trialing']);
const ENDED = new Set(['canceled', 'unpaid', 'incomplete_expired']);

export type WebhookOutcome = 'applied' | 'ignored' | 'stale' | 'unknown-customer' | 'duplicate';

/**
 * Stripe does not deliver events in the order they happened: an event older
 * (by its `created`) than the newest one applied to the same state is stale.
 * Within one second, `customer.subscription.created` (always a
 * subscription's first event) never overrides a later one.
 */
function isStale(event: Stripe.Event, lastApplied: Date | null | undefined): boolean {
  if (!lastApplied) return false;
  const at = event.created * 1000;
  if (at < lastApplied.getTime()) return true;
  return at === lastApplied.getTime() && event.type === 'customer.subscription.created';
}

/** What each verified Stripe event changes in an organization's billing state. */
@Injectable()
export class StripeWebhooksService {
  private readonly logger = new Logger('stripe-webhooks');

  constructor(
    private readonly config: AppConfig,
    private readonly billing: BillingRepository,
    private readonly transactions: Transactions,
  ) {}

  /**
   * Processes a verified event once: its id is recorded in the transaction
   * that applies it, so an event whose handling fails (or whose process
   * dies) is not recorded, and Stripe's retry of it is processed.
   */
  receive(event: Stripe.Event, now = new Date()): Promise<WebhookOutcome> {
    return this.transactions.run(async (tx) => {
      if (!(await this.billing.claimEvent(event.id, event.type, tx))) return 'duplicate';
      return this.apply(event, tx, now);
    });
  }

  private async orgOf(
    tx: Tx,
    customer: string | { id: string } | null | undefined,
    reference?: string | null,
  ): Promise<OrgId | null> {
    const customerId = idOf(customer);
    const byCustomer = customerId ? await this.billing.orgOfStripeCustomer(customerId, tx) : null;
    if (byCustomer) return byCustomer;
    // Checkout names the organization too (client_reference_id), in case the customer was not stored yet.
    const byReference = reference ? await this.billing.orgById(reference, tx) : null;
    if (byReference && customerId) await this.billing.setCustomer(byReference, customerId, tx);
    return byReference;
  }

  private async apply(event: Stripe.Event, tx: Tx, now: Date): Promise<WebhookOutcome> {
    const created = new Date(event.created * 1000);
    // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- hundreds of event types exist; these six change billing, the rest are acknowledged
    switch (event.type) {
      case 'checkout.session.completed': {
        const session = event.data.object;
        if (session.mode !== 'subscription') return 'ignored';
        const orgId = await this.orgOf(tx, session.customer, session.client_reference_id);
        if (!orgId) return 'unknown-customer';
        const state = await this.billing.get(orgId, tx);
        // A subscription event newer than this session already said where the subscription is.
        if (isStale(event, state?.subscriptionEventAt)) return 'stale';
        await this.billing.update(
          orgId,
          {
            plan: 'usage',
            stripeSubscriptionId: idOf(session.subscription),
            subscriptionStatus: 'active',
            paymentState: 'ok',
            graceEndsAt: null,
            subscriptionEventAt: created,
          },
          tx,
        );
        return 'applied';
      }
      case 'customer.subscription.created':
      case 'customer.subscription.updated':
      case 'customer.subscription.deleted': {
        const sub = event.data.object;
        const orgId = await this.orgOf(tx, sub.customer, sub.metadata?.organization_id ?? null);
        if (!orgId) return 'unknown-customer';
        const status = event.type === 'customer.subscription.deleted' ? 'canceled' : sub.status;
        const state = await this.billing.get(orgId, tx);
        if (isStale(event, state?.subscriptionEventAt)) return 'stale';
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
          subscriptionEventAt: created,
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
        await this.billing.update(orgId, change, tx);
        return 'applied';
      }
      case 'invoice.paid': {
        const invoice = event.data.object;
        const orgId = await this.orgOf(tx, invoice.customer);
        if (!orgId) return 'unknown-customer';
        const state = await this.billing.get(orgId, tx);
        // A payment failure reported after this payment, delivered first, is not undone by it.
        if (isStale(event, state?.paymentEventAt)) return 'stale';
        await this.billing.update(
          orgId,
          { paymentState: 'ok', graceEndsAt: null, paymentEventAt: created },
          tx,
        );
        return 'applied';
      }
      case 'invoice.payment_failed': {
        const invoice = event.data.object;
        const orgId = await this.orgOf(tx, invoice.customer);
        if (!orgId) return 'unknown-customer';
        const state = await this.billing.get(orgId, tx);
        // A failure older than the last payment applied (delivered late) changes nothing.
        if (isStale(event, state?.paymentEventAt)) return 'stale';
        await this.billing.update(
          orgId,
          {
            paymentState: 'past_due',
            // The grace period starts at the first failure and is not extended by retries.
            graceEndsAt:
              state?.paymentState === 'past_due' && state.graceEndsAt
                ? state.graceEndsAt
                : this.graceEnd(now),
            paymentEventAt: created,
          },
          tx,
        );
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
