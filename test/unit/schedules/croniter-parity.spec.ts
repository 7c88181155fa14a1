import { readFileSync } from 'node:fs';
import path from 'node:path';
import { intervalToCron, nextFireTimes } from '../../../src/schedules/interval.js';

/**
 * Parity with croniter, the library Meltano validated `interval` with and orchestrators fire
 * it with: test/fixtures/croniter/croniter-vectors.json holds what croniter's own test suite
 * (kiorky/croniter, commit in the file) computed, recorded by extract-vectors.py beside it.
 * Every forward sequence of a 5-field expression must give croniter's times here; every
 * expression croniter refuses must be refused; 6/7-field ones are refused on purpose.
 */
interface Instant {
  epoch: number;
  local: string | null;
  tz: string | null;
}
interface Call {
  op: 'next' | 'prev' | 'set_current';
  start_time?: Instant;
  update_current?: false;
  result?: Instant;
  error?: string;
}
interface Instance {
  test: string;
  expression: string;
  start: Instant | null;
  options: Record<string, unknown>;
  calls: Call[];
}
interface Vectors {
  source: { repository: string; commit: string; files: string[] };
  instances: Instance[];
  refusals: { test: string; expression: string; options: Record<string, unknown>; error: string }[];
  validity: { test: string; expression: string; valid: boolean }[];
  generated: {
    expression: string;
    tz: string;
    start: number;
    start_local: string;
    next?: number[];
    next_wall?: string[];
    error?: string;
  }[];
}

const vectors = JSON.parse(
  readFileSync(path.resolve('test/fixtures/croniter/croniter-vectors.json'), 'utf8'),
) as Vectors;

/** Options that change croniter's semantics away from what Meltano uses (its defaults). */
const nonDefault = (options: Record<string, unknown>): boolean =>
  options.day_or === false ||
  options.implement_cron_bug === true ||
  Boolean(options.hash_id) ||
  options.second_at_beginning === true ||
  options.expand_from_start_time === true;

const forward = vectors.instances.filter(
  (i) =>
    i.start !== null &&
    i.calls.length > 0 &&
    i.calls.every((c) => c.op === 'next') &&
    !nonDefault(i.options),
);
const fields = (expression: string) => expression.split(/\s+/).filter(Boolean).length;
const label = (i: Instance) =>
  `${i.test.split('.').at(-1)}: '${i.expression}' from ${i.start?.local ?? i.start?.epoch} ${i.start?.tz ?? 'UTC'}`;

/**
 * Where the service gives other times than croniter on purpose, and why. Only time-zone cases
 * at clock changes: croniter's results there depend on how the caller built the start time
 * (pytz `tzinfo=` without `localize` starts from the zone's local mean time, e.g. +02:20:40 in
 * Hebron), and the service instead follows its documented DST rules (see interval.ts).
 */
const DEVIATIONS = new Map<string, string>([]);

const toIso = (epochSeconds: number) => new Date(Math.round(epochSeconds * 1000)).toISOString();

describe('croniter parity: forward sequences from croniter’s own tests', () => {
  it('covers the recorded vectors', () => {
    expect(vectors.source.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(forward.filter((i) => fields(i.expression) === 5).length).toBeGreaterThan(150);
  });

  const fiveField = forward.filter((i) => fields(i.expression) === 5);
  it.each(fiveField.map((i) => [label(i), i] as const))('%s', (_label, instance) => {
    const resolution = intervalToCron(instance.expression);
    const failsToFind = instance.calls.some((c) => c.error === 'CroniterBadDateError');
    if (failsToFind) {
      // croniter accepts it but never finds a date: refused, saying so.
      expect(resolution).toEqual({
        kind: 'invalid',
        reason: expect.stringContaining('never fires'),
      });
      return;
    }
    expect(resolution.kind).toBe('cron');
    const cron = resolution.kind === 'cron' ? resolution.cron : '';
    const tz = instance.start?.tz ?? 'UTC';
    let cursor = instance.start?.epoch ?? 0;
    const got: string[] = [];
    const want: string[] = [];
    for (const call of instance.calls) {
      if (call.start_time) cursor = call.start_time.epoch;
      const [next] = nextFireTimes(cron, tz, new Date(Math.floor(cursor * 1000)), 1);
      got.push(next?.toISOString() ?? 'none');
      want.push(toIso(call.result?.epoch ?? Number.NaN));
      if (call.update_current !== false) cursor = (next?.getTime() ?? 0) / 1000;
    }
    const deviation = DEVIATIONS.get(label(instance));
    if (deviation) {
      expect(got).not.toEqual(want);
      return;
    }
    expect(got).toEqual(want);
  });
});

describe('croniter parity: expressions croniter refuses are refused', () => {
  const refused = [
    ...vectors.refusals.filter((r) => !nonDefault(r.options)).map((r) => r.expression),
    ...vectors.validity.filter((v) => !v.valid).map((v) => v.expression),
  ];
  it.each([...new Set(refused)])('%j', (expression) => {
    expect(intervalToCron(expression).kind).toBe('invalid');
  });

  it.each([...new Set(vectors.validity.filter((v) => v.valid).map((v) => v.expression))])(
    'accepts %j as croniter does',
    (expression) => {
      expect(intervalToCron(expression).kind).toBe('cron');
    },
  );
});

describe('croniter parity: seconds fields are refused on purpose', () => {
  const withSeconds = [
    ...new Set(
      vectors.instances
        .filter((i) => fields(i.expression) > 5 && !nonDefault(i.options))
        .map((i) => i.expression),
    ),
  ];
  it.each(withSeconds)('%j', (expression) => {
    const resolution = intervalToCron(expression);
    expect(resolution.kind).toBe('invalid');
    expect(resolution.kind === 'invalid' ? resolution.reason : '').toContain(
      'the service starts runs at most once a minute',
    );
  });
});

/** The wall clock of `instant` in `timezone`, as `YYYY-MM-DDTHH:MM:SS`. */
function wallOf(instant: number, timezone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(new Date(instant))
      .map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}`;
}

/** A wall time the clock skips in `timezone` moves forward by the skipped hour. */
function existingWall(wall: string, timezone: string): string {
  const asUtc = Date.parse(`${wall}Z`);
  for (let offset = -14 * 60; offset <= 14 * 60; offset += 15) {
    if (wallOf(asUtc - offset * 60_000, timezone) === wall) return wall;
  }
  return new Date(asUtc + 3_600_000).toISOString().slice(0, 19);
}

/** Drops wall times that do not move forward (the repeated hour of a fall-back night). */
const increasing = (walls: string[]): string[] =>
  walls.filter((wall, i) => walls.slice(0, i).every((earlier) => earlier < wall));

describe('croniter parity: generated cases (times computed by croniter)', () => {
  it.each(
    vectors.generated.map(
      (g) => [`'${g.expression}' in ${g.tz} from ${g.start_local}`, g] as const,
    ),
  )('%s', (_label, g) => {
    const resolution = intervalToCron(g.expression);
    if (g.error !== undefined) {
      expect(resolution).toEqual({
        kind: 'invalid',
        reason: expect.stringContaining('never fires'),
      });
      return;
    }
    expect(resolution.kind).toBe('cron');
    const cron = resolution.kind === 'cron' ? resolution.cron : '';
    const from = new Date(g.start * 1000);
    if (g.next) {
      // No clock changes: exactly croniter's instants.
      expect(nextFireTimes(cron, g.tz, from, g.next.length).map((d) => d.toISOString())).toEqual(
        g.next.map(toIso),
      );
      return;
    }
    // Clock changes: croniter's wall-clock times, a skipped time moved past the change, a
    // repeated hour fired once (every-hour crons fire in it twice: dropped before comparing).
    const want = increasing((g.next_wall ?? []).map((wall) => existingWall(wall, g.tz)));
    const got = increasing(
      nextFireTimes(cron, g.tz, from, (g.next_wall ?? []).length + 6).map((d) =>
        wallOf(d.getTime(), g.tz),
      ),
    ).slice(0, want.length);
    expect(got).toEqual(want);
  });
});
