import {
  intervalToCron,
  isValidCron,
  croniterRepeatStrategy,
  isValidTimezone,
  nextFireAfter,
  nextFireTimes,
  runsPerDay,
} from '../../../src/schedules/interval.js';

const iso = (dates: Date[]) => dates.map((date) => date.toISOString());

describe('intervalToCron', () => {
  it.each([
    ['@hourly', '0 * * * *'],
    ['@daily', '0 0 * * *'],
    ['@midnight', '0 0 * * *'],
    ['@weekly', '0 0 * * 0'],
    ['@monthly', '0 0 1 * *'],
    ['@yearly', '0 0 1 1 *'],
    ['@annually', '0 0 1 1 *'],
  ])('maps %s to %s', (preset, cron) => {
    expect(intervalToCron(preset)).toEqual({ kind: 'cron', cron });
  });

  it('treats @once, @manual and @none as manual-only (Meltano: aliases of one another)', () => {
    expect(intervalToCron('@once')).toEqual({ kind: 'manual', preset: '@once' });
    expect(intervalToCron('@manual')).toEqual({ kind: 'manual', preset: '@manual' });
    expect(intervalToCron('@none')).toEqual({ kind: 'manual', preset: '@none' });
  });

  it('reads presets in any case, as croniter lower-cases them', () => {
    expect(intervalToCron('@DAILY')).toEqual({ kind: 'cron', cron: '0 0 * * *' });
    expect(intervalToCron('@Hourly')).toEqual({ kind: 'cron', cron: '0 * * * *' });
  });

  it.each([
    '0 6 * * *',
    '0,30 * * * *',
    '*/10 * * * *',
    '35 */1 * * *',
    '0 0,5 * * *',
    '0 12 * * 1,3,5',
    '0 8-18/2 * * MON-FRI',
    '15 3 1 jan,jul *',
    '0 0 * * 7',
    '0 0 L * *',
    '0 0 29-L * *',
    '0 9 * * L5',
    '0 9 * * 1#2',
    '0 9 * * mon#1,L1',
    '0 0 ? * *',
    '0 0 * * fri-mon',
  ])('keeps the valid 5-field cron %s', (cron) => {
    expect(intervalToCron(cron)).toEqual({ kind: 'cron', cron });
    expect(isValidCron(cron)).toBe(true);
  });

  it('normalizes surrounding and repeated whitespace', () => {
    expect(intervalToCron('  0  6 * *   * ')).toEqual({ kind: 'cron', cron: '0 6 * * *' });
  });

  it.each([
    [null, 'no interval is set'],
    ['', 'the interval is empty'],
    ['0 0 * * * *', "interval '0 0 * * * *' has 6 fields: croniter reads the 6th field as seconds"],
    ['0 0 8 * * *', 'the service starts runs at most once a minute'],
    ['0 0 8 * * * 2030', 'and the 7th as the year'],
    ['daily', "interval 'daily' has 1 field;"],
    ['@fortnightly', "interval '@fortnightly' is not a known preset (known: @once, @manual, @none"],
    ['@ONCE', 'Meltano reads @once, @manual, @none only in lower case'],
    ['61 * * * *', "interval '61 * * * *' is not a cron croniter accepts"],
    ['0 0 * * 5L', 'is not a cron croniter accepts'],
    ['0 0 15W * *', 'is not a cron croniter accepts'],
    ['0 0 * * 1#6', 'is not a cron croniter accepts'],
    ['0 0 * * 5,L6', 'mixing literal values and nth day of week'],
    ['H * * * *', 'Hashed definitions must include hash_id'],
    ['R 6 * * *', "croniter's random 'R' values"],
    ['*/0 * * * *', 'is not a cron croniter accepts'],
    ['0 0 * * FOO', "'foo' is not a known name"],
    ['0 0 * JAN-MON *', "'mon' is not a known name"],
    ['0 0 31 2 *', 'never fires: croniter accepts it but finds no matching date'],
  ])('rejects %j', (interval, reason) => {
    const resolution = intervalToCron(interval);
    expect(resolution.kind).toBe('invalid');
    expect(resolution.kind === 'invalid' ? resolution.reason : '').toContain(reason);
  });
});

describe('nextFireTimes', () => {
  it('evaluates wall-clock time in the given time zone', () => {
    const from = new Date('2024-06-01T00:00:00Z');
    expect(iso(nextFireTimes('0 9 * * *', 'Europe/Berlin', from, 2))).toEqual([
      '2024-06-01T07:00:00.000Z',
      '2024-06-02T07:00:00.000Z',
    ]);
    expect(iso(nextFireTimes('0 9 * * *', 'UTC', from, 1))).toEqual(['2024-06-01T09:00:00.000Z']);
  });

  it('returns times strictly after from', () => {
    const from = new Date('2024-06-01T09:00:00Z');
    expect(iso(nextFireTimes('0 9 * * *', 'UTC', from, 1))).toEqual(['2024-06-02T09:00:00.000Z']);
  });

  it('fires a time skipped by spring-forward once, right after the change (New York)', () => {
    // 2024-03-10: clocks jump from 02:00 EST to 03:00 EDT; 02:00 does not exist.
    const from = new Date('2024-03-09T12:00:00Z');
    expect(iso(nextFireTimes('0 2 * * *', 'America/New_York', from, 3))).toEqual([
      '2024-03-10T07:00:00.000Z', // 03:00 EDT
      '2024-03-11T06:00:00.000Z', // 02:00 EDT
      '2024-03-12T06:00:00.000Z',
    ]);
  });

  it('fires a repeated wall time once on fall-back night (New York)', () => {
    // 2024-11-03: 01:00-01:59 happens twice (EDT, then EST).
    const from = new Date('2024-11-02T12:00:00Z');
    expect(iso(nextFireTimes('30 1 * * *', 'America/New_York', from, 3))).toEqual([
      '2024-11-03T05:30:00.000Z', // 01:30 EDT, the first occurrence only
      '2024-11-04T06:30:00.000Z', // 01:30 EST
      '2024-11-05T06:30:00.000Z',
    ]);
  });

  it('handles the Europe/Berlin transitions', () => {
    // 2024-03-31: 02:00 CET jumps to 03:00 CEST.
    expect(
      iso(nextFireTimes('0 2 * * *', 'Europe/Berlin', new Date('2024-03-30T12:00:00Z'), 2)),
    ).toEqual(['2024-03-31T01:00:00.000Z', '2024-04-01T00:00:00.000Z']);
    // 2024-10-27: 02:00-02:59 happens twice; 30 1 is unaffected, 30 2 fires once.
    expect(
      iso(nextFireTimes('30 1 * * *', 'Europe/Berlin', new Date('2024-10-26T12:00:00Z'), 2)),
    ).toEqual(['2024-10-26T23:30:00.000Z', '2024-10-28T00:30:00.000Z']);
    expect(
      iso(nextFireTimes('30 2 * * *', 'Europe/Berlin', new Date('2024-10-26T12:00:00Z'), 2)),
    ).toEqual(['2024-10-27T00:30:00.000Z', '2024-10-28T01:30:00.000Z']);
  });

  it('keeps firing every elapsed hour across fall-back for hourly crons', () => {
    const from = new Date('2024-11-03T04:00:00Z'); // 00:00 EDT
    const fires = nextFireTimes('0 * * * *', 'America/New_York', from, 3);
    expect(iso(fires)).toEqual([
      '2024-11-03T05:00:00.000Z', // 01:00 EDT
      '2024-11-03T06:00:00.000Z', // 01:00 EST
      '2024-11-03T07:00:00.000Z', // 02:00 EST
    ]);
  });

  it('rejects invalid crons, time zones and counts', () => {
    const from = new Date('2024-01-01T00:00:00Z');
    expect(() => nextFireTimes('0 0 * * * *', 'UTC', from, 1)).toThrow(
      "Invalid cron '0 0 * * * *'",
    );
    expect(() => nextFireTimes('@daily', 'UTC', from, 1)).toThrow('Invalid cron');
    expect(() => nextFireTimes('0 0 * * *', 'Mars/Olympus', from, 1)).toThrow(
      "Invalid time zone 'Mars/Olympus'",
    );
    expect(() => nextFireTimes('0 0 * * *', 'UTC', from, -1)).toThrow(RangeError);
    expect(nextFireTimes('0 0 * * *', 'UTC', from, 0)).toEqual([]);
  });
});

describe('nextFireAfter (the timers’ next fire, remembered per cron)', () => {
  // Instants visited in an order that jumps forward and back, across DST changes in Berlin and
  // New York (March and October/November 2024), one second either side of fire times included.
  const start = Date.UTC(2024, 2, 30, 23, 0);
  const instants = Array.from({ length: 400 }, (_, i) => {
    const jump = ((i * 7919) % 400) - 200; // a fixed scramble of -200…199
    return start + jump * 17 * 60_000 + ((i % 3) - 1) * 1000;
  }).concat(Date.UTC(2024, 10, 3, 5, 30), Date.UTC(2024, 9, 27, 0, 59, 59, 999));

  it.each([
    ['* * * * *', 'UTC'],
    ['0 0 * * *', 'UTC'],
    ['30 2 * * *', 'Europe/Berlin'],
    ['*/20 * * * *', 'Europe/Berlin'],
    ['0 * * * *', 'America/New_York'],
    ['15 1 * * 0', 'America/New_York'],
  ])('%s in %s: the same time nextFireTimes gives, whatever was asked before', (cron, tz) => {
    for (const millis of instants) {
      const expected = nextFireTimes(cron, tz, new Date(millis), 1)[0]!.getTime();
      expect(nextFireAfter(cron, tz, millis)).toBe(expected);
      expect(croniterRepeatStrategy(millis, { pattern: cron, tz })).toBe(expected);
    }
  });

  it('still refuses an invalid cron or time zone after a valid one was remembered', () => {
    expect(nextFireAfter('0 0 * * *', 'UTC', start)).toBeGreaterThan(start);
    expect(() => nextFireAfter('0 0 * *', 'UTC', start)).toThrow(/Invalid cron/);
    expect(() => nextFireAfter('0 0 * * *', 'Mars/Olympus', start)).toThrow(/Invalid time zone/);
    expect(() => nextFireTimes('0 0 * * *', 'UTC', new Date(Number.NaN), 1)).toThrow(
      /Invalid start date/,
    );
  });
});

describe('runsPerDay', () => {
  const from = new Date('2024-01-10T10:17:00Z');

  it.each([
    ['0 * * * *', 'UTC', 24],
    ['0 * * * *', 'America/New_York', 24],
    ['0 0 * * *', 'UTC', 1],
    ['0 2 * * *', 'Europe/Berlin', 1],
    ['0 0 * * 0', 'UTC', 0.14],
    ['*/15 * * * *', 'UTC', 96],
    ['*/15 * * * *', 'Europe/Berlin', 96],
    ['* * * * *', 'UTC', 1440],
    ['0 9 * * 1-5', 'Europe/Berlin', 0.71],
    ['0 12 * * 1,3,5', 'UTC', 0.43],
    ['0 0 1 * *', 'UTC', 0.03],
    ['0 0 1 1 *', 'UTC', 0.0027],
  ])('%s in %s runs %d times a day', (cron, timezone, expected) => {
    expect(runsPerDay(cron, timezone, from)).toBe(expected);
  });

  it('defaults to measuring from now', () => {
    expect(runsPerDay('0 */6 * * *', 'UTC')).toBe(4);
  });
});

describe('isValidTimezone', () => {
  it.each(['UTC', 'Europe/Berlin', 'America/New_York', 'America/Argentina/Buenos_Aires'])(
    'accepts %s',
    (timezone) => {
      expect(isValidTimezone(timezone)).toBe(true);
    },
  );

  it.each(['', 'Mars/Olympus', '+01:00', 'Europe/', '../etc/passwd', 'Europe Berlin'])(
    'rejects %j',
    (timezone) => {
      expect(isValidTimezone(timezone)).toBe(false);
    },
  );
});
