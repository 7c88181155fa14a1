import { HttpStatus, Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import type { OrgId } from '../database/org-id.js';
import { Transactions } from '../database/transactions.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { RequestOrigin } from '../auth/actor.js';
import { ProblemException, conflict, notFound, validationFailed } from '../common/problem.js';
import type { OrgScope } from '../organizations/org-access.js';
import { QueueService } from '../queue/queue.service.js';
import { BillingGate, type BillingStanding } from './billing-gate.js';
import { BillingRepository } from './billing.repository.js';
import { StripeGateway } from './stripe-gateway.js';

export const stripeNotConfigured = (): ProblemException =>
  new ProblemException(
    HttpStatus.NOT_FOUND,
    'billing-not-configured',
    'Billing is not configured on this server (STRIPE_SECRET_KEY): usage is recorded, nothing is charged.',
  );

/** Billing as owners see it: standing, spend cap, Checkout and the Customer Portal. */
@Injectable()
export class BillingService {
  private readonly logger = new Logger(BillingService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly billing: BillingRepository,
    private readonly gate: BillingGate,
    private readonly stripe: StripeGateway,
    private readonly transactions: Transactions,
    private readonly audit: AuditRepository,
    private readonly queues: QueueService,
  ) {}

  /** Whether limits apply here (Stripe configured). */
  get enforced(): boolean {
    return this.gate.enforced;
  }

  async standing(orgId: OrgId): Promise<BillingStanding> {
    const standing = await this.gate.standing(orgId);
    if (!standing) throw notFound('Organization');
    return standing;
  }

  async setCap(
    scope: OrgScope,
    origin: RequestOrigin,
    spendCapCents: number | null,
  ): Promise<BillingStanding> {
    await this.transactions.run(async (tx) => {
      await this.billing.update(scope.orgId, { spendCapCents }, tx);
      await this.audit.recordAs(
        scope,
        origin,
        {
          action: 'billing.cap',
          resourceType: 'organization',
          resourceId: scope.orgId,
          details: { spend_cap_cents: spendCapCents },
        },
        tx,
      );
    });
    return this.standing(scope.orgId);
  }

  /** The organization's Stripe customer, created on first use (keyed by its billing account number). */
  private async customerOf(orgId: OrgId): Promise<string> {
    const state = await this.billing.get(orgId);
    if (!state) throw notFound('Organization');
    if (state.stripeCustomerId) return state.stripeCustomerId;
    const id = await this.stripe.createCustomer({
      id: orgId,
      name: state.name,
      slug: state.slug,
      billingAccountNumber: state.billingAccountNumber,
    });
    return this.billing.setCustomer(orgId, id);
  }

  /** A return URL must be on this service (no open redirects). */
  private returnUrl(scope: OrgScope, given: string | undefined, field: string): string {
    const base = this.config.http.publicUrl;
    const fallback = `${base}/orgs/${scope.organization.slug}/billing`;
    if (!given) return fallback;
    let url: URL;
    try {
      url = new URL(given, base);
    } catch {
      throw validationFailed([{ field, message: 'is not a URL' }]);
    }
    if (url.origin !== new URL(base).origin)
      throw validationFailed([{ field, message: `must be on ${new URL(base).origin}` }]);
    return url.toString();
  }

  async checkout(
    scope: OrgScope,
    origin: RequestOrigin,
    input: { success_url?: string | undefined; cancel_url?: string | undefined },
  ): Promise<{ id: string; url: string }> {
    if (!this.stripe.configured) throw stripeNotConfigured();
    const successUrl = this.returnUrl(scope, input.success_url, 'body.success_url');
    const cancelUrl = this.returnUrl(scope, input.cancel_url, 'body.cancel_url');
    const state = await this.billing.get(scope.orgId);
    if (state?.plan === 'usage' && state.subscriptionStatus === 'active')
      throw conflict(
        'The organization already has an active subscription: manage it in the Customer Portal (POST …/billing/portal).',
      );
    const customerId = await this.customerOf(scope.orgId);
    const session = await this.stripe.createCheckout({
      customerId,
      organizationId: scope.orgId,
      successUrl,
      cancelUrl,
    });
    await this.audit.record(scope.orgId, scope.actor, origin, {
      action: 'billing.checkout',
      resourceType: 'organization',
      resourceId: scope.orgId,
      details: { session: session.id },
    });
    return session;
  }

  async portal(
    scope: OrgScope,
    input: { return_url?: string | undefined },
  ): Promise<{ id: string; url: string }> {
    if (!this.stripe.configured) throw stripeNotConfigured();
    const returnUrl = this.returnUrl(scope, input.return_url, 'body.return_url');
    const customerId = await this.customerOf(scope.orgId);
    return this.stripe.createPortal(customerId, returnUrl);
  }

  /**
   * Before an organization is deleted: its subscription is cancelled by the
   * worker (the job carries the subscription id, the rows are gone by then).
   */
  async beforeOrganizationDeleted(orgId: OrgId): Promise<void> {
    if (!this.stripe.configured) return;
    const state = await this.billing.get(orgId);
    if (!state?.stripeSubscriptionId || state.subscriptionStatus === 'canceled') return;
    await this.queues.enqueue('billing.cancel-subscription', {
      organizationId: orgId,
      subscriptionId: state.stripeSubscriptionId,
    });
    this.logger.log({ msg: 'subscription cancellation queued', org: orgId });
  }
}
