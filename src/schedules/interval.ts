import { CronExpressionParser } from 'cron-parser';

/**
 * What a Meltano schedule `interval` means to the service:
 * - `cron`: fire on this 5-field cron expression;
 * - `manual`: never fired on a timer (`@manual`, and `@once`, which Airflow runs once on
 *   creation: the service leaves that single run to the user);
 * - `invalid`: the service cannot fire it; `reason` says why.
 */
export type IntervalResolution =
  | { kind: 'cron'; cron: string }
  | { kind: 'manual'; preset: '@once' | '@manual' }
  | { kind: 'invalid'; reason: string };

/** The croniter presets Meltano accepts, as the equivalent 5-field cron. */
export const INTERVAL_PRESETS: Readonly<Record<string, string>> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

const MANUAL_PRESETS = ['@once', '@manual'] as const;

const CRON_FIELD_NAMES = ['minute', 'hour', 'day of month', 'month', 'day of week'] as const;

const MONTH_NAMES = new Set([
  'jan',
  'feb',
  'mar',
  'apr',
  'may',
  'jun',
  'jul',
  'aug',
  'sep',
  'oct',
  'nov',
  'dec',
]);
const DAY_NAMES = new Set(['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']);

// Plain cron only: cron-parser also understands Quartz extensions (L, W, #, ?, H) that
// croniter/Meltano do not, and a schedule must mean the same thing here as under Meltano.
const NUMERIC_FIELD = /^[\d*,/-]+$/;
const NAMED_FIELD = /^[\dA-Za-z*,/-]+$/;

const MILLISECONDS_PER_DAY = 24 * 60 * 60 * 1000;
// 52 weeks, so that weekly patterns divide exactly.
const RATE_WINDOW_DAYS = 364;
// Dense crons reach this many fires long before the window ends; measuring over the fires
// themselves keeps the cost bounded (each step costs ~0.1 ms) and, for crons that repeat
// evenly, the result exact. Bursty crons (`* * 1 * *`) read high: an accepted trade-off.
const RATE_SAMPLE_FIRES = 500;

/**
 * Resolves a raw Meltano `interval` (as written in meltano.yml, or null when missing).
 * Reasons read as "interval '...' has 6 fields; ..." and do not name the schedule: callers do.
 */
export function intervalToCron(interval: string | null | undefined): IntervalResolution {
  if (interval === null || interval === undefined) {
    return {
      kind: 'invalid',
      reason:
        "no interval is set (use a cron like '0 6 * * *', a preset like '@daily', or '@manual')",
    };
  }
  const trimmed = interval.trim();
  if (trimmed === '') {
    return { kind: 'invalid', reason: 'the interval is empty' };
  }
  if (trimmed.startsWith('@')) {
    const preset = trimmed.toLowerCase();
    const manualPreset = MANUAL_PRESETS.find((candidate) => candidate === preset);
    if (manualPreset !== undefined) {
      return { kind: 'manual', preset: manualPreset };
    }
    const cron = INTERVAL_PRESETS[preset];
    if (cron !== undefined) {
      return { kind: 'cron', cron };
    }
    const known = [...MANUAL_PRESETS, ...Object.keys(INTERVAL_PRESETS)].join(', ');
    return {
      kind: 'invalid',
      reason: `interval '${interval}' is not a known preset (known: ${known})`,
    };
  }
  const problem = describeCronProblem(trimmed);
  if (problem !== null) {
    return { kind: 'invalid', reason: `interval '${interval}' ${problem}` };
  }
  return { kind: 'cron', cron: trimmed.split(/\s+/).join(' ') };
}

/** True when `expression` is a plain 5-field cron the service can fire. */
export function isValidCron(expression: string): boolean {
  return describeCronProblem(expression.trim()) === null;
}

/**
 * The next `count` fire times of a 5-field cron strictly after `from`, evaluated as wall-clock
 * time in the IANA `timezone`. Across DST changes a time skipped by the clock change fires
 * once right after the change (02:30 on spring-forward night runs at 03:30 new time) and a
 * repeated wall time fires once, at its first occurrence; `*`-hour crons keep firing every
 * elapsed hour.
 */
export function nextFireTimes(cron: string, timezone: string, from: Date, count: number): Date[] {
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`count must be a non-negative integer, got ${count}`);
  }
  const expression = parseCron(cron, timezone, from);
  const fireTimes: Date[] = [];
  let previous = from.getTime();
  while (fireTimes.length < count) {
    const fireTime = expression.next().toDate();
    // Defensive: a fire time must move forward, or DST arithmetic could repeat an instant.
    if (fireTime.getTime() <= previous) {
      continue;
    }
    fireTimes.push(fireTime);
    previous = fireTime.getTime();
  }
  return fireTimes;
}

/**
 * Average fires per day of a 5-field cron in `timezone`, measured from `from` over 52 weeks
 * (or over the first 500 fires for dense crons). Rounded to 2 decimals (24 for
 * hourly, 0.14 for weekly); rates below 0.01 keep 2 significant digits so a yearly cron reads
 * 0.0027 instead of 0.
 */
export function runsPerDay(cron: string, timezone: string, from: Date = new Date()): number {
  const expression = parseCron(cron, timezone, from);
  const windowEnd = from.getTime() + RATE_WINDOW_DAYS * MILLISECONDS_PER_DAY;
  let firstFire: number | null = null;
  let fires = 0;
  for (;;) {
    const fireTime = expression.next().toDate().getTime();
    if (fireTime >= windowEnd) {
      return roundRate(fires / RATE_WINDOW_DAYS);
    }
    if (fires === RATE_SAMPLE_FIRES && firstFire !== null) {
      // `fires` fires occupied [firstFire, fireTime): the rate in elapsed time.
      return roundRate(fires / ((fireTime - firstFire) / MILLISECONDS_PER_DAY));
    }
    firstFire ??= fireTime;
    fires += 1;
  }
}

/** True for an IANA time zone name such as `Europe/Berlin` or `UTC` (not `+01:00`). */
export function isValidTimezone(timezone: string): boolean {
  if (!/^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/.test(timezone)) {
    return false;
  }
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

function parseCron(cron: string, timezone: string, from: Date) {
  const problem = describeCronProblem(cron.trim());
  if (problem !== null) {
    throw new Error(`Invalid cron '${cron}': it ${problem}`);
  }
  if (!isValidTimezone(timezone)) {
    throw new Error(`Invalid time zone '${timezone}': expected an IANA name like Europe/Berlin`);
  }
  if (Number.isNaN(from.getTime())) {
    throw new Error('Invalid start date');
  }
  return CronExpressionParser.parse(cron.trim(), { currentDate: from, tz: timezone });
}

/** Null for a usable 5-field cron, otherwise why not, phrased to follow "interval 'x' ". */
function describeCronProblem(expression: string): string | null {
  const fields = expression.split(/\s+/).filter((field) => field !== '');
  if (fields.length !== 5) {
    const seconds =
      fields.length === 6
        ? ' (a 6-field cron with seconds is not supported; drop the seconds)'
        : '';
    return (
      `has ${fields.length} field${fields.length === 1 ? '' : 's'}; expected a 5-field cron ` +
      `(minute hour day-of-month month day-of-week) or a preset such as @daily${seconds}`
    );
  }
  for (const [index, field] of fields.entries()) {
    const fieldName = CRON_FIELD_NAMES[index] ?? 'field';
    const allowsNames = index >= 3;
    if (!(allowsNames ? NAMED_FIELD : NUMERIC_FIELD).test(field)) {
      return `has an unsupported ${fieldName} field '${field}'`;
    }
    const names = index === 3 ? MONTH_NAMES : DAY_NAMES;
    for (const word of field.match(/[A-Za-z]+/g) ?? []) {
      if (!names.has(word.toLowerCase())) {
        return `has an unknown name '${word}' in the ${fieldName} field`;
      }
    }
  }
  try {
    const parsed = CronExpressionParser.parse(expression, {
      currentDate: new Date(0),
      tz: 'UTC',
    });
    // A cron like `0 0 30 2 *` parses in some versions but can never fire.
    parsed.next();
  } catch (error) {
    const detail =
      typeof error === 'object' && error !== null && 'message' in error
        ? String(error.message)
        : String(error);
    return `is not a valid cron: ${detail}`;
  }
  return null;
}

function roundRate(rate: number): number {
  if (rate === 0 || rate >= 0.01) {
    return Math.round(rate * 100) / 100;
  }
  return Number(rate.toPrecision(2));
}
