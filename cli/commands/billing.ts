/** `org billing` and `usage`: the organization's plan, credits and where they went (issue 11). */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { ResponseOf } from '../api-client.js';
import type { Context } from '../context.js';
import { formatTime } from '../output.js';
import {
  example,
  formatOption,
  limitOption,
  plural,
  printList,
  type FormatOpts,
  type LimitOpts,
} from './common.js';

type Billing = ResponseOf<'getBilling'>;
type UsageGroup = 'project' | 'deployment' | 'schedule' | 'day';

const GROUPS: readonly UsageGroup[] = ['project', 'deployment', 'schedule', 'day'];

/** Credits are counted in tenths: always one decimal. */
export const formatCredits = (credits: number): string => credits.toFixed(1);
export const formatMoney = (cents: number): string => `$${(cents / 100).toFixed(2)}`;

/** Commander parser for `--period YYYY-MM`. */
export function periodArg(value: string): string {
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(value))
    throw new InvalidArgumentError('--period must be a month, YYYY-MM (for example 2026-11).');
  return value;
}

function paymentLine(b: Billing, ctx: Context): string {
  const subscription = b.subscription_status ? `, subscription ${b.subscription_status}` : '';
  switch (b.payment_state) {
    case 'past_due':
      return `past due: a payment failed${
        b.grace_ends_at
          ? `; the grace period ends ${formatTime(b.grace_ends_at, ctx.time, 'long')}`
          : ''
      }${subscription}`;
    case 'ok':
      return `ok${b.has_payment_method ? ', payment method on file' : ''}${subscription}`;
    case 'none':
      return `${b.has_payment_method ? 'payment method on file' : 'no payment method'}${subscription}`;
  }
}

/** The standing as `key: value` lines. */
export function billingLines(org: string, b: Billing, ctx: Context): [string, string][] {
  const plan =
    b.plan.price_per_credit_cents === null
      ? `${b.plan.name} (${formatCredits(b.plan.free_allowance_credits)} credits a month included)`
      : `${b.plan.name} (${formatMoney(b.plan.price_per_credit_cents)} per credit)`;
  const status = b.limit_reached
    ? `paused: ${b.limit_reached}`
    : b.enforced
      ? 'active'
      : 'active (billing is not enforced on this server: usage is recorded, not limited)';
  return [
    ['Organization', `${org} (billing account ${b.billing_account_number})`],
    ['Plan', plan],
    ['Status', status],
    ['Period', `${b.period} (UTC)`],
    ['Credits used', formatCredits(b.credits_used)],
    ['Credits left', b.credits_left === null ? '-' : formatCredits(b.credits_left)],
    ['Spend', formatMoney(b.spend_cents)],
    ['Spend cap', b.spend_cap_cents === null ? 'none' : formatMoney(b.spend_cap_cents)],
    ['Payment', paymentLine(b, ctx)],
  ];
}

/** Adds `billing` to the `org` command. */
export function orgBillingCommand(ctx: Context): Command {
  return example(
    new Command('billing')
      .description(
        'Show the organization’s plan, billing status, this period’s credits used and left, spend cap and payment state',
      )
      .addOption(
        new Option('--format <format>', 'output format')
          .choices(['terminal', 'json'])
          .default('terminal'),
      )
      .action(async (opts: { format: 'terminal' | 'json' }) => {
        const org = await ctx.org();
        const b = await ctx.api.request('getBilling', { path: { org } });
        if (opts.format === 'json') {
          ctx.io.out(`${JSON.stringify(b, null, 2)}\n`);
          return;
        }
        const lines = billingLines(org, b, ctx);
        ctx.io.out(lines.map(([k, v]) => `${`${k}:`.padEnd(15)}${v}`).join('\n') + '\n');
      }),
    'meltano-cloud org billing',
    'meltano-cloud org billing --format json',
  );
}

export function usageCommand(ctx: Context): Command {
  return example(
    new Command('usage')
      .description(
        'Credits used in a billing period, by project, deployment, schedule or day (from the usage ledger)',
      )
      .addOption(
        new Option('--by <group>', 'how totals are grouped').choices(GROUPS).default('project'),
      )
      .option(
        '--period <YYYY-MM>',
        'billing period, a UTC month (default: the current one)',
        periodArg,
      )
      .addOption(limitOption('groups'))
      .addOption(formatOption())
      .action(async (opts: FormatOpts & LimitOpts & { by: UsageGroup; period?: string }) => {
        const org = await ctx.org();
        const usage = await ctx.api.request('getUsage', {
          path: { org },
          query: { by: opts.by, page_size: 1, ...(opts.period ? { period: opts.period } : {}) },
        });
        if (opts.format === 'json') {
          const { period, by, total_credits } = usage;
          const totals = usage.totals.slice(0, opts.limit);
          ctx.io.out(`${JSON.stringify({ period, by, total_credits, totals }, null, 2)}\n`);
          if (totals.length < usage.totals.length)
            ctx.io.err(
              `Output truncated to ${plural(totals.length, 'item')}; use --limit to show more (e.g. --limit ${opts.limit * 10}).\n`,
            );
          return;
        }
        const runs = usage.totals.reduce((n, t) => n + t.runs, 0);
        if (opts.format === 'terminal')
          ctx.io.out(
            `${formatCredits(usage.total_credits)} credits in ${plural(runs, 'run')} in ${usage.period} (UTC), by ${usage.by}\n\n`,
          );
        printList(
          ctx.io,
          opts.format,
          usage.totals,
          [
            { header: usage.by.toUpperCase(), value: (t) => t.name, shrink: true },
            { header: 'CREDITS', value: (t) => formatCredits(t.credits), align: 'right' },
            { header: 'RUNS', value: (t) => String(t.runs), align: 'right' },
            {
              header: 'SHARE',
              value: (t) =>
                usage.total_credits > 0
                  ? `${Math.round((t.credits / usage.total_credits) * 100)}%`
                  : '-',
              align: 'right',
            },
          ],
          `No usage in ${usage.period}.`,
          opts.limit,
        );
      }),
    'meltano-cloud usage',
    'meltano-cloud usage --by schedule --period 2026-11',
    'meltano-cloud usage --by day --format json',
  );
}
