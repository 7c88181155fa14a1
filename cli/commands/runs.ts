/** schedule, run, history, logs and job commands. */
import { Command, Option } from 'commander';
import { ApiClient, ApiError, type ResponseOf, type Run } from '../api-client.js';
import { CliError, type Context } from '../context.js';
import {
  formatDateTime,
  formatDuration,
  formatRunsPerDay,
  formatTime,
  statusColour,
  timeZoneLabel,
} from '../output.js';
import {
  collect,
  deploymentOption,
  example,
  formatOption,
  limitOption,
  positiveInt,
  printList,
  type FormatOpts,
  type LimitOpts,
} from './common.js';

type Schedule = ResponseOf<'getSchedule'>;

/** What a schedule runs: its job, or `tap → target` (+ transforms unless `transform: skip`). */
export function scheduleTarget(
  s: Pick<Schedule, 'job' | 'extractor' | 'loader' | 'transform'>,
): string {
  if (s.job) return s.job;
  const steps = [s.extractor, s.loader].filter(Boolean) as string[];
  if (s.transform === 'only') return 'transforms only';
  if (s.transform && s.transform !== 'skip') steps.push(`transforms (${s.transform})`);
  return steps.join(' → ') || '-';
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled', 'timed_out', 'skipped']);

/** 0 when the run succeeded, 1 otherwise. */
export const exitCodeOf = (run: Run): number => (run.status === 'succeeded' ? 0 : 1);

const describeRun = (run: Run): string =>
  run.status === 'succeeded'
    ? `succeeded in ${formatDuration(run.duration_seconds)}`
    : `${run.status.replace('_', ' ')}${run.status_reason ? `: ${run.status_reason}` : ''}`;

const HOW_STARTED: Record<Run['trigger'], string> = {
  schedule: 'schedule',
  manual: 'dashboard',
  api: 'API',
  cli: 'CLI',
  retry: 'retry',
};

/** How a run started and by whom, as in the dashboard: `CLI · Ada (ada)`, `schedule`. */
export const startedBy = (run: Pick<Run, 'trigger' | 'triggered_by'>): string => {
  const how = HOW_STARTED[run.trigger];
  const who = run.triggered_by;
  if (!who) return how;
  return `${how} · ${who.name && who.name !== who.login ? `${who.name} (${who.login})` : who.login}`;
};

async function deploymentPath(ctx: Context, flag?: string) {
  const org = await ctx.org();
  const project = ctx.project();
  return { org, project, deployment: await ctx.deploymentOrFail(org, project, flag) };
}

/** A 404 for a schedule: names it and the deployment, and lists the deployment's schedules (and jobs). */
async function scheduleNotFound(
  ctx: Context,
  path: { org: string; project: string; deployment: string },
  name: string,
  withJobs: boolean,
): Promise<CliError> {
  const schedules = (await ctx.api.all('listSchedules', { path })).map((s) => s.name);
  const jobs = withJobs ? (await ctx.api.request('getDeployment', { path })).jobs : [];
  const list = (what: string, names: string[]) =>
    `${what}: ${names.length ? names.join(', ') : 'none'}`;
  return new CliError(
    `No schedule${withJobs ? ' or job' : ''} named '${name}' on deployment ${path.deployment}.`,
    1,
    [list('Schedules', schedules), ...(withJobs ? [list('Jobs', jobs)] : [])].join('\n'),
  );
}

const isNotFound = (err: unknown, what: string): err is ApiError =>
  err instanceof ApiError && err.status === 404 && (err.detail?.startsWith(what) ?? false);

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
      .description(
        'List schedules with their runs per day and next run (every deployment’s when none is current)',
      )
      .addOption(deploymentOption())
      .addOption(limitOption('schedules'))
      .addOption(formatOption())
      .action(async (opts: FormatOpts & LimitOpts & { deployment?: string }) => {
        const org = await ctx.org();
        const project = ctx.project();
        const one = await ctx.deploymentOrOnly(org, project, opts.deployment);
        const deployments = one
          ? [one]
          : (await ctx.api.all('listDeployments', { path: { org, project } })).map((d) => d.slug);
        const rows = (
          await Promise.all(
            deployments.map(async (deployment) =>
              (await ctx.api.all('listSchedules', { path: { org, project, deployment } })).map(
                (s) => ({ ...s, deployment }),
              ),
            ),
          )
        ).flat();
        printList(
          ctx.io,
          opts.format,
          rows,
          [
            ...(one
              ? []
              : [{ header: 'DEPLOYMENT', value: (s: (typeof rows)[number]) => s.deployment }]),
            { header: 'SCHEDULE', value: (s) => s.name, shrink: true },
            { header: 'INTERVAL', value: (s) => s.interval ?? '-', shrink: true },
            {
              header: 'ENABLED',
              value: (s) => (!s.valid ? 'invalid' : s.enabled ? 'yes' : 'no'),
              colour: (s) => (!s.valid ? 'red' : s.enabled ? 'green' : 'grey'),
            },
            {
              header: 'RUNS/DAY',
              value: (s) => formatRunsPerDay(s.runs_per_day),
              align: 'right',
            },
            {
              header: `NEXT RUN (${timeZoneLabel(ctx.time)})`,
              value: (s) => (s.enabled && s.valid ? formatTime(s.upcoming[0], ctx.time) : '-'),
            },
          ],
          one
            ? `Deployment ${one} has no schedules (none in meltano.yml for its environment).`
            : `No deployment of project ${project} has schedules.`,
          opts.limit,
        );
      }),
    'meltano-cloud schedule list --deployment prod',
    'meltano-cloud schedule list    # no current deployment: every deployment’s schedules',
  );

  example(
    schedule
      .command('describe')
      .description('Show a schedule and its next fire times (none while it is disabled)')
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
          let s: Schedule;
          try {
            s = await ctx.api.request('getSchedule', {
              path: { ...path, schedule: opts.schedule },
              query: { num_upcoming: opts.numUpcoming },
            });
          } catch (err) {
            if (isNotFound(err, 'Schedule'))
              throw await scheduleNotFound(ctx, path, opts.schedule, false);
            throw err;
          }
          // A disabled (or invalid) schedule has no upcoming runs.
          const fires = s.enabled && s.valid;
          if (!fires) s = { ...s, upcoming: [] };
          if (opts.format === 'json') {
            ctx.io.out(`${JSON.stringify(opts.onlyUpcoming ? s.upcoming : s, null, 2)}\n`);
            return;
          }
          const upcoming = s.upcoming.map((t) => formatTime(t, ctx.time, 'long'));
          if (opts.onlyUpcoming) {
            ctx.io.out(upcoming.map((t) => `${t}\n`).join(''));
            return;
          }
          const target = scheduleTarget(s);
          const lines: [string, string][] = [
            ['Schedule', s.name],
            ['Deployment', path.deployment],
            [
              'Interval',
              `${s.interval ?? '-'}${s.cron && s.cron !== s.interval ? ` (cron ${s.cron})` : ''} in ${s.timezone}`,
            ],
            [s.job ? 'Job' : 'Runs', target],
            [
              'Enabled',
              s.enabled
                ? 'yes'
                : `no (DISABLED: enable with \`meltano-cloud schedule enable --schedule ${s.name}\`)`,
            ],
            ['Runs per day', formatRunsPerDay(s.runs_per_day)],
          ];
          if (!s.valid) lines.push(['Invalid', s.invalid_reason ?? 'yes']);
          if (s.archived) lines.push(['Archived', 'yes (no longer in meltano.yml)']);
          let text = lines.map(([k, v]) => `${`${k}:`.padEnd(14)}${v}`).join('\n') + '\n';
          if (opts.numUpcoming > 0) {
            if (fires) {
              text += `\nUpcoming runs (${timeZoneLabel(ctx.time)}):\n`;
              text += upcoming.length ? upcoming.map((t) => `  ${t}\n`).join('') : '  none\n';
            } else {
              text += `\nNo upcoming runs: the schedule is ${s.valid ? 'disabled' : 'invalid'}.\n`;
            }
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
          let s: Schedule;
          try {
            s = await ctx.api.request('updateSchedule', {
              path: { ...path, schedule: opts.schedule },
              body: { enabled },
            });
          } catch (err) {
            if (isNotFound(err, 'Schedule'))
              throw await scheduleNotFound(ctx, path, opts.schedule, false);
            throw err;
          }
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
          let run: Run;
          try {
            run = await ctx.api.request('createRun', {
              path,
              body: kind === 'schedule' ? { schedule: name } : { job: name },
              headers: { 'Idempotency-Key': ApiClient.idempotencyKey() },
            });
          } catch (err) {
            if (isNotFound(err, 'Job') || isNotFound(err, 'Schedule'))
              throw await scheduleNotFound(ctx, path, name, true);
            throw err;
          }
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
      .description(
        'Run history of the current project (every project with --all-projects), newest first',
      )
      .addOption(
        new Option('--schedule <name>', 'only this schedule (or job)').conflicts([
          'schedulePrefix',
          'scheduleContains',
          'filter',
        ]),
      )
      .addOption(
        new Option('--schedule-prefix <prefix>', 'only schedules starting with this').conflicts([
          'scheduleContains',
          'filter',
        ]),
      )
      .addOption(
        new Option('--schedule-contains <text>', 'only schedules containing this').conflicts(
          'filter',
        ),
      )
      .addOption(
        new Option('--filter <text>', 'only schedules containing this (as --schedule-contains)'),
      )
      .addOption(
        new Option('--deployment <name>', 'only this deployment (repeat for several)')
          .argParser(collect)
          .conflicts(['deploymentPrefix', 'deploymentContains']),
      )
      .addOption(
        new Option(
          '--deployment-prefix <prefix>',
          'only deployments whose name starts with this',
        ).conflicts('deploymentContains'),
      )
      .addOption(
        new Option('--deployment-contains <text>', 'only deployments whose name contains this'),
      )
      .addOption(
        new Option('--result <result>', 'only runs with this result').choices(Object.keys(RESULTS)),
      )
      .option('--lookback <period>', 'only runs of the last period, e.g. 1w2d3h4m')
      .addOption(limitOption('runs', 10))
      .option('--all-projects', 'runs of every project in the organization')
      .addOption(formatOption())
      .action(
        async (
          opts: FormatOpts &
            LimitOpts & {
              schedule?: string;
              schedulePrefix?: string;
              scheduleContains?: string;
              filter?: string;
              deployment?: string[];
              deploymentPrefix?: string;
              deploymentContains?: string;
              result?: string;
              lookback?: string;
              allProjects?: boolean;
            },
        ) => {
          if (opts.lookback !== undefined && !/^(\d+w)?(\d+d)?(\d+h)?(\d+m)?$/.test(opts.lookback))
            throw new CliError(`--lookback '${opts.lookback}' is not like 1w2d3h4m.`, 2);
          const org = await ctx.org();
          const project = opts.allProjects ? undefined : ctx.config.value('project');
          // Deployment names for the DEPLOYMENT column, and for --deployment-prefix/--deployment-contains.
          const projects = project
            ? [project]
            : (await ctx.api.all('listProjects', { path: { org } })).map((p) => p.slug);
          const deployments = (
            await Promise.all(
              projects.map(async (p) =>
                (await ctx.api.all('listDeployments', { path: { org, project: p } })).map((d) => ({
                  id: d.id,
                  slug: d.slug,
                  project: p,
                })),
              ),
            )
          ).flat();
          const nameOf = new Map(
            deployments.map((d) => [d.id, project ? d.slug : `${d.project}/${d.slug}`]),
          );
          let deploymentFilter = opts.deployment?.join(',');
          const part = opts.deploymentPrefix ?? opts.deploymentContains;
          if (part !== undefined) {
            const lower = part.toLowerCase();
            const matching = deployments.filter((d) =>
              opts.deploymentPrefix !== undefined
                ? d.slug.toLowerCase().startsWith(lower)
                : d.slug.toLowerCase().includes(lower),
            );
            if (matching.length === 0) {
              printList(ctx.io, opts.format, [], [], 'No runs match (no deployment matches).');
              return;
            }
            deploymentFilter = matching.map((d) => d.id).join(',');
          }
          const runs = await ctx.api.all(
            'listRuns',
            {
              path: { org },
              query: {
                project,
                deployment: deploymentFilter,
                schedule: opts.schedule,
                schedule_prefix: opts.schedulePrefix,
                schedule_contains: opts.scheduleContains ?? opts.filter,
                status: opts.result ? RESULTS[opts.result]?.join(',') : undefined,
                lookback: opts.lookback,
              },
            },
            opts.limit + 1,
          );
          const rows = runs.map((r) => ({
            ...r,
            deployment_name: nameOf.get(r.deployment_id) ?? null,
            schedule_name: r.schedule_id ? r.target : null,
          }));
          printList(
            ctx.io,
            opts.format,
            rows,
            [
              { header: 'EXECUTION ID', value: (r) => r.id, fixed: true },
              { header: 'DEPLOYMENT', value: (r) => r.deployment_name ?? '-', shrink: true },
              { header: 'SCHEDULE', value: (r) => r.target, shrink: true },
              {
                header: `EXECUTED AT (${timeZoneLabel(ctx.time)})`,
                value: (r) => formatDateTime(r.started_at ?? r.queued_at, ctx.time),
                fixed: true,
              },
              {
                header: 'RESULT',
                value: (r) => r.status,
                colour: (r) => statusColour(r.status),
                fixed: true,
              },
              {
                header: 'DURATION',
                value: (r) => formatDuration(r.duration_seconds),
                align: 'right',
                fixed: true,
              },
              { header: 'STARTED BY', value: (r) => startedBy(r), shrink: true },
            ],
            'No runs match.',
            opts.limit,
          );
        },
      ),
    'meltano-cloud history --schedule daily-load --lookback 1w --result failed',
    'meltano-cloud history --deployment prod --deployment staging --limit 50 --format json',
    'meltano-cloud history --deployment-prefix prod --filter load',
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
