import { Injectable } from '@nestjs/common';
import Stripe from 'stripe';
import { AppConfig } from '../config/app-config.js';

export type StripeSettings = NonNullable<AppConfig['stripe']>;

/** The SDK's connection settings from `STRIPE_API_URL` (a local server in tests). */
export function stripeConnection(apiUrl: string): {
  host: string;
  port: number;
  protocol: 'http' | 'https';
} {
  const url = new URL(apiUrl);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return {
    host: url.hostname,
    port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443,
    protocol,
  };
}

/**
 * Stripe's answer to a meter event whose identifier it already holds (within
 * its dedupe window of at least 24 hours): a 400 `invalid_request_error`
 * with no `code`, recognisable only by its message, "An event already exists
 * with identifier <id>." (as observed in test mode by other integrations).
 */
const DUPLICATE_METER_EVENT = /^An event already exists with identifier /;

/** What an error from Stripe means for a request we may repeat. */
export function classifyStripeError(err: unknown): 'duplicate' | 'rejected' | 'transient' {
  if (err instanceof Stripe.errors.StripeError) {
    const status = err.statusCode ?? 0;
    if (
      status === 400 &&
      err.type === 'StripeInvalidRequestError' &&
      DUPLICATE_METER_EVENT.test(err.message ?? '')
    )
      return 'duplicate';
    if (status >= 400 && status < 500 && status !== 409 && status !== 429) return 'rejected';
  }
  return 'transient';
}

/**
 * Every call we make to Stripe, through the official SDK. Never on a run's
 * path: the API calls it for owners' Checkout/Portal requests, the worker for
 * meter events and cancellations.
 */
@Injectable()
export class StripeGateway {
  private client: Stripe | undefined;

  constructor(private readonly config: AppConfig) {}

  get configured(): boolean {
    return this.config.stripe !== undefined;
  }

  get settings(): StripeSettings {
    if (!this.config.stripe) throw new Error('Stripe is not configured');
    return this.config.stripe;
  }

  get sdk(): Stripe {
    this.client ??= new Stripe(this.settings.secretKey, {
      ...stripeConnection(this.settings.apiUrl),
      maxNetworkRetries: 1,
      timeout: 20_000,
      telemetry: false,
    });
    return this.client;
  }

  async createCustomer(org: {
    id: string;
    name: string;
    slug: string;
    billingAccountNumber: string;
  }): Promise<string> {
    const customer = await this.sdk.customers.create(
      {
        name: org.name,
        description: `meltano-cloud organization ${org.slug} (${org.billingAccountNumber})`,
        metadata: {
          organization_id: org.id,
          organization_slug: org.slug,
          billing_account_number: org.billingAccountNumber,
        },
      },
      // One customer per billing account, even if two requests race.
      { idempotencyKey: `customer-${org.billingAccountNumber}` },
    );
    return customer.id;
  }

  async createCheckout(input: {
    customerId: string;
    organizationId: string;
    successUrl: string;
    cancelUrl: string;
  }): Promise<{ id: string; url: string }> {
    const session = await this.sdk.checkout.sessions.create({
      mode: 'subscription',
      customer: input.customerId,
      client_reference_id: input.organizationId,
      // A metered price: no quantity, usage arrives as meter events.
      line_items: [{ price: this.settings.priceId }],
      success_url: input.successUrl,
      cancel_url: input.cancelUrl,
      subscription_data: { metadata: { organization_id: input.organizationId } },
      metadata: { organization_id: input.organizationId },
    });
    return { id: session.id, url: session.url ?? '' };
  }

  async createPortal(customerId: string, returnUrl: string): Promise<{ id: string; url: string }> {
    const session = await this.sdk.billingPortal.sessions.create({
      customer: customerId,
      return_url: returnUrl,
    });
    return { id: session.id, url: session.url };
  }

  /** One meter event; `value` is an integer number of tenths of a credit. */
  async sendMeterEvent(input: {
    identifier: string;
    customerId: string;
    valueTenths: number;
    timestamp: Date;
  }): Promise<void> {
    if (!Number.isInteger(input.valueTenths) || input.valueTenths <= 0)
      throw new Error(`meter event values are positive integers, got ${input.valueTenths}`);
    await this.sdk.billing.meterEvents.create({
      event_name: this.settings.meterEventName,
      identifier: input.identifier,
      timestamp: Math.floor(input.timestamp.getTime() / 1000),
      payload: { stripe_customer_id: input.customerId, value: String(input.valueTenths) },
    });
  }

  async cancelSubscription(subscriptionId: string): Promise<void> {
    await this.sdk.subscriptions.cancel(
      subscriptionId,
      {},
      {
        idempotencyKey: `cancel-${subscriptionId}`,
      },
    );
  }

  /** Verifies a webhook over its raw body (throws when forged or stale). */
  constructEvent(rawBody: Buffer, signature: string): Stripe.Event {
    return this.sdk.webhooks.constructEvent(
      rawBody,
      signature,
      this.settings.webhookSecret,
      this.settings.webhookToleranceSeconds,
    );
  }
}
