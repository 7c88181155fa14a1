/** Helpers shared by the command definitions. */
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Output } from '../context.js';
import { FORMATS, renderList, type Column, type Format } from '../output.js';

/** Adds an "Example(s):" section to a command's --help. */
export function example(cmd: Command, ...lines: string[]): Command {
  const title = lines.length > 1 ? 'Examples' : 'Example';
  return cmd.addHelpText('after', `\n${title}:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

export const formatOption = (): Option =>
  new Option('--format <format>', 'output format').choices(FORMATS).default('terminal');

export interface FormatOpts {
  format: Format;
}

export const deploymentOption = (what = 'deployment to use'): Option =>
  new Option('--deployment <name>', `${what} (default: the current deployment)`);

/** Commander parser for a positive integer option. */
export function positiveInt(name: string, min = 1, max = 100_000) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) {
      throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}.`);
    }
    return n;
  };
}

export const collect = (value: string, previous: string[] = []): string[] => [
  ...previous,
  ...value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean),
];

export const shortSha = (sha: string | null | undefined): string => (sha ? sha.slice(0, 7) : '-');

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

export const DEFAULT_LIMIT = 100;

/** `--limit <n>`, on every list command. */
export const limitOption = (what = 'items', fallback = DEFAULT_LIMIT): Option =>
  new Option('--limit <n>', `at most this many ${what}`)
    .argParser(positiveInt('--limit', 1, 100_000))
    .default(fallback);

export interface LimitOpts {
  limit: number;
}

/**
 * Prints `rows` in the `--format` chosen: a table as wide as the terminal
 * (never cut when stdout is not one), coloured on a terminal, `empty` when none.
 * With `limit`, prints at most that many and says on stderr when it cut
 * (pass one row more than the limit when there may be more).
 */
export function printList<T>(
  io: Output,
  format: Format,
  rows: T[],
  columns: Column<T>[],
  empty: string,
  limit?: number,
): void {
  const shown = limit !== undefined && rows.length > limit ? rows.slice(0, limit) : rows;
  io.out(renderList(format, shown, columns, { maxWidth: io.columns, empty, colour: io.colour }));
  if (shown.length < rows.length)
    io.err(
      `Output truncated to ${plural(shown.length, 'item')}; use --limit to show more (e.g. --limit ${limit! * 10}).\n`,
    );
}
