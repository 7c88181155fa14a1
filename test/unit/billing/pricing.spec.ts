import { runsPerDay } from '../../../src/schedules/interval.js';
import { plans, planOf, spendCents, TENTHS_PER_CREDIT } from '../../../src/billing/plans.js';
import {
  billedSecondsOf,
  billingPeriodOf,
  periodBounds,
  priceRun,
  type PricingInput,
} from '../../../src/billing/pricing.js';

const run = (over: Partial<PricingInput>): PricingInput => ({
  trigger: 'schedule',
  status: 'succeeded',
  runsPerDay: 1,
  billedSeconds: 60,
  pipelineStarted: true,
  ...over,
});
const minutes = (m: number, s = 0): number => m * 60 + s;

describe('plans', () => {
  it('gives 100 free credits a month and prices the paid plan per credit', () => {
    expect(plans.free.freeAllowanceTenths).toBe(100 * TENTHS_PER_CREDIT);
    expect(plans.usage.pricePerCreditCents).toBeGreaterThan(0);
    expect(planOf('usage')).toBe(plans.usage);
    expect(planOf('anything-else')).toBe(plans.free);
    expect(spendCents(plans.usage, 25)).toBe(
      Math.ceil((25 * plans.usage.pricePerCreditCents) / 10),
    );
    expect(spendCents(plans.free, 10_000)).toBe(0);
  });
});

describe('priceRun', () => {
  it('charges 1 credit for an infrequent schedule and for any run started by hand, CLI or API', () => {
    expect(priceRun(run({ runsPerDay: 1 }))).toEqual({ creditsTenths: 10, frequent: false });
    expect(priceRun(run({ runsPerDay: 23.99 })).creditsTenths).toBe(10);
    for (const trigger of ['manual', 'api', 'cli', 'retry'] as const) {
      // Even when the schedule behind it fires every minute: started by someone, it costs 1.
      expect(priceRun(run({ trigger, runsPerDay: 1440 }))).toEqual({
        creditsTenths: 10,
        frequent: false,
      });
      expect(priceRun(run({ trigger, runsPerDay: null })).creditsTenths).toBe(10);
    }
  });

  it('charges 0.5 credit for a schedule firing 24 or more times a day', () => {
    expect(priceRun(run({ runsPerDay: 24 }))).toEqual({ creditsTenths: 5, frequent: true });
    expect(priceRun(run({ runsPerDay: 288 })).creditsTenths).toBe(5);
  });

  it('adds 0.1 credit per started minute past 10 minutes (infrequent)', () => {
    const at = (s: number) => priceRun(run({ billedSeconds: s })).creditsTenths;
    expect(at(minutes(10))).toBe(10);
    expect(at(minutes(10, 1))).toBe(11);
    expect(at(minutes(11))).toBe(11);
    expect(at(minutes(11, 1))).toBe(12);
    expect(at(minutes(60))).toBe(60);
    expect(at(0)).toBe(10);
  });

  it('adds 0.1 credit per started minute past 5 minutes (frequent)', () => {
    const at = (s: number) => priceRun(run({ runsPerDay: 96, billedSeconds: s })).creditsTenths;
    expect(at(minutes(5))).toBe(5);
    expect(at(minutes(5, 1))).toBe(6);
    expect(at(minutes(9, 59))).toBe(10);
    expect(at(minutes(10))).toBe(10);
    expect(at(minutes(10, 30))).toBe(11);
  });

  it('charges nothing for skipped runs and runs whose pipeline never started', () => {
    expect(priceRun(run({ status: 'skipped' })).creditsTenths).toBe(0);
    expect(priceRun(run({ status: 'cancelled', pipelineStarted: false })).creditsTenths).toBe(0);
    expect(priceRun(run({ status: 'failed', pipelineStarted: false })).creditsTenths).toBe(0);
    // Cancelled while its pipeline ran: billed as any run.
    expect(priceRun(run({ status: 'cancelled', billedSeconds: minutes(12) })).creditsTenths).toBe(
      12,
    );
    // Failed and timed-out pipelines are billed too.
    expect(priceRun(run({ status: 'timed_out', billedSeconds: minutes(30) })).creditsTenths).toBe(
      30,
    );
  });

  it('is pure: identical inputs give identical prices', () => {
    const input = run({ runsPerDay: 48, billedSeconds: 777 });
    expect(priceRun(input)).toEqual(priceRun({ ...input }));
  });
});

describe('the run timeline', () => {
  it('bills pipeline start → finish only, a started second counting whole', () => {
    const pipelineStartedAt = new Date('2026-11-01T10:05:00.000Z');
    expect(
      billedSecondsOf({ pipelineStartedAt, finishedAt: new Date('2026-11-01T10:15:00.000Z') }),
    ).toBe(600);
    expect(
      billedSecondsOf({ pipelineStartedAt, finishedAt: new Date('2026-11-01T10:15:00.200Z') }),
    ).toBe(601);
    expect(billedSecondsOf({ pipelineStartedAt: null, finishedAt: new Date() })).toBe(0);
    expect(billedSecondsOf({ pipelineStartedAt, finishedAt: null })).toBe(0);
  });

  it('names billing periods by UTC month', () => {
    expect(billingPeriodOf(new Date('2026-11-30T23:59:59.999Z'))).toBe('2026-11');
    expect(billingPeriodOf(new Date('2026-12-01T00:00:00.000Z'))).toBe('2026-12');
    expect(periodBounds('2026-12')).toEqual({
      start: new Date('2026-12-01T00:00:00.000Z'),
      end: new Date('2027-01-01T00:00:00.000Z'),
    });
  });
});

describe('a month of runs with known schedules and durations', () => {
  it('costs exactly the expected credits', () => {
    const from = new Date('2026-11-01T00:00:00Z');
    const hourly = runsPerDay('0 * * * *', 'UTC', from);
    const halfHourly = runsPerDay('*/30 * * * *', 'UTC', from);
    const daily = runsPerDay('0 6 * * *', 'Europe/Berlin', from);
    const everyTwoHours = runsPerDay('0 */2 * * *', 'UTC', from);
    expect([hourly, halfHourly, daily, everyTwoHours]).toEqual([24, 48, 1, 12]);

    const runs: PricingInput[] = [];
    const days = 30;
    for (let day = 0; day < days; day++) {
      // Hourly: 24 runs a day of 4 minutes, but one a day takes 7m30s (+3 started minutes past 5).
      for (let h = 0; h < 24; h++)
        runs.push(
          run({ runsPerDay: hourly, billedSeconds: h === 0 ? minutes(7, 30) : minutes(4) }),
        );
      // Half-hourly: 48 runs of exactly 5 minutes (nothing extra).
      for (let i = 0; i < 48; i++) runs.push(run({ runsPerDay: halfHourly, billedSeconds: 300 }));
      // Daily: 12m05s (+3 started minutes past 10).
      runs.push(run({ runsPerDay: daily, billedSeconds: minutes(12, 5) }));
      // Every two hours: 12 runs of 9 minutes; infrequent (< 24/day), so 1 credit each.
      for (let i = 0; i < 12; i++)
        runs.push(run({ runsPerDay: everyTwoHours, billedSeconds: minutes(9) }));
      // One tick a day skipped because the previous run was still going.
      runs.push(run({ runsPerDay: hourly, status: 'skipped', pipelineStarted: false }));
    }
    // 10 manual runs of 20 minutes (+10), 3 API runs of 1 minute, 2 cancelled before they started.
    for (let i = 0; i < 10; i++)
      runs.push(run({ trigger: 'manual', runsPerDay: null, billedSeconds: minutes(20) }));
    for (let i = 0; i < 3; i++) runs.push(run({ trigger: 'api', runsPerDay: null }));
    for (let i = 0; i < 2; i++)
      runs.push(run({ trigger: 'manual', status: 'cancelled', pipelineStarted: false }));

    const total = runs.reduce((sum, r) => sum + priceRun(r).creditsTenths, 0);
    const expected =
      days * (23 * 5 + (5 + 3)) + // hourly
      days * 48 * 5 + // half-hourly
      days * (10 + 3) + // daily
      days * 12 * 10 + // every two hours
      10 * (10 + 10) + // manual
      3 * 10; // api
    expect(total).toBe(expected);
    // 3690 + 7200 + 390 + 3600 + 200 + 30 = 15110 tenths = 1511 credits.
    expect(expected).toBe(15_110);
  });
});
