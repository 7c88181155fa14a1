import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import { orgIdFromVerifiedWebhook, type OrgId } from '../database/org-id.js';
import { clientOf } from '../database/repository.js';
import type { Tx } from '../database/tx.js';

export interface BillingState {
  orgId: OrgId;
  name: string;
  slug: string;
  billingAccountNumber: string;
  plan: string;
  stripeCustomerId: string | null;
  stripeSubscriptionId: string | null;
  subscriptionStatus: string | null;
  spendCapCents: number | null;
  paymentState: 'none' | 'ok' | 'past_due';
  graceEndsAt: Date | null;
  /** The limit episode owners were last told about (see BillingAlerts). */
  limitNotice?: string | null;
  /** `created` of the newest subscription / invoice event applied (Stripe delivers out of order). */
  subscriptionEventAt?: Date | null;
  paymentEventAt?: Date | null;
}

export type BillingChange = Partial<
  Pick<
    BillingState,
    | 'stripeSubscriptionId'
    | 'subscriptionStatus'
    | 'spendCapCents'
    | 'paymentState'
    | 'graceEndsAt'
    | 'subscriptionEventAt'
    | 'paymentEventAt'
  >
>;

const paymentStates = new Set(['none', 'ok', 'past_due']);

/** An organization's billing state: plan and Stripe customer on the organization, the rest in organization_billing. */
@Injectable()
export class BillingRepository {
  constructor(private readonly prisma: PrismaService) {}

  async get(orgId: OrgId, tx?: Tx): Promise<BillingState | null> {
    const org = await clientOf(this.prisma, tx).organization.findUnique({
      where: { id: orgId },
      include: { billing: true },
    });
    if (!org) return null;
    const b = org.billing;
    return {
      orgId,
      name: org.name,
      slug: org.slug,
      billingAccountNumber: org.billingAccountNumber,
      plan: org.plan,
      stripeCustomerId: org.stripeCustomerId,
      stripeSubscriptionId: b?.stripeSubscriptionId ?? null,
      subscriptionStatus: b?.subscriptionStatus ?? null,
      spendCapCents: b?.spendCapCents ?? null,
      paymentState: (paymentStates.has(b?.paymentState ?? '')
        ? b?.paymentState
        : 'none') as BillingState['paymentState'],
      graceEndsAt: b?.graceEndsAt ?? null,
      limitNotice: b?.limitNotice ?? null,
      subscriptionEventAt: b?.subscriptionEventAt ?? null,
      paymentEventAt: b?.paymentEventAt ?? null,
    };
  }

  async update(orgId: OrgId, change: BillingChange & { plan?: string }, tx?: Tx): Promise<void> {
    const db = clientOf(this.prisma, tx);
    const { plan, ...rest } = change;
    if (plan !== undefined) await db.organization.update({ where: { id: orgId }, data: { plan } });
    if (Object.keys(rest).length)
      await db.organizationBilling.upsert({
        where: { organizationId: orgId },
        create: { organizationId: orgId, ...rest },
        update: rest,
      });
  }

  /** Stores the Stripe customer created for the organization, unless another request stored one first. */
  async setCustomer(orgId: OrgId, customerId: string, tx?: Tx): Promise<string> {
    const db = clientOf(this.prisma, tx);
    await db.organization.updateMany({
      where: { id: orgId, stripeCustomerId: null },
      data: { stripeCustomerId: customerId },
    });
    const org = await db.organization.findUniqueOrThrow({
      where: { id: orgId },
      select: { stripeCustomerId: true },
    });
    return org.stripeCustomerId ?? customerId;
  }

  /** The organization of a Stripe customer named by a verified webhook (cross-tenant lookup by design). */
  async orgOfStripeCustomer(customerId: string, tx?: Tx): Promise<OrgId | null> {
    const org = await clientOf(this.prisma, tx).organization.findUnique({
      where: { stripeCustomerId: customerId },
      select: { id: true },
    });
    return org ? orgIdFromVerifiedWebhook(org.id) : null;
  }

  /** The organization a verified webhook names by id (Checkout's client_reference_id, customer metadata). */
  async orgById(organizationId: string, tx?: Tx): Promise<OrgId | null> {
    if (!/^[0-9a-f-]{36}$/i.test(organizationId)) return null;
    const org = await clientOf(this.prisma, tx).organization.findUnique({
      where: { id: organizationId },
      select: { id: true },
    });
    return org ? orgIdFromVerifiedWebhook(org.id) : null;
  }

  /**
   * Records a webhook event id in `tx`; false when it was recorded already (a
   * replay). The insert skips a duplicate instead of failing, so the
   * transaction stays usable; a concurrent delivery of the same event waits
   * for the first one's transaction and then sees it.
   */
  async claimEvent(id: string, type: string, tx: Tx): Promise<boolean> {
    const { count } = await clientOf(this.prisma, tx).stripeEvent.createMany({
      data: [{ id, type }],
      skipDuplicates: true,
    });
    return count === 1;
  }
}
