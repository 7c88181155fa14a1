/** state list|get|set|clear: a deployment's Meltano state (as `meltano state`). */
import { Command, Option } from 'commander';
import { CliError, readFileArg, readStdin, type Context } from '../context.js';
import { formatTime } from '../output.js';
import {
  deploymentOption,
  example,
  formatOption,
  limitOption,
  printList,
  type FormatOpts,
  type LimitOpts,
} from './common.js';

/** `*` in a --pattern matches anything (as `meltano state list --pattern`). */
const globToRegExp = (glob: string): RegExp =>
  new RegExp(
    `^${glob
      .split('*')
      .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

export function stateCommand(ctx: Context): Command {
  const state = example(
    new Command('state').description(
      'A deployment’s Meltano state (bookmarks of incremental runs)',
    ),
    'meltano-cloud state list',
  );
  const path = async (deployment?: string) => {
    const org = await ctx.org();
    const project = ctx.project();
    return { org, project, deployment: await ctx.deploymentOrFail(org, project, deployment) };
  };

  example(
    state
      .command('list')
      .description(
        "List state ids (Meltano's own: <environment>:<extractor>-to-<loader>[:<suffix>], or an extractor/loader schedule's name)",
      )
      .addOption(deploymentOption())
      .option('--pattern <glob>', 'only state ids matching this (* is a wildcard)')
      .addOption(limitOption('state ids'))
      .addOption(formatOption())
      .action(async (opts: FormatOpts & LimitOpts & { deployment?: string; pattern?: string }) => {
        const rows = (await ctx.api.request('listStates', { path: await path(opts.deployment) }))
          .results;
        const match = opts.pattern ? globToRegExp(opts.pattern) : null;
        printList(
          ctx.io,
          opts.format,
          match ? rows.filter((r) => match.test(r.state_id)) : rows,
          [
            { header: 'STATE ID', value: (r) => r.state_id, shrink: true },
            { header: 'UPDATED', value: (r) => formatTime(r.updated_at, ctx.time) },
          ],
          'No state stored.',
          opts.limit,
        );
      }),
    'meltano-cloud state list --pattern "prod:*"',
  );

  example(
    state
      .command('get')
      .description('Print a state as JSON')
      .requiredOption('--state-id <id>', 'state id')
      .addOption(deploymentOption())
      .action(async (opts: { stateId: string; deployment?: string }) => {
        const row = await ctx.api.request('getState', {
          path: { ...(await path(opts.deployment)), stateId: opts.stateId },
        });
        ctx.io.out(`${JSON.stringify(row.value, null, 2)}\n`);
      }),
    'meltano-cloud state get --state-id prod:load',
  );

  example(
    state
      .command('set')
      .description('Replace a state with JSON from --file-path, --value or standard input')
      .requiredOption('--state-id <id>', 'state id')
      .addOption(new Option('--file-path <file>', 'a JSON file').conflicts('value'))
      .option('--value <json>', 'the state as JSON')
      .addOption(deploymentOption())
      .action(
        async (opts: {
          stateId: string;
          filePath?: string;
          value?: string;
          deployment?: string;
        }) => {
          const text =
            opts.value ??
            (opts.filePath !== undefined
              ? readFileArg(opts.filePath, 'the state')
              : await readStdin());
          let value: unknown;
          try {
            value = JSON.parse(text);
          } catch {
            throw new CliError('The state is not valid JSON.', 2);
          }
          if (!value || typeof value !== 'object' || Array.isArray(value))
            throw new CliError('The state must be a JSON object, e.g. {"singer_state": {…}}.', 2);
          await ctx.api.request('setState', {
            path: { ...(await path(opts.deployment)), stateId: opts.stateId },
            body: { value: value as Record<string, unknown> },
          });
          ctx.io.err(`Set state ${opts.stateId}.\n`);
        },
      ),
    'meltano-cloud state set --state-id prod:load --file-path state.json',
    `meltano-cloud state set --state-id prod:load --value '{"singer_state": {"bookmark": 40}}'`,
  );

  example(
    state
      .command('clear')
      .alias('delete')
      .description('Clear (delete) a state: the next run starts from scratch')
      .requiredOption('--state-id <id>', 'state id')
      .addOption(deploymentOption())
      .action(async (opts: { stateId: string; deployment?: string }) => {
        await ctx.api.request('clearState', {
          path: { ...(await path(opts.deployment)), stateId: opts.stateId },
        });
        ctx.io.err(`Cleared state ${opts.stateId}.\n`);
      }),
    'meltano-cloud state clear --state-id prod:load',
    'meltano-cloud state delete --state-id prod:load    # as Meltano Cloud',
  );
  return state;
}
