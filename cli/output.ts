/** Tables, list formats, times and durations. */

export const FORMATS = ['terminal', 'json', 'markdown'] as const;
export type Format = (typeof FORMATS)[number];

/** ANSI colours used for statuses (only on a terminal, never with NO_COLOR). */
export const COLOURS = { red: 31, green: 32, yellow: 33, blue: 34, grey: 90, bold: 1 } as const;
export type Colour = keyof typeof COLOURS;

export const paint = (text: string, colour: Colour | undefined, on: boolean): string =>
  on && colour && text ? `\x1b[${COLOURS[colour]}m${text}\x1b[0m` : text;

/** The colour of a run, deploy or deployment status. */
export function statusColour(status: string): Colour | undefined {
  if (/^(succeeded|success|ready|yes|active)$/.test(status)) return 'green';
  if (/^(failed|timed_out|invalid|lost)$/.test(status)) return 'red';
  if (/^(running|starting|deploying|queued)$/.test(status)) return 'yellow';
  if (/^(cancelled|skipped|superseded|no|paused|inactive)$/.test(status)) return 'grey';
  return undefined;
}

export interface Column<T> {
  header: string;
  value: (row: T) => string;
  /** Colour of the cell on a terminal. */
  colour?: (row: T) => Colour | undefined;
  /** May be cut (with …) to fit the terminal; other columns keep their width when they can. */
  shrink?: boolean;
  /** Never cut (ids, times): the table may then be wider than asked. */
  fixed?: boolean;
  align?: 'left' | 'right';
}

const width = (s: string): number => [...s].length;

/** Cuts `s` to `max` characters, ending with … when cut. */
export function truncate(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  if (max <= 1) return '…'.slice(0, max);
  return `${chars.slice(0, max - 1).join('')}…`;
}

const GAP = 2;
const MIN_SHRUNK = 6;

/**
 * A plain-text table no wider than `maxWidth` (columns marked `shrink` give way
 * first; Infinity: nothing is cut), coloured when `colour` is set.
 */
export function renderTable<T>(
  rows: T[],
  columns: Column<T>[],
  maxWidth = 80,
  colour = false,
): string {
  const cells = rows.map((row) => columns.map((c) => c.value(row).replace(/\s*\n\s*/g, ' ')));
  const widths = columns.map((c, i) =>
    Math.max(width(c.header), ...cells.map((r) => width(r[i] ?? ''))),
  );
  const total = () => widths.reduce((a, b) => a + b, 0) + GAP * (columns.length - 1);
  const shrinkOnce = (canShrink: (i: number) => boolean, floor: (i: number) => number) => {
    let best = -1;
    for (let i = 0; i < widths.length; i++) {
      if (!canShrink(i) || (widths[i] ?? 0) <= floor(i)) continue;
      if (best < 0 || (widths[i] ?? 0) > (widths[best] ?? 0)) best = i;
    }
    if (best < 0) return false;
    widths[best] = (widths[best] ?? 0) - 1;
    return true;
  };
  while (total() > maxWidth) {
    if (
      shrinkOnce(
        (i) => columns[i]?.shrink === true,
        () => MIN_SHRUNK,
      )
    )
      continue;
    if (
      shrinkOnce(
        (i) => columns[i]?.fixed !== true,
        (i) => Math.min(MIN_SHRUNK, width(columns[i]?.header ?? '')),
      )
    )
      continue;
    break;
  }
  const line = (values: string[], row?: T) =>
    values
      .map((v, i) => {
        const w = widths[i] ?? 0;
        const cut = truncate(v, w);
        const pad = ' '.repeat(Math.max(0, w - width(cut)));
        const c = row === undefined ? (colour ? 'bold' : undefined) : columns[i]?.colour?.(row);
        const shown = paint(cut, c, colour);
        return columns[i]?.align === 'right' ? pad + shown : shown + pad;
      })
      .join(' '.repeat(GAP))
      .trimEnd();
  return (
    [line(columns.map((c) => c.header)), ...cells.map((c, i) => line(c, rows[i]))].join('\n') + '\n'
  );
}

const mdCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ') || ' ';

export function renderMarkdown<T>(rows: T[], columns: Column<T>[]): string {
  const head = `| ${columns.map((c) => mdCell(c.header)).join(' | ')} |`;
  const rule = `| ${columns.map((c) => (c.align === 'right' ? '---:' : '---')).join(' | ')} |`;
  const body = rows.map((r) => `| ${columns.map((c) => mdCell(c.value(r))).join(' | ')} |`);
  return [head, rule, ...body].join('\n') + '\n';
}

/** A list in the chosen format: the API's objects as JSON, or a table. */
export function renderList<T>(
  format: Format,
  rows: T[],
  columns: Column<T>[],
  options: { maxWidth?: number; empty?: string; colour?: boolean } = {},
): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(rows, null, 2)}\n`;
    case 'markdown':
      return renderMarkdown(rows, columns);
    case 'terminal':
      if (rows.length === 0 && options.empty) return `${options.empty}\n`;
      return renderTable(rows, columns, options.maxWidth, options.colour);
  }
}

export interface TimeOptions {
  utc: boolean;
}

function parts(date: Date, utc: boolean): Record<string, string> {
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone: utc ? 'UTC' : undefined,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    timeZoneName: 'short',
  });
  const out: Record<string, string> = {};
  for (const p of fmt.formatToParts(date)) out[p.type] = p.value;
  return out;
}

/** `2026-11-21 10:00` in the user's timezone (or UTC); `long` adds seconds and the zone. */
export function formatTime(
  iso: string | null | undefined,
  options: TimeOptions,
  style: 'short' | 'long' | 'compact' = 'short',
): string {
  if (!iso) return '-';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const p = parts(date, options.utc);
  const day = `${p.year}-${p.month}-${p.day}`;
  const time = `${p.hour}:${p.minute}`;
  if (style === 'compact') return `${p.month}-${p.day} ${time}`;
  if (style === 'long') return `${day} ${time}:${p.second} ${options.utc ? 'UTC' : p.timeZoneName}`;
  return `${day} ${time}`;
}

/** The zone times are shown in, for headers and help. */
export function timeZoneLabel(options: TimeOptions): string {
  return options.utc ? 'UTC' : Intl.DateTimeFormat().resolvedOptions().timeZone;
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '-';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** `2026-11-21 10:00:05` with the zone named once, in a header: `EXECUTED AT (Europe/Berlin)`. */
export function formatDateTime(iso: string | null | undefined, options: TimeOptions): string {
  if (!iso) return '-';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const p = parts(date, options.utc);
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/**
 * Runs per day as the API computes and rounds it (`runs_per_day`, src/schedules/interval.ts),
 * printed as given: the dashboard (web/view-deployment.js) prints the same value.
 */
export function formatRunsPerDay(value: number): string {
  return String(value);
}
