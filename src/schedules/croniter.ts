/**
 * A port of croniter's 5-field expression parser (`croniter._expand`) and forward search
 * (`croniter._get_next` / `_calc`), the library Meltano validated `interval` with and that
 * Airflow, Meltano's orchestrator, fires schedules with. It works on wall-clock times (a
 * `Date` whose UTC fields are the wall clock): time zones are `interval.ts`'s job. Quirks are
 * kept on purpose, because a schedule must fire here when it fires under croniter: `L` (last
 * day of month) and `Ln` (last weekday n of the month), `n#k`, ranges that wrap (`fri-mon`),
 * `a-a` meaning the whole field, `?` as `*`, day-of-month OR day-of-week when both are
 * restricted. Source: github.com/kiorky/croniter, src/croniter/croniter.py (commit in
 * test/fixtures/croniter/croniter-vectors.json).
 */

export class CroniterBadCronError extends Error {
  override readonly name = 'CroniterBadCronError';
}

/** Valid for croniter, but random (`R`): croniter picks new values each time it parses it. */
export class CroniterRandomError extends Error {
  override readonly name = 'CroniterRandomError';
}

/** croniter finds no matching time within 50 years (`failed to find next date`). */
export class CroniterBadDateError extends Error {
  override readonly name = 'CroniterBadDateError';
}

type FieldValue = number | 'l' | '*';

export interface CroniterExpression {
  /** The five fields as written, lower-cased (croniter's `expressions`). */
  fields: string[];
  /** Allowed values per field, or `['*']`. */
  expanded: FieldValue[][];
  /** Day of week (0 = Sunday) -> nth occurrences in the month (1-5 or 'l'). */
  nthWeekdayOfMonth: Map<number, Set<number | 'l'>>;
}

const MINUTE = 0;
const HOUR = 1;
const DAY = 2;
const MONTH = 3;
const DOW = 4;

const RANGES: readonly (readonly [number, number])[] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 6],
];
const LEN_MEANS_ALL = [60, 24, 31, 12, 7];
const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const MONTH_ALPHAS: Record<string, number> = {
  jan: 1,
  feb: 2,
  mar: 3,
  apr: 4,
  may: 5,
  jun: 6,
  jul: 7,
  aug: 8,
  sep: 9,
  oct: 10,
  nov: 11,
  dec: 12,
};
const DOW_ALPHAS: Record<string, number> = {
  sun: 0,
  mon: 1,
  tue: 2,
  wed: 3,
  thu: 4,
  fri: 5,
  sat: 6,
};
const ALPHACONV: readonly Record<string, number | 'l'>[] = [
  {},
  {},
  { l: 'l' },
  MONTH_ALPHAS,
  DOW_ALPHAS,
];

/** croniter's presets (`expr_aliases`), matched after lower-casing the whole expression. */
export const CRONITER_ALIASES: Readonly<Record<string, string>> = {
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

const WEEKDAYS = Object.keys(DOW_ALPHAS).join('|');
const MONTHS = Object.keys(MONTH_ALPHAS).join('|');
const STEP_SEARCH = /^([^-]+)-([^-/]+)(\/(\d+))?$/;
const ONLY_INT = /^\d+$/;
const STAR_OR_INT = /^(\d+|\*)$/;
const SPECIAL_DOW = new RegExp(
  `^(?<pre>((?<he>((${WEEKDAYS})(-(${WEEKDAYS}))?)|((${MONTHS})(-(${MONTHS}))?)|\\w+)#)|l)(?<last>\\d+)$`,
);
const HASH_EXPRESSION = /^(?<type>h|r)(\((?<begin>\d+)-(?<end>\d+)\))?(\/(?<divisor>\d+))?$/;

function alphaconv(field: number, key: string, expression: string): number | 'l' {
  const value = Object.hasOwn(ALPHACONV[field] ?? {}, key) ? ALPHACONV[field]?.[key] : undefined;
  if (value === undefined) {
    throw new CroniterBadCronError(
      `[${expression}] is not acceptable ('${key}' is not a known name)`,
    );
  }
  return value;
}

/** croniter's `value_alias` for 5-field expressions: only day-of-week 7 becomes 0. */
function valueAlias(value: number, field: number): number {
  return field === DOW && value === 7 ? 0 : value;
}

/** Python's `range(start, stop, step)` for positive steps; step 0 is croniter's "invalid range". */
function pyRange(start: number, stop: number, step: number): number[] {
  if (step === 0) throw new CroniterBadCronError('invalid range: range() arg 3 must not be zero');
  const out: number[] = [];
  for (let value = start; value < stop; value += step) out.push(value);
  return out;
}

/** croniter's sort key: integers as 2-digit strings, `*` and `l` as themselves. */
function sortKey(value: FieldValue): string {
  return typeof value === 'number' ? String(value).padStart(2, '0') : value;
}

/**
 * Parses a 5-field expression as `croniter.expand` does (no hash id, `second_at_beginning`
 * false). Presets must already be resolved. Throws `CroniterBadCronError` where croniter
 * throws, `CroniterRandomError` for `R`.
 */
export function expandCron(expression: string): CroniterExpression {
  const lowered = expression.toLowerCase();
  const fields = lowered.split(/\s+/).filter((field) => field !== '');
  if (fields.length !== 5) {
    throw new CroniterBadCronError(
      'Exactly 5, 6 or 7 columns has to be specified for iterator expression.',
    );
  }
  const expanded: FieldValue[][] = [];
  const nth = new Map<number, Set<number | 'l'>>();

  for (const [field, raw] of fields.entries()) {
    let expr = raw;
    const hash = HASH_EXPRESSION.exec(expr);
    if (hash?.groups) {
      const { type, begin, end, divisor } = hash.groups;
      if (type === 'h') throw new CroniterBadCronError('Hashed definitions must include hash_id');
      if (begin !== undefined && end !== undefined && Number(begin) >= Number(end)) {
        throw new CroniterBadCronError('Range end must be greater than range begin');
      }
      if (divisor !== undefined && Number(divisor) === 0) {
        throw new CroniterBadCronError(`Bad expression: ${expr}`);
      }
      throw new CroniterRandomError(`'${raw}' is random`);
    }
    if (expr.includes('?')) {
      if (expr !== '?') {
        throw new CroniterBadCronError(
          `[${expression}] is not acceptable. Question mark can not used with other characters`,
        );
      }
      if (field !== DAY && field !== DOW) {
        throw new CroniterBadCronError(
          `[${expression}] is not acceptable. Question mark can only used in day_of_month or day_of_week`,
        );
      }
      expr = '*';
    }

    const list: (string | number)[] = expr.split(',');
    const result: FieldValue[] = [];
    while (list.length > 0) {
      let element = String(list.pop());
      let nthValue: number | 'l' | null = null;

      if (field === DOW) {
        const special = SPECIAL_DOW.exec(element);
        if (special?.groups) {
          const { he, last, pre } = special.groups;
          if (he) {
            element = he;
            const parsed = Number(last);
            if (!Number.isInteger(parsed) || parsed < 1 || parsed > 5) {
              throw new CroniterBadCronError(
                `[${expression}] is not acceptable. Invalid day_of_week value: '${last}'`,
              );
            }
            nthValue = parsed;
          } else if (last) {
            element = last;
            nthValue = pre === 'l' ? 'l' : null;
          }
        }
      }

      const [low0, high0] = RANGES[field] as readonly [number, number];
      let text = element.replace(/^\*(\/.+)$/, `${low0}-${high0}$1`);
      let match = STEP_SEARCH.exec(text);
      if (!match) {
        text = element.replace(/^(.+)\/(.+)$/, `$1-${high0}/$2`);
        match = STEP_SEARCH.exec(text);
      }

      if (match) {
        let low: string | number = match[1] as string;
        let high: string | number = match[2] as string;
        const stepText = match[4] ?? '1';
        if (field === DAY && high === 'l') high = '31';
        if (!ONLY_INT.test(low)) low = String(alphaconv(field, low, expression));
        if (!ONLY_INT.test(high)) high = String(alphaconv(field, high, expression));
        const step = Number(stepText);
        for (const band of [low, high]) {
          if (!ONLY_INT.test(String(band))) {
            throw new CroniterBadCronError(
              `[${expression}] bands '${low}-${high}' in field ${field} are not acceptable`,
            );
          }
        }
        low = valueAlias(Number(low), field);
        high = valueAlias(Number(high), field);
        if (Math.max(low, high) > Math.max(low0, high0)) {
          throw new CroniterBadCronError(`${expression} is out of bands`);
        }
        let range: number[];
        if (low > high) {
          // Backtracking ranges (fri-mon, apr-jan/3): low..max, then min.. skipping to keep the step.
          const whole = pyRange(low0, high0 + 1, 1);
          range = pyRange(low, high0 + 1, step);
          let toSkip = 0;
          const lastValue = range.at(-1);
          if (lastValue !== undefined) {
            const alreadySkipped = [...whole].reverse().indexOf(lastValue);
            const position = whole.indexOf(lastValue);
            if (position + step > whole.length && alreadySkipped < step) {
              toSkip = step - alreadySkipped;
            }
          }
          range = [...range, ...pyRange(low0 + toSkip, high + 1, step)];
        } else if (low === high) {
          // `a-a` (jan-jan, sun-sun, 7-7) is the whole cycle for croniter.
          range = pyRange(low0, high0 + 1, step);
        } else {
          range = pyRange(low, high + 1, step);
        }
        const items: (string | number)[] =
          field === DOW && typeof nthValue === 'number'
            ? range.map((item) => `${item}#${nthValue}`)
            : range;
        for (const item of items) if (!list.includes(item)) list.push(item);
      } else {
        if (text.startsWith('-')) {
          throw new CroniterBadCronError(
            `[${expression}] is not acceptable,negative numbers not allowed`,
          );
        }
        const named: number | string = STAR_OR_INT.test(text)
          ? text
          : alphaconv(field, text, expression);
        let value: FieldValue;
        if (named === '*' || named === 'l') {
          value = named;
        } else {
          const number = valueAlias(Number(named), field);
          if (!Number.isInteger(number) || number < low0 || number > high0) {
            throw new CroniterBadCronError(`[${expression}] is not acceptable, out of range`);
          }
          value = number;
        }
        result.push(value);
        if (field === DOW && nthValue !== null && typeof value === 'number') {
          const set = nth.get(value) ?? new Set<number | 'l'>();
          set.add(nthValue);
          nth.set(value, set);
        }
      }
    }

    let unique = [...new Set(result)].sort((a, b) =>
      sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0,
    );
    if (unique.length === LEN_MEANS_ALL[field]) {
      const keepList =
        (field === DAY && !(fields[DOW] ?? '').includes('*')) ||
        (field === DOW && !(fields[DAY] ?? '').includes('*'));
      if (!keepList) unique = ['*'];
    }
    expanded.push(unique.length === 1 && unique[0] === '*' ? ['*'] : unique);
  }

  if (nth.size > 0) {
    const dows = new Set(expanded[DOW]);
    for (const key of nth.keys()) dows.delete(key);
    dows.delete('*');
    if (dows.size > 0 && new Set(expanded[DOW]).size !== LEN_MEANS_ALL[DOW]) {
      throw new CroniterBadCronError(
        'day-of-week field does not support mixing literal values and nth day of week syntax.',
      );
    }
  }
  return { fields, expanded, nthWeekdayOfMonth: nth };
}

// ---- the forward search, on wall-clock times ----

const MS_MINUTE = 60_000;
const MS_HOUR = 3_600_000;
const MS_DAY = 86_400_000;
const MAX_YEARS_BETWEEN_MATCHES = 50;

interface Wall {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const toWall = (ms: number): Wall => {
  const date = new Date(ms);
  return {
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds(),
  };
};
const fromWall = (w: Wall): number =>
  Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);

const isLeap = (year: number): boolean => year % 400 === 0 || (year % 4 === 0 && year % 100 !== 0);
const daysInMonth = (year: number, month: number): number =>
  (DAYS[month - 1] ?? 31) + (month === 2 && isLeap(year) ? 1 : 0);

/** dateutil's relativedelta: absolute fields first (day clamped), then the relative amounts. */
function relative(
  d: Wall,
  delta: {
    months?: number;
    days?: number;
    hours?: number;
    minutes?: number;
    day?: number;
    hour?: number;
    minute?: number;
    second?: number;
  },
): Wall {
  let { year, month } = d;
  if (delta.months) {
    month += delta.months;
    year += Math.floor((month - 1) / 12);
    month = ((((month - 1) % 12) + 12) % 12) + 1;
  }
  const day = Math.min(daysInMonth(year, month), delta.day ?? d.day);
  const replaced = fromWall({
    year,
    month,
    day,
    hour: delta.hour ?? d.hour,
    minute: delta.minute ?? d.minute,
    second: delta.second ?? d.second,
  });
  return toWall(
    replaced +
      (delta.days ?? 0) * MS_DAY +
      (delta.hours ?? 0) * MS_HOUR +
      (delta.minutes ?? 0) * MS_MINUTE,
  );
}

function nextNearestDiff(x: number, toCheck: FieldValue[], rangeValue: number): number {
  for (const candidate of toCheck) {
    const value = candidate === 'l' ? rangeValue : candidate;
    if (typeof value === 'number' && value >= x) return value - x;
  }
  const first = toCheck[0];
  return (first === 'l' ? rangeValue : Number(first)) - x + rangeValue;
}

/** Days of `month` that are weekday `dow` (0 = Sunday), in order. */
function nthWeekdaysOfMonth(year: number, month: number, dow: number): number[] {
  const firstWeekday = new Date(Date.UTC(year, month - 1, 1)).getUTCDay();
  const first = 1 + ((dow - firstWeekday + 7) % 7);
  const days: number[] = [];
  for (let day = first; day <= daysInMonth(year, month); day += 7) days.push(day);
  return days;
}

/** croniter's `_calc` going forward from `now` (wall-clock ms): the first match after it. */
function calc(
  nowMs: number,
  expanded: FieldValue[][],
  nth: Map<number, Set<number | 'l'>>,
): number {
  const now = Math.floor(nowMs / 1000) * 1000;
  let d = toWall(now + MS_MINUTE);
  const currentYear = toWall(now + MS_MINUTE).year;
  const has = (field: number): boolean => (expanded[field] ?? ['*']).includes('*');
  const values = (field: number): FieldValue[] => expanded[field] ?? ['*'];

  type Step = (w: Wall) => [boolean, Wall];
  const procMonth: Step = (w) => {
    if (has(MONTH)) return [false, w];
    const diff = nextNearestDiff(w.month, values(MONTH), 12);
    if (diff !== 0)
      return [true, relative(w, { months: diff, day: 1, hour: 0, minute: 0, second: 0 })];
    return [false, w];
  };
  const procDayOfMonth: Step = (w) => {
    if (has(DAY)) return [false, w];
    const days = daysInMonth(w.year, w.month);
    if (values(DAY).includes('l') && days === w.day) return [false, w];
    const diff = nextNearestDiff(w.day, values(DAY), days);
    if (diff !== 0) return [true, relative(w, { days: diff, hour: 0, minute: 0, second: 0 })];
    return [false, w];
  };
  const procDayOfWeek: Step = (w) => {
    if (has(DOW)) return [false, w];
    const weekday = new Date(fromWall(w)).getUTCDay();
    const diff = nextNearestDiff(weekday, values(DOW), 7);
    if (diff !== 0) return [true, relative(w, { days: diff, hour: 0, minute: 0, second: 0 })];
    return [false, w];
  };
  const procDayOfWeekNth: Step = (w) => {
    const candidates: number[] = [];
    for (const [weekday, which] of nth) {
      const days = nthWeekdaysOfMonth(w.year, w.month, weekday);
      for (const n of which) {
        let candidate: number | undefined;
        if (n === 'l') candidate = days.at(-1);
        else if (days.length < n) continue;
        else candidate = days[n - 1];
        if (candidate !== undefined && w.day <= candidate) candidates.push(candidate);
      }
    }
    if (candidates.length === 0) {
      const days = daysInMonth(w.year, w.month);
      return [true, relative(w, { days: days - w.day + 1, hour: 0, minute: 0, second: 0 })];
    }
    const diff = Math.min(...candidates) - w.day;
    if (diff !== 0) return [true, relative(w, { days: diff, hour: 0, minute: 0, second: 0 })];
    return [false, w];
  };
  const procHour: Step = (w) => {
    if (has(HOUR)) return [false, w];
    const diff = nextNearestDiff(w.hour, values(HOUR), 24);
    if (diff !== 0) return [true, relative(w, { hours: diff, minute: 0, second: 0 })];
    return [false, w];
  };
  const procMinute: Step = (w) => {
    if (has(MINUTE)) return [false, w];
    const diff = nextNearestDiff(w.minute, values(MINUTE), 60);
    if (diff !== 0) return [true, relative(w, { minutes: diff, second: 0 })];
    return [false, w];
  };
  const procSecond: Step = (w) => [false, { ...w, second: 0 }];
  const procs: Step[] = [
    procMonth,
    procDayOfMonth,
    nth.size > 0 ? procDayOfWeekNth : procDayOfWeek,
    procHour,
    procMinute,
    procSecond,
  ];

  while (Math.abs(d.year - currentYear) <= MAX_YEARS_BETWEEN_MATCHES) {
    let changed = false;
    for (const proc of procs) {
      const [didChange, next] = proc(d);
      d = next;
      if (didChange) {
        changed = true;
        break;
      }
    }
    if (!changed) return fromWall(d);
  }
  throw new CroniterBadDateError('failed to find next date');
}

/**
 * croniter's `get_next` on wall-clock time: the first wall-clock minute strictly after
 * `wallMs` (at minute precision) that the expression matches. With both day fields
 * restricted, a day matching either fires (croniter's `day_or=True`, its default and what
 * Meltano and Airflow use).
 */
export function nextWallTime(expression: CroniterExpression, wallMs: number): number {
  const expanded = expression.expanded.map((values) => [...values]);
  const { nthWeekdayOfMonth } = expression;
  if ((expanded[DAY]?.[0] ?? '*') !== '*' && (expanded[DOW]?.[0] ?? '*') !== '*') {
    const byDay = expanded.map((values, field) => (field === DOW ? ['*' as const] : values));
    const byWeekday = expanded.map((values, field) => (field === DAY ? ['*' as const] : values));
    const t1 = calc(wallMs, byDay, nthWeekdayOfMonth);
    const t2 = calc(wallMs, byWeekday, nthWeekdayOfMonth);
    return Math.min(t1, t2);
  }
  return calc(wallMs, expanded, nthWeekdayOfMonth);
}

/** Whether the hour field is `*` (every hour): such crons fire in each elapsed hour. */
export function firesEveryHour(expression: CroniterExpression): boolean {
  return (expression.expanded[HOUR]?.[0] ?? '*') === '*';
}
