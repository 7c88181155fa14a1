/** schedule, run, history, logs and job commands. */
import { Command, Option } from 'commander';
import { ApiClient, ApiError, type Run } from '../api-client.js';
import { CliError, type Context } from '../context.js';
import { formatDuration, formatRunsPerDay, formatTime, timeZoneLabel } from '../output.js';
import {
  collect,
  deploymentOption,
  example,
  formatOption,
  positiveInt,
  printList,
  type FormatOpts,
} from './common.js';

const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out', 'skipped']);

/** 0 when the run succeeded, 1 otherwise. */
export const exitCodeOf = (run: Run): number => (run.status === 'succeeded' ? 0 : 1);

const describeRun = (run: Run): string =>
  run.status === 'succeeded'
    ? `succeeded in ${formatDuration(run.duration_seconds)}`
    : `${run.status.replace('_', ' ')}${run.status_reason ? `: ${run.status_reason}` : ''}`;

async function deploymentPath(ctx: Context, flag?: string) {
  const org = await ctx.org();
  return { org, project: ctx.project(), deployment: ctx.deployment(flag) };
}

export function scheduleCommand(ctx: Context): Command {
  const schedule = example(
    new Command('schedule').description(
      'Schedules of a deployment, as declared in meltano.yml (enable them per deployment)',
    ),
    'meltano-cloud schedule list',
  );

  example(
    schedule
      .command('list')
      .description('List schedules with their runs per day and next run')
      .addOption(deploymentOption())
      .addOption(formatOption())
      .action(async (opts: FormatOpts & { deployment?: string }) => {
        const path = await deploymentPath(ctx, opts.deployment);
        const rows = await ctx.api.all('listSchedules', { path });
        printList(
          ctx.io,
          opts.format,
          rows,
          [
            { header: 'SCHEDULE', value: (s) => s.name, shrink: true },
            { header: 'INTERVAL', value: (s) => s.interval ?? '-', shrink: true },
            {
              header: 'ENABLED',
              value: (s) => (!s.valid ? 'invalid' : s.enabled ? 'yes' : 'no'),
            },
            {
              header: 'RUNS/DAY',
              value: (s) => formatRunsPerDay(s.runs_per_day),
              align: 'right',
            },
            {
              header: `NEXT RUN (${ctx.time.utc ? 'UTC' : 'local'})`,
              value: (s) => (s.enabled && s.valid ? formatTime(s.upcoming[0], ctx.time) : '-'),
            },
          ],
          `Deployment ${path.deployment} has no schedules (none in meltano.yml for its environment).`,
        );
      }),
    'meltano-cloud schedule list --deployment prod',
  );

  example(
    schedule
      .command('describe')
      .description('Show a schedule and its next fire times')
      .requiredOption('--schedule <name>', 'schedule name')
      .addOption(deploymentOption())
      .option(
        '--num-upcoming <n>',
        'how many upcoming runs to show',
        positiveInt('--num-upcoming', 0, 100),
        10,
      )
      .option('--only-upcoming', 'print only the upcoming run times, one per line')
      .addOption(
        new Option('--format <format>', 'output format')
          .choices(['terminal', 'json'])
          .default('terminal'),
      )
      .action(
        async (opts: {
          schedule: string;
          deployment?: string;
          numUpcoming: number;
          onlyUpcoming?: boolean;
          format: 'terminal' | 'json';
        }) => {
          const path = await deploymentPath(ctx, opts.deployment);
          const s = await ctx.api.request('getSchedule', {
            path: { ...path, schedule: opts.schedule },
            query: { num_upcoming: opts.numUpcoming },
          });
          if (opts.format === 'json') {
            ctx.io.out(`${JSON.stringify(opts.onlyUpcoming ? s.upcoming : s, null, 2)}\n`);
            return;
          }
          const upcoming = s.upcoming.map((t) => formatTime(t, ctx.time, 'long'));
          if (opts.onlyUpcoming) {
            ctx.io.out(upcoming.map((t) => `${t}\n`).join(''));
            return;
          }
          const target =
            s.job ?? ([s.extractor, s.loader, s.transform].filter(Boolean).join(' ') || '-');
          const lines: [string, string][] = [
            ['Schedule', s.name],
            ['Deployment', path.deployment],
            [
              'Interval',
              `${s.interval ?? '-'}${s.cron && s.cron !== s.interval ? ` (cron ${s.cron})` : ''} in ${s.timezone}`,
            ],
            [s.job ? 'Job' : 'Runs', target],
            ['Enabled', s.enabled ? 'yes' : 'no'],
            ['Runs per day', formatRunsPerDay(s.runs_per_day)],
          ];
          if (!s.valid) lines.push(['Invalid', s.invalid_reason ?? 'yes']);
          if (s.archived) lines.push(['Archived', 'yes (no longer in meltano.yml)']);
          let text = lines.map(([k, v]) => `${`${k}:`.padEnd(14)}${v}`).join('\n') + '\n';
          if (opts.numUpcoming > 0) {
            text += `\nUpcoming runs (${timeZoneLabel(ctx.time)})${s.enabled ? '' : ', once enabled'}:\n`;
            text += upcoming.length ? upcoming.map((t) => `  ${t}\n`).join('') : '  none\n';
          }
          ctx.io.out(text);
        },
      ),
    'meltano-cloud schedule describe --schedule daily-load --num-upcoming 5',
    'meltano-cloud schedule describe --schedule daily-load --only-upcoming',
  );

  for (const [verb, enabled] of [
    ['enable', true],
    ['disable', false],
  ] as const) {
    example(
      schedule
        .command(verb)
        .description(`${verb === 'enable' ? 'Enable' : 'Disable'} a schedule on a deployment`)
        .requiredOption('--schedule <name>', 'schedule name')
        .addOption(deploymentOption())
        .action(async (opts: { schedule: string; deployment?: string }) => {
          const path = await deploymentPath(ctx, opts.deployment);
          const s = await ctx.api.request('updateSchedule', {
            path: { ...path, schedule: opts.schedule },
            body: { enabled },
          });
          const next =
            s.enabled && s.upcoming[0]
              ? `; next run ${formatTime(s.upcoming[0], ctx.time, 'long')}`
              : '';
          ctx.io.err(
            `Schedule ${s.name} is ${s.enabled ? 'enabled' : 'disabled'} on ${path.deployment}${next}.\n`,
          );
        }),
      `meltano-cloud schedule ${verb} --schedule daily-load --deployment prod`,
    );
  }
  return schedule;
}

/** Polls a run until it ends, showing its status; returns the final run. */
async function waitForRun(ctx: Context, org: string, first: Run): Promise<Run> {
  let run = first;
  const started = Date.now();
  const result = await ctx.interruptible(
    async (signal) => {
      for (;;) {
        const elapsed = formatDuration((Date.now() - started) / 1000);
        const why = run.waiting_reason ? ` (${run.waiting_reason})` : '';
        ctx.io.progress(`Run ${run.id}: ${run.status}${why} … ${elapsed}`);
        if (FINAL.has(run.status)) return run;
        await ctx.sleep(1000);
        run = await ctx.api.request('getRun', { path: { org, runId: run.id }, signal });
      }
    },
    `Stopped waiting; run ${first.id} continues.\n` +
      `Follow it with \`meltano-cloud logs print --execution-id ${first.id} --follow\`, ` +
      `stop it with \`meltano-cloud job stop --execution-id ${first.id}\`.`,
  );
  ctx.io.endProgress();
  return result;
}

export function runCommand(ctx: Context): Command {
  return example(
    new Command('run')
      .description('Run a schedule (or a job of meltano.yml) now')
      .argument('<schedule-or-job>', 'schedule name, or job name')
      .addOption(deploymentOption())
      .option('--job', 'treat the name as a job even if a schedule has that name')
      .option('--wait', 'wait for the run to finish; the exit code is 0 only if it succeeded')
      .addOption(
        new Option('--format <format>', 'output format')
          .choices(['terminal', 'json'])
          .default('terminal'),
      )
      .addHelpText(
        'after',
        '\nExit code with --wait: 0 when the run succeeded, 1 when it failed, timed out, was cancelled or skipped, 130 on Ctrl-C (the run continues).',
      )
      .action(
        async (
          name: string,
          opts: { deployment?: string; job?: boolean; wait?: boolean; format: 'terminal' | 'json' },
        ) => {
          const path = await deploymentPath(ctx, opts.deployment);
          let kind: 'schedule' | 'job' = opts.job ? 'job' : 'schedule';
          if (!opts.job) {
            try {
              const s = await ctx.api.request('getSchedule', {
                path: { ...path, schedule: name },
                query: { num_upcoming: 0 },
              });
              if (s.archived) kind = 'job';
            } catch (err) {
              if (
                err instanceof ApiError &&
                err.status === 404 &&
                err.detail?.startsWith('Schedule')
              )
                kind = 'job';
              else throw err;
            }
          }
          const run = await ctx.api.request('createRun', {
            path,
            body: kind === 'schedule' ? { schedule: name } : { job: name },
            headers: { 'Idempotency-Key': ApiClient.idempotencyKey() },
          });
          ctx.io.err(
            `Run ${run.id} queued: ${kind} '${run.target}' on deployment ${path.deployment}` +
              `${run.commit_sha ? ` at ${run.commit_sha.slice(0, 7)}` : ''}.\n`,
          );
          if (!opts.wait) {
            ctx.io.out(
              opts.format === 'json' ? `${JSON.stringify(run, null, 2)}\n` : `${run.id}\n`,
            );
            if (opts.format !== 'json')
              ctx.io.err(`Follow it: meltano-cloud logs print --execution-id ${run.id} --follow\n`);
            return;
          }
          const final = await waitForRun(ctx, path.org, run);
          if (opts.format === 'json') ctx.io.out(`${JSON.stringify(final, null, 2)}\n`);
          else ctx.io.out(`${final.id}\n`);
          ctx.io.err(`Run ${final.id} ${describeRun(final)}.\n`);
          if (final.status !== 'succeeded')
            ctx.io.err(`See its log: meltano-cloud logs print --execution-id ${final.id}\n`);
          process.exitCode = exitCodeOf(final);
        },
      ),
    'meltano-cloud run daily-load --wait',
    'meltano-cloud run load --job --deployment staging',
  );
}

/** Meltano Cloud's --result words, and this API's statuses. */
const RESULTS: Record<string, string[]> = {
  success: ['succeeded'],
  succeeded: ['succeeded'],
  failed: ['failed', 'timed_out'],
  running: ['queued', 'starting', 'running'],
  cancelled: ['cancelled'],
  queued: ['queued'],
  timed_out: ['timed_out'],
  skipped: ['skipped'],
};

export function historyCommand(ctx: Context): Command {
  return example(
    new Command('history')
      .description('Run history of the current project, newest first')
      .addOption(
        new Option('--schedule <name>', 'only this schedule (or job)').conflicts([
          'schedulePrefix',
          'scheduleContains',
        ]),
      )
      .addOption(
        new Option('--schedule-prefix <prefix>', 'only schedules starting with this').conflicts(
          'scheduleContains',
        ),
      )
      .addOption(new Option('--schedule-contains <text>', 'only schedules containing this'))
      .option('--deployment <name>', 'only this deployment (repeat for several)', collect)
      .addOption(
        new Option('--result <result>', 'only runs with this result').choices(Object.keys(RESULTS)),
      )
      .option('--lookback <period>', 'only runs of the last period, e.g. 1w2d3h4m')
      .option('--limit <n>', 'at most this many runs', positiveInt('--limit', 1, 10_000), 10)
      .option('--all-projects', 'runs of every project in the organization')
      .addOption(formatOption())
      .action(
        async (
          opts: FormatOpts & {
            schedule?: string;
            schedulePrefix?: string;
            scheduleContains?: string;
            deployment?: string[];
            result?: string;
            lookback?: string;
            limit: number;
            allProjects?: boolean;
          },
        ) => {
          if (opts.lookback !== undefined && !/^(\d+w)?(\d+d)?(\d+h)?(\d+m)?$/.test(opts.lookback))
            throw new CliError(`--lookback '${opts.lookback}' is not like 1w2d3h4m.`, 2);
          const org = await ctx.org();
          const project = opts.allProjects ? undefined : ctx.config.value('project');
          const runs = await ctx.api.all(
            'listRuns',
            {
              path: { org },
              query: {
                project,
                deployment: opts.deployment?.join(','),
                schedule: opts.schedule,
                schedule_prefix: opts.schedulePrefix,
                schedule_contains: opts.scheduleContains,
                status: opts.result ? RESULTS[opts.result]?.join(',') : undefined,
                lookback: opts.lookback,
              },
            },
            opts.limit,
          );
          printList(
            ctx.io,
            opts.format,
            runs,
            [
              { header: 'EXECUTION ID', value: (r) => r.id },
              { header: 'SCHEDULE', value: (r) => r.target, shrink: true },
              {
                header: 'EXECUTED AT',
                value: (r) => formatTime(r.started_at ?? r.queued_at, ctx.time, 'compact'),
              },
              { header: 'RESULT', value: (r) => r.status },
              {
                header: 'DURATION',
                value: (r) => formatDuration(r.duration_seconds),
                align: 'right',
              },
            ],
            'No runs match.',
          );
        },
      ),
    'meltano-cloud history --schedule daily-load --lookback 1w --result failed',
    'meltano-cloud history --deployment prod --deployment staging --limit 50 --format json',
  );
}

export function logsCommand(ctx: Context): Command {
  const logs = example(
    new Command('logs').description('Run logs'),
    'meltano-cloud logs print --execution-id <id>',
  );
  example(
    logs
      .command('print')
      .description('Print a run’s log (secrets masked); --follow streams it until the run ends')
      .requiredOption('--execution-id <id>', 'the run’s id (see `meltano-cloud history`)')
      .option(
        '-f, --follow',
        'keep printing new lines until the run ends; exit code 0 only if it succeeded',
      )
      .action(async (opts: { executionId: string; follow?: boolean }) => {
        const org = await ctx.org();
        const runId = opts.executionId;
        if (!opts.follow) {
          let after = 0;
          for (;;) {
            const page = await ctx.api.request('getLogs', {
              path: { org, runId },
              query: { after_seq: after, limit: 5000 },
            });
            ctx.io.out(page.lines.map((l) => `${l.line}\n`).join(''));
            if (page.lines.length === 0) break;
            after = page.next_after_seq;
          }
          return;
        }
        const run = await ctx.interruptible(async (signal) => {
          let after = 0;
          let retries = 0;
          for (;;) {
            try {
              for await (const event of ctx.api.streamLogs({ org, runId }, after, signal)) {
                retries = 0;
                if (event.type === 'line') {
                  ctx.io.out(`${event.line.line}\n`);
                  after = event.line.seq;
                } else {
                  return event.run;
                }
              }
            } catch (err) {
              if (signal.aborted || err instanceof ApiError || retries >= 5) throw err;
            }
            // The stream ended without `end` (a proxy or the server went away): resume after the last line.
            retries++;
            ctx.io.err(`(log stream interrupted; reconnecting, attempt ${retries})\n`);
            await ctx.sleep(500 * retries);
          }
        }, 'Stopped following the log; the run continues.');
        ctx.io.err(`Run ${run.id} ${describeRun(run)}.\n`);
        process.exitCode = exitCodeOf(run);
      }),
    'meltano-cloud logs print --execution-id 3f2a…',
    'meltano-cloud logs print --execution-id 3f2a… --follow',
  );
  return logs;
}

export function jobCommand(ctx: Context): Command {
  const job = example(
    new Command('job').description('Running jobs'),
    'meltano-cloud job stop --execution-id <id>',
  );
  example(
    job
      .command('stop')
      .description('Stop a queued or running run (its process or Kubernetes Job is stopped)')
      .requiredOption('--execution-id <id>', 'the run’s id')
      .action(async (opts: { executionId: string }) => {
        const org = await ctx.org();
        const run = await ctx.api.request('cancelRun', { path: { org, runId: opts.executionId } });
        ctx.io.err(
          FINAL.has(run.status)
            ? `Run ${run.id} ${describeRun(run)}.\n`
            : `Stopping run ${run.id} (${run.status}); it ends as cancelled shortly.\n`,
        );
      }),
    'meltano-cloud job stop --execution-id 3f2a…',
  );
  return job;
}
