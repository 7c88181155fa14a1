import {
  CRONITER_ALIASES,
  CroniterBadCronError,
  CroniterBadDateError,
  CroniterRandomError,
  expandCron,
  firesEveryHour,
  nextWallTime,
  type CroniterExpression,
} from './croniter.js';

/**
 * What a Meltano schedule `interval` means to the service, as Meltano and croniter read it:
 * - `cron`: fire on this 5-field cron expression (croniter semantics: `croniter.ts`);
 * - `manual`: never fired on a timer: `@manual`, `@once` and `@none`, which Meltano treats as
 *   aliases of one another (`CRON_INTERVALS` maps them to no cron: "for schedules that are to
 *   be triggered manually");
 * - `invalid`: croniter rejects it, or the service deliberately refuses it; `reason` says why.
 */
export type IntervalResolution =
  | { kind: 'cron'; cron: string }
  | { kind: 'manual'; preset: (typeof MANUAL_PRESETS)[number] }
  | { kind: 'invalid'; reason: string };

/** The croniter presets, as the equivalent 5-field cron (Meltano's `CRON_INTERVALS`). */
export const INTERVAL_PRESETS: Readonly<Record<string, string>> = CRONITER_ALIASES;

/** Meltano's manual-only intervals: matched exactly, as Meltano's `CRON_INTERVALS.get` does. */
const MANUAL_PRESETS = ['@once', '@manual', '@none'] as const;

const MILLISECONDS_PER_DAY = 24 * 60 * 60 * 1000;
// 52 weeks, so that weekly patterns divide exactly.
const RATE_WINDOW_DAYS = 364;
// Dense crons reach this many fires long before the window ends; measuring over the fires
// themselves keeps the cost bounded and, for crons that repeat evenly, the result exact.
// Bursty crons (`* * 1 * *`) read high: an accepted trade-off.
const RATE_SAMPLE_FIRES = 500;
// Where "can it ever fire" is checked from (any start works: croniter looks 50 years ahead).
const VALIDATION_START = Date.UTC(2024, 0, 1);
// Crons (per time zone) whose parse and next fire a process remembers (it sees few of them).
const PARSED_CRONS_MAX = 10_000;

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
  if (interval.trim() === '') {
    return { kind: 'invalid', reason: 'the interval is empty' };
  }
  const manual = MANUAL_PRESETS.find((preset) => preset === interval);
  if (manual !== undefined) {
    return { kind: 'manual', preset: manual };
  }
  // croniter lower-cases the whole expression before looking up its presets.
  const preset = INTERVAL_PRESETS[interval.toLowerCase()];
  if (preset !== undefined) {
    return { kind: 'cron', cron: preset };
  }
  if (interval.trim().startsWith('@')) {
    const known = [...MANUAL_PRESETS, ...Object.keys(INTERVAL_PRESETS)].join(', ');
    const spaced = interval.trim() !== interval ? ' (remove the spaces around it)' : '';
    const cased = MANUAL_PRESETS.some((p) => p === interval.trim().toLowerCase())
      ? ` (Meltano reads ${MANUAL_PRESETS.join(', ')} only in lower case)`
      : '';
    return {
      kind: 'invalid',
      reason: `interval '${interval}' is not a known preset${spaced}${cased} (known: ${known})`,
    };
  }
  const problem = describeCronProblem(interval);
  if (problem !== null) {
    return { kind: 'invalid', reason: `interval '${interval}' ${problem}` };
  }
  return { kind: 'cron', cron: interval.trim().split(/\s+/).join(' ') };
}

/** True when `expression` is a 5-field cron croniter accepts and the service can fire. */
export function isValidCron(expression: string): boolean {
  return describeCronProblem(expression) === null;
}

/**
 * The next `count` fire times of a 5-field cron strictly after `from`, as croniter computes
 * them on wall-clock time in the IANA `timezone` (exactly croniter's times in UTC). Across DST
 * changes a time skipped by the clock change fires once right after the change (02:30 on
 * spring-forward night runs at 03:30 new time) and a repeated wall time fires once, at its
 * first occurrence; crons whose hour field is `*` keep firing every elapsed hour.
 */
export function nextFireTimes(cron: string, timezone: string, from: Date, count: number): Date[] {
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`count must be a non-negative integer, got ${count}`);
  }
  const expression = parseCron(cron, timezone, from);
  const zone = zoneClock(timezone);
  const fireTimes: Date[] = [];
  let previous = from.getTime();
  while (fireTimes.length < count) {
    previous = nextInstant(expression, zone, previous);
    fireTimes.push(new Date(previous));
  }
  return fireTimes;
}

/**
 * BullMQ's `repeatStrategy` for job schedulers: the next fire time after `millis` of the
 * scheduler's `pattern` in its `tz`, computed by `nextFireTimes` (croniter's times) instead of
 * BullMQ's default cron-parser, so timers fire when the schedule list says they will.
 */
export function croniterRepeatStrategy(
  millis: number,
  opts: { pattern?: string | undefined; tz?: string | undefined },
): number | undefined {
  if (opts.pattern === undefined) return undefined;
  return nextFireAfter(opts.pattern, opts.tz ?? 'UTC', millis);
}

/** Per time zone and cron, the last next fire computed by `nextFireAfter`, and from when. */
const nextFires = new Map<string, { from: number; next: number }>();

/**
 * The first fire time (ms) strictly after `millis`, as `nextFireTimes` computes it. No fire lies
 * between a remembered `from` and its next fire, so any `millis` in between has the same next
 * fire: schedules due together (thousands on one minute, each timer asking for its next fire
 * when it fires) compute it once.
 */
export function nextFireAfter(cron: string, timezone: string, millis: number): number | undefined {
  const key = `${timezone}\n${cron}`;
  const known = nextFires.get(key);
  if (known && known.from <= millis && millis < known.next) return known.next;
  const next = nextFireTimes(cron, timezone, new Date(millis), 1)[0]?.getTime();
  if (next === undefined) return undefined;
  if (nextFires.size >= PARSED_CRONS_MAX) nextFires.clear();
  nextFires.set(key, { from: millis, next });
  return next;
}

/**
 * Average fires per day of a 5-field cron in `timezone`, measured from `from` over 52 weeks
 * (or over the first 500 fires for dense crons). Rounded to 2 decimals (24 for
 * hourly, 0.14 for weekly); rates below 0.01 keep 2 significant digits so a yearly cron reads
 * 0.0027 instead of 0.
 */
export function runsPerDay(cron: string, timezone: string, from: Date = new Date()): number {
  const expression = parseCron(cron, timezone, from);
  const zone = zoneClock(timezone);
  const windowEnd = from.getTime() + RATE_WINDOW_DAYS * MILLISECONDS_PER_DAY;
  let firstFire: number | null = null;
  let fires = 0;
  let fireTime = from.getTime();
  for (;;) {
    fireTime = nextInstant(expression, zone, fireTime);
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

/**
 * Crons already validated and expanded, per time zone: thousands of schedules share a few crons,
 * and validating one (its expansion, a search for a first fire, the zone's formatter) costs far
 * more than computing its next fire time. Only valid pairs are kept; a process sees few of them.
 */
const parsedCrons = new Map<string, CroniterExpression>();

function parseCron(cron: string, timezone: string, from: Date): CroniterExpression {
  const key = `${timezone}\n${cron}`;
  const cached = parsedCrons.get(key);
  if (cached && !Number.isNaN(from.getTime())) return cached;
  const problem = describeCronProblem(cron);
  if (problem !== null) {
    throw new Error(`Invalid cron '${cron}': it ${problem}`);
  }
  if (!isValidTimezone(timezone)) {
    throw new Error(`Invalid time zone '${timezone}': expected an IANA name like Europe/Berlin`);
  }
  if (Number.isNaN(from.getTime())) {
    throw new Error('Invalid start date');
  }
  const expression = expandCron(cron);
  if (parsedCrons.size >= PARSED_CRONS_MAX) parsedCrons.clear();
  parsedCrons.set(key, expression);
  return expression;
}

/**
 * Null for a cron the service fires, otherwise why not, phrased to follow "interval 'x' ":
 * what croniter rejects (with croniter's own message), and what the service refuses on
 * purpose although croniter accepts it (seconds fields, `R`, a cron that never fires).
 */
function describeCronProblem(expression: string): string | null {
  const fields = expression.split(/\s+/).filter((field) => field !== '');
  if (fields.length === 6 || fields.length === 7) {
    return (
      `has ${fields.length} fields: croniter reads the 6th field as seconds` +
      `${fields.length === 7 ? ' and the 7th as the year' : ''}, which would start runs ` +
      'several times a minute (or at given seconds); the service starts runs at most once a ' +
      'minute, on minute boundaries, so it accepts 5-field crons (minute hour day-of-month ' +
      'month day-of-week) only: drop the seconds field (Quartz-style crons put seconds first)'
    );
  }
  if (fields.length !== 5) {
    return (
      `has ${fields.length} field${fields.length === 1 ? '' : 's'}; expected a 5-field cron ` +
      '(minute hour day-of-month month day-of-week) or a preset such as @daily'
    );
  }
  let expression5: CroniterExpression;
  try {
    expression5 = expandCron(expression);
  } catch (error) {
    if (error instanceof CroniterRandomError) {
      return (
        "uses croniter's random 'R' values, which croniter draws anew each time it reads the " +
        'expression, so there are no fixed times to fire at: write the minute or hour you want'
      );
    }
    if (error instanceof CroniterBadCronError) {
      return `is not a cron croniter accepts: ${error.message}`;
    }
    throw error;
  }
  try {
    nextWallTime(expression5, VALIDATION_START);
  } catch (error) {
    if (error instanceof CroniterBadDateError) {
      return (
        'never fires: croniter accepts it but finds no matching date within 50 years ' +
        '(e.g. February 30), so an orchestrator using it would fail'
      );
    }
    throw error;
  }
  return null;
}

// ---- wall-clock time in a time zone ----

interface ZoneClock {
  /** UTC offset in ms at `instant` (wall = instant + offset). */
  offset(instant: number): number;
  utc: boolean;
}

const zoneClocks = new Map<string, ZoneClock>();

function zoneClock(timezone: string): ZoneClock {
  const cached = zoneClocks.get(timezone);
  if (cached) return cached;
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  const offset = (instant: number): number => {
    const parts: Record<string, number> = {};
    for (const part of format.formatToParts(new Date(instant))) {
      if (part.type !== 'literal') parts[part.type] = Number(part.value);
    }
    const wall = Date.UTC(
      parts.year ?? 1970,
      (parts.month ?? 1) - 1,
      parts.day ?? 1,
      parts.hour ?? 0,
      parts.minute ?? 0,
      parts.second ?? 0,
    );
    return wall - (instant - (((instant % 1000) + 1000) % 1000));
  };
  const utc = ['UTC', 'Etc/UTC', 'Etc/GMT', 'GMT', 'Etc/Universal', 'Universal', 'Zulu'].includes(
    timezone,
  );
  const clock: ZoneClock = { offset: utc ? () => 0 : offset, utc };
  zoneClocks.set(timezone, clock);
  return clock;
}

/** The instants whose wall clock is `wall`: none (skipped), one, or two (repeated), sorted. */
function instantsOf(zone: ZoneClock, wall: number): number[] {
  const offsets = new Set([
    zone.offset(wall - MILLISECONDS_PER_DAY),
    zone.offset(wall),
    zone.offset(wall + MILLISECONDS_PER_DAY),
  ]);
  const instants = [...offsets]
    .map((offset) => wall - offset)
    .filter((instant) => instant + zone.offset(instant) === wall);
  return [...new Set(instants)].sort((a, b) => a - b);
}

/** A wall time skipped by a clock change fires right after the change (its old offset). */
function afterGap(zone: ZoneClock, wall: number): number {
  const offsets = [
    zone.offset(wall - MILLISECONDS_PER_DAY),
    zone.offset(wall + MILLISECONDS_PER_DAY),
  ];
  return Math.max(...offsets.map((offset) => wall - offset));
}

/** The first fire time strictly after `from` (ms). */
function nextInstant(expression: CroniterExpression, zone: ZoneClock, from: number): number {
  if (zone.utc) return nextWallTime(expression, from);
  const everyHour = firesEveryHour(expression);
  let best = Number.POSITIVE_INFINITY;
  const consider = (wall: number, secondPassOnly: boolean): boolean => {
    const instants = instantsOf(zone, wall);
    if (instants.length === 0) {
      const instant = afterGap(zone, wall);
      if (instant > from) best = Math.min(best, instant);
      return instant > from;
    }
    const allowed = secondPassOnly
      ? instants.slice(1)
      : everyHour
        ? instants
        : instants.slice(0, 1);
    const later = allowed.filter((instant) => instant > from);
    for (const instant of later) best = Math.min(best, instant);
    return later.length > 0;
  };

  // From inside the first pass of a repeated hour, an every-hour cron also fires at the
  // repeated times before `from`'s wall time (their second occurrence is still ahead).
  const fromWall = from + zone.offset(from);
  const fromInstants = instantsOf(zone, fromWall - (fromWall % 60_000));
  if (everyHour && fromInstants.length === 2 && from < (fromInstants[1] ?? 0)) {
    const repeatStart = startOfRepeat(zone, fromInstants[0] ?? from, fromInstants[1] ?? from);
    let wall = repeatStart - 60_000;
    for (;;) {
      wall = nextWallTime(expression, wall);
      if (wall > fromWall) break;
      if (consider(wall, true)) break;
    }
  }
  let wall = fromWall;
  for (let guard = 0; guard < 100_000; guard += 1) {
    wall = nextWallTime(expression, wall);
    const instants = instantsOf(zone, wall);
    const earliest = instants[0] ?? afterGap(zone, wall);
    if (earliest >= best) return best;
    if (consider(wall, false) && instants.length < 2) return best;
  }
  return best;
}

/** The wall time at which a repeated hour starts (the instant the clock went back). */
function startOfRepeat(zone: ZoneClock, firstPass: number, secondPass: number): number {
  const before = zone.offset(firstPass);
  let low = firstPass;
  let high = secondPass;
  while (high - low > 60_000) {
    const middle = low + Math.floor((high - low) / 2);
    if (zone.offset(middle) === before) low = middle;
    else high = middle;
  }
  return high + zone.offset(high);
}

function roundRate(rate: number): number {
  if (rate === 0 || rate >= 0.01) {
    return Math.round(rate * 100) / 100;
  }
  return Number(rate.toPrecision(2));
}
