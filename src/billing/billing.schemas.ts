import { z } from 'zod';
import { pageQuery } from '../common/zod.js';

export const periodParam = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month, YYYY-MM')
  .describe('Billing period (YYYY-MM, UTC); default: the current one');

export const billingOut = z.object({
  billing_account_number: z.string(),
  enforced: z
    .boolean()
    .describe('False when this server has no Stripe: usage is recorded, not limited'),
  plan: z.object({
    id: z.enum(['free', 'usage']),
    name: z.string(),
    price_per_credit_cents: z.number().int().nullable(),
    free_allowance_credits: z.number(),
  }),
  period: z.string(),
  credits_used: z.number(),
  credits_left: z.number().nullable().describe('Null when nothing but the spend cap limits usage'),
  spend_cents: z.number().int(),
  spend_cap_cents: z.number().int().nullable(),
  payment_state: z.enum(['none', 'ok', 'past_due']),
  grace_ends_at: z.string().nullable(),
  subscription_status: z.string().nullable(),
  has_payment_method: z.boolean(),
  limit_reached: z.string().nullable().describe('Why runs are paused, or null'),
});

export const patchBillingBody = z
  .object({
    spend_cap_cents: z
      .number()
      .int()
      .min(0)
      .max(100_000_000)
      .nullable()
      .describe('Spend cap per period in cents; null removes it'),
  })
  .strict();

const returnUrl = z.string().max(2000);
export const checkoutBody = z
  .object({ success_url: returnUrl.optional(), cancel_url: returnUrl.optional() })
  .strict();
export const portalBody = z.object({ return_url: returnUrl.optional() }).strict();
export const sessionOut = z.object({ id: z.string(), url: z.string() });

export const usageQuery = z
  .object({
    period: periodParam.optional(),
    by: z
      .enum(['project', 'deployment', 'schedule', 'day'])
      .default('project')
      .describe('How totals are grouped'),
    ...pageQuery,
  })
  .strict();

export const usageRowOut = z.object({
  id: z.string(),
  run_id: z.string(),
  project_id: z.string(),
  deployment_id: z.string(),
  schedule_id: z.string().nullable(),
  target: z.string(),
  period: z.string(),
  credits: z.number(),
  trigger: z.string(),
  status: z.string(),
  runs_per_day: z.number().nullable(),
  frequent: z.boolean(),
  billed_seconds: z.number().int(),
  finished_at: z.string(),
  reported_at: z.string().nullable(),
});

export const usageOut = z.object({
  period: z.string(),
  by: z.enum(['project', 'deployment', 'schedule', 'day']),
  total_credits: z.number(),
  totals: z.array(
    z.object({ key: z.string(), name: z.string(), credits: z.number(), runs: z.number().int() }),
  ),
  results: z.array(usageRowOut),
  pagination: z
    .object({ next_page_token: z.string().nullable(), page_size: z.number().int() })
    .nullable(),
});
