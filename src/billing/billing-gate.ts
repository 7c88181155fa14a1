import { HttpStatus, Injectable, Optional } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import type { OrgId } from '../database/org-id.js';
import { ProblemException } from '../common/problem.js';
import { BillingRepository, type BillingState } from './billing.repository.js';
import { UsageLedgerRepository } from './usage-ledger.repository.js';
import { planOf, spendCents, TENTHS_PER_CREDIT, type Plan } from './plans.js';
import { billingPeriodOf } from './pricing.js';
import { BillingAlerts } from './billing-alerts.js';

export interface BillingStanding {
  state: BillingState;
  plan: Plan;
  period: string;
  usedTenths: number;
  spendCents: number;
  /** Null while work may go on; otherwise why it is paused ("billing limit reached: …"). */
  limit: string | null;
}

const money = (cents: number): string => `$${(cents / 100).toFixed(2)}`;

/** Why work is paused, from the state and this period's ledger total; pure. */
export function limitReason(
  state: BillingState,
  plan: Plan,
  period: string,
  usedTenths: number,
  now: Date,
): string | null {
  if (!plan.needsPaymentMethod) {
    if (usedTenths >= plan.freeAllowanceTenths)
      return (
        `billing limit reached: the free allowance of ${plan.freeAllowanceTenths / TENTHS_PER_CREDIT} credits ` +
        `for ${period} is used up; an owner can add a payment method (POST /orgs/${state.slug}/billing/checkout) to continue`
      );
    return null;
  }
  if (state.paymentState === 'past_due' && state.graceEndsAt && now >= state.graceEndsAt)
    return (
      `billing limit reached: a payment failed and the grace period ended on ${state.graceEndsAt.toISOString()}; ` +
      `an owner can pay the open invoice or update the payment method in the Customer Portal (POST /orgs/${state.slug}/billing/portal)`
    );
  if (state.spendCapCents !== null && spendCents(plan, usedTenths) >= state.spendCapCents)
    return (
      `billing limit reached: the spend cap of ${money(state.spendCapCents)} for ${period} is reached; ` +
      `an owner can raise or remove it (PATCH /orgs/${state.slug}/billing)`
    );
  return null;
}

/**
 * Whether an organization may start work now. Enforced only when Stripe is
 * configured (self-hosters are never limited); reads the ledger, never Stripe.
 */
@Injectable()
export class BillingGate {
  constructor(
    private readonly config: AppConfig,
    private readonly billing: BillingRepository,
    private readonly ledger: UsageLedgerRepository,
    @Optional() private readonly alerts?: BillingAlerts,
  ) {}

  get enforced(): boolean {
    return this.config.stripe !== undefined;
  }

  async standing(orgId: OrgId, now = new Date()): Promise<BillingStanding | null> {
    const state = await this.billing.get(orgId);
    if (!state) return null;
    const plan = planOf(state.plan);
    const period = billingPeriodOf(now);
    const usedTenths = await this.ledger.periodTotal(orgId, period);
    return {
      state,
      plan,
      period,
      usedTenths,
      spendCents: spendCents(plan, usedTenths),
      limit: this.enforced ? limitReason(state, plan, period, usedTenths, now) : null,
    };
  }

  /** Null when work may start; otherwise the reason ("billing limit reached: …"). */
  async check(orgId: OrgId, now = new Date()): Promise<string | null> {
    if (!this.enforced) return null;
    const standing = await this.standing(orgId, now);
    if (!standing) return null;
    await this.alerts?.observe(standing, now); // owners hear of a new limit once per episode
    return standing.limit;
  }

  /** For manual runs: refuses with 402 problem+json saying what to do. */
  async assertMayRun(orgId: OrgId): Promise<void> {
    const reason = await this.check(orgId);
    if (reason)
      throw new ProblemException(HttpStatus.PAYMENT_REQUIRED, 'billing-limit-reached', reason);
  }
}
