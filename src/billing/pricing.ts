import type { RunStatus, RunTrigger } from '../generated/prisma/enums.js';
import { pricingRules, type PricingRules } from './plans.js';

/** Everything the price of a run depends on; kept on its ledger row. */
export interface PricingInput {
  trigger: RunTrigger;
  status: RunStatus;
  /** Fires per day of the run's schedule (null when the run was not started by a schedule tick). */
  runsPerDay: number | null;
  /** Billed runtime in seconds: pipeline start → finish (queueing, cloning and `meltano install` excluded). */
  billedSeconds: number;
  /** Whether the pipeline started at all (false: cancelled or failed before it did). */
  pipelineStarted: boolean;
}

export interface Price {
  creditsTenths: number;
  frequent: boolean;
}

/**
 * The cost of one run in tenths of a credit. Pure: the same inputs always
 * cost the same. A run of a schedule tick is priced by the schedule's rate;
 * runs started by hand, the CLI, the API, or retried by someone, cost the
 * base price. Skipped runs and runs whose pipeline never started cost 0.
 */
export function priceRun(input: PricingInput, rules: PricingRules = pricingRules): Price {
  const frequent =
    input.trigger === 'schedule' &&
    input.runsPerDay !== null &&
    input.runsPerDay >= rules.frequentRunsPerDay;
  if (input.status === 'skipped' || !input.pipelineStarted) return { creditsTenths: 0, frequent };
  const base = frequent ? rules.frequentBaseTenths : rules.baseTenths;
  const includedSeconds = (frequent ? rules.frequentIncludedMinutes : rules.includedMinutes) * 60;
  const past = Math.max(0, Math.ceil(input.billedSeconds) - includedSeconds);
  const startedMinutes = Math.ceil(past / 60);
  return { creditsTenths: base + startedMinutes * rules.extraTenthsPerMinute, frequent };
}

/** Billed seconds of a run: from its pipeline start to its finish, a started second counting whole. */
export function billedSecondsOf(run: {
  pipelineStartedAt: Date | null;
  finishedAt: Date | null;
}): number {
  if (!run.pipelineStartedAt || !run.finishedAt) return 0;
  return Math.max(
    0,
    Math.ceil((run.finishedAt.getTime() - run.pipelineStartedAt.getTime()) / 1000),
  );
}

/** The billing period of an instant: `YYYY-MM` in UTC. */
export function billingPeriodOf(at: Date): string {
  return at.toISOString().slice(0, 7);
}

/** The first instant of a period and of the next one. */
export function periodBounds(period: string): { start: Date; end: Date } {
  const [y, m] = period.split('-').map(Number) as [number, number];
  return { start: new Date(Date.UTC(y, m - 1, 1)), end: new Date(Date.UTC(y, m, 1)) };
}

/** Formats tenths as a decimal credit figure (`12.5`). */
export const creditsOf = (tenths: number): number => tenths / 10;
