import { Controller, Get, HttpCode, Patch, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Origin, type RequestOrigin } from '../auth/actor.js';
import { decodeCursor, toPage } from '../common/pagination.js';
import { refParam } from '../common/slug.js';
import { ZodBody, ZodParam, ZodQuery, ZodResponse } from '../common/zod.js';
import { CurrentOrg, RequirePermission, type OrgScope } from '../organizations/org-access.js';
import type { UsageLedgerEntry } from '../generated/prisma/client.js';
import type { BillingStanding } from './billing-gate.js';
import {
  billingOut,
  checkoutBody,
  patchBillingBody,
  portalBody,
  sessionOut,
  usageOut,
  usageQuery,
} from './billing.schemas.js';
import { BillingService } from './billing.service.js';
import { UsageLedgerRepository } from './usage-ledger.repository.js';
import { TENTHS_PER_CREDIT } from './plans.js';
import { billingPeriodOf } from './pricing.js';

const credits = (tenths: number): number => tenths / TENTHS_PER_CREDIT;

export function presentBilling(s: BillingStanding, enforced: boolean): z.infer<typeof billingOut> {
  const free = !s.plan.needsPaymentMethod;
  return {
    billing_account_number: s.state.billingAccountNumber,
    enforced,
    plan: {
      id: s.plan.id,
      name: s.plan.name,
      price_per_credit_cents: s.plan.pricePerCreditCents,
      free_allowance_credits: credits(s.plan.freeAllowanceTenths),
    },
    period: s.period,
    credits_used: credits(s.usedTenths),
    credits_left: free ? credits(Math.max(0, s.plan.freeAllowanceTenths - s.usedTenths)) : null,
    spend_cents: s.spendCents,
    spend_cap_cents: s.state.spendCapCents,
    payment_state: s.state.paymentState,
    grace_ends_at: s.state.graceEndsAt?.toISOString() ?? null,
    subscription_status: s.state.subscriptionStatus,
    has_payment_method: s.plan.needsPaymentMethod && s.state.stripeSubscriptionId !== null,
    limit_reached: s.limit,
  };
}

const presentRow = (r: UsageLedgerEntry) => ({
  id: r.id,
  run_id: r.runId,
  project_id: r.projectId,
  deployment_id: r.deploymentId,
  schedule_id: r.scheduleId,
  target: r.target,
  period: r.period,
  credits: credits(r.creditsTenths),
  trigger: r.trigger,
  status: r.status,
  runs_per_day: r.runsPerDay,
  frequent: r.frequent,
  billed_seconds: r.billedSeconds,
  finished_at: r.finishedAt.toISOString(),
  reported_at: r.reportedAt?.toISOString() ?? null,
});

const example = {
  billing_account_number: 'MC-4821-0093',
  enforced: true,
  plan: { id: 'free', name: 'Free', price_per_credit_cents: null, free_allowance_credits: 100 },
  period: '2026-12',
  credits_used: 12.5,
  credits_left: 87.5,
  spend_cents: 0,
  spend_cap_cents: null,
  payment_state: 'none',
  grace_ends_at: null,
  subscription_status: null,
  has_payment_method: false,
  limit_reached: null,
};

@ApiTags('billing')
@Controller('orgs/:org')
export class BillingController {
  constructor(
    private readonly billing: BillingService,
    private readonly ledger: UsageLedgerRepository,
  ) {}

  @Get('billing')
  @RequirePermission('billing:read')
  @ApiOperation({
    summary: 'Plan, this period’s credits used and left, spend, cap and payment state',
  })
  @ZodResponse(200, billingOut, 'The organization’s billing standing', example)
  async get(@ZodParam('org', refParam) _org: string, @CurrentOrg() scope: OrgScope) {
    const standing = await this.billing.standing(scope.orgId);
    return presentBilling(standing, this.billing.enforced);
  }

  @Patch('billing')
  @RequirePermission('billing:write')
  @ApiOperation({ summary: 'Set or remove the spend cap (owner)' })
  @ZodResponse(200, billingOut, 'The updated standing', example)
  async patch(
    @ZodParam('org', refParam) _org: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
    @ZodBody(patchBillingBody, { spend_cap_cents: 5000 }) body: z.infer<typeof patchBillingBody>,
  ) {
    const standing = await this.billing.setCap(scope, origin, body.spend_cap_cents);
    return presentBilling(standing, this.billing.enforced);
  }

  @Post('billing/checkout')
  @HttpCode(201)
  @RequirePermission('billing:write')
  @ApiOperation({
    summary:
      'Start Stripe Checkout to add a payment method and subscribe to the metered plan (owner)',
  })
  @ZodResponse(201, sessionOut, 'Redirect the owner to `url`', {
    id: 'cs_test_a1',
    url: 'https://checkout.stripe.com/c/pay/cs_test_a1',
  })
  checkout(
    @ZodParam('org', refParam) _org: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
    @ZodBody(checkoutBody) body: z.infer<typeof checkoutBody>,
  ) {
    return this.billing.checkout(scope, origin, body);
  }

  @Post('billing/portal')
  @HttpCode(201)
  @RequirePermission('billing:write')
  @ApiOperation({
    summary: 'Open the Stripe Customer Portal to manage payment methods and invoices (owner)',
  })
  @ZodResponse(201, sessionOut, 'Redirect the owner to `url`', {
    id: 'bps_1',
    url: 'https://billing.stripe.com/p/session/test_1',
  })
  portal(
    @ZodParam('org', refParam) _org: string,
    @CurrentOrg() scope: OrgScope,
    @ZodBody(portalBody) body: z.infer<typeof portalBody>,
  ) {
    return this.billing.portal(scope, body);
  }

  @Get('usage')
  @RequirePermission('billing:read')
  @ApiOperation({
    summary:
      'Credits used in a period: totals by project, deployment, schedule or day, and the ledger rows',
  })
  @ZodResponse(200, usageOut, 'Totals and a page of ledger rows (newest first)')
  async usage(
    @ZodParam('org', refParam) _org: string,
    @CurrentOrg() scope: OrgScope,
    @ZodQuery(usageQuery) query: z.infer<typeof usageQuery>,
  ) {
    const period = query.period ?? billingPeriodOf(new Date());
    const [totals, rows] = await Promise.all([
      this.ledger.totals(scope.orgId, period, query.by),
      this.ledger.list(
        scope.orgId,
        { period },
        query.page_size + 1,
        decodeCursor(query.page_token),
      ),
    ]);
    const page = toPage(
      rows,
      query.page_size,
      (r) => ({ k: r.finishedAt.toISOString(), id: r.id }),
      presentRow,
    );
    return {
      period,
      by: query.by,
      total_credits: credits(totals.reduce((sum, t) => sum + t.creditsTenths, 0)),
      totals: totals.map((t) => ({
        key: t.key,
        name: t.label,
        credits: credits(t.creditsTenths),
        runs: t.runs,
      })),
      ...page,
    };
  }
}
