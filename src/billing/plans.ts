/**
 * The plan table: prices and allowances are data, read by the pricing and
 * limit code (nothing else hard-codes a price). Credits are counted in
 * integer tenths everywhere (1 credit = 10 tenths).
 */
export const TENTHS_PER_CREDIT = 10;

export interface PricingRules {
  /** Base cost of a run of a schedule firing fewer than `frequentRunsPerDay` times a day, or a run started by hand/CLI/API. */
  baseTenths: number;
  /** Base cost of a run of a schedule firing `frequentRunsPerDay` or more times a day. */
  frequentBaseTenths: number;
  /** Schedules firing at least this often a day are "frequent". */
  frequentRunsPerDay: number;
  /** Billed runtime included in the base cost (minutes). */
  includedMinutes: number;
  /** Billed runtime included for frequent schedules (minutes). */
  frequentIncludedMinutes: number;
  /** Added per started minute past the included runtime. */
  extraTenthsPerMinute: number;
}

export interface Plan {
  id: 'free' | 'usage';
  name: string;
  /** Credits a month included without a payment method (tenths); usage past it pauses work. */
  freeAllowanceTenths: number;
  /** Price of one credit in cents, billed through Stripe; null for the free plan. */
  pricePerCreditCents: number | null;
  /** Whether the organization may set a spend cap. */
  capAllowed: boolean;
  /** Whether the plan needs a payment method (a Stripe subscription). */
  needsPaymentMethod: boolean;
}

/** Meltano Cloud's published credit model. */
export const pricingRules: PricingRules = {
  baseTenths: 10,
  frequentBaseTenths: 5,
  frequentRunsPerDay: 24,
  includedMinutes: 10,
  frequentIncludedMinutes: 5,
  extraTenthsPerMinute: 1,
};

export const plans = {
  free: {
    id: 'free',
    name: 'Free',
    freeAllowanceTenths: 100 * TENTHS_PER_CREDIT,
    pricePerCreditCents: null,
    capAllowed: false,
    needsPaymentMethod: false,
  },
  usage: {
    id: 'usage',
    name: 'Pay as you go',
    freeAllowanceTenths: 0,
    pricePerCreditCents: 100,
    capAllowed: true,
    needsPaymentMethod: true,
  },
} as const satisfies Record<Plan['id'], Plan>;

export type PlanId = keyof typeof plans;

export function planOf(id: string): Plan {
  return id === 'usage' ? plans.usage : plans.free;
}

/** The spend in cents of `tenths` credits on `plan` (rounded up to the cent). */
export function spendCents(plan: Plan, tenths: number): number {
  if (plan.pricePerCreditCents === null) return 0;
  return Math.ceil((tenths * plan.pricePerCreditCents) / TENTHS_PER_CREDIT);
}
