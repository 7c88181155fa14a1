/** config env (secrets) and config notification (webhooks and email). */
import { Command, Option } from 'commander';
import type { RequestArgs, ResponseOf } from '../api-client.js';
import { CliError, readFileArg, readStdin, type Context } from '../context.js';
import { formatTime } from '../output.js';
import {
  collect,
  example,
  formatOption,
  limitOption,
  printList,
  type FormatOpts,
  type LimitOpts,
} from './common.js';

type Channel = ResponseOf<'listNotifications'>['results'][number];
type Filter = NonNullable<RequestArgs<'createNotification'>['body']>['filters'][number];
type EventType = Filter['events'][number];

const EVENTS: readonly EventType[] = [
  'run.succeeded',
  'run.failed',
  'run.cancelled',
  'run.timed_out',
  'schedule.skipped',
  'deploy.failed',
];
const DEFAULT_EVENTS: EventType[] = ['run.failed', 'run.timed_out'];

export function configCommand(ctx: Context): Command {
  const config = example(
    new Command('config').description('Project secrets (environment variables) and notifications'),
    'meltano-cloud config env list',
  );
  config.addCommand(envCommand(ctx));
  config.addCommand(notificationCommand(ctx));
  return config;
}

function envCommand(ctx: Context): Command {
  const env = example(
    new Command('env').description(
      'Secrets: environment variables of every run (values are write-only, never shown)',
    ),
    'meltano-cloud config env set --key TAP_GITHUB_TOKEN --value-file token.txt',
  );
  const scopeOption = () =>
    new Option('--deployment <name>', 'a deployment’s override instead of the project secret');

  example(
    env
      .command('list')
      .description(
        'List secret names (never values): the project’s, then each deployment’s overrides (SCOPE)',
      )
      .addOption(
        new Option(
          '--deployment <name>',
          'only what runs of this deployment get, overrides marked',
        ),
      )
      .addOption(limitOption('secrets'))
      .addOption(formatOption())
      .action(async (opts: FormatOpts & LimitOpts & { deployment?: string }) => {
        const org = await ctx.org();
        const project = ctx.project();
        const projectSecrets = await ctx.api.all('listSecrets', { path: { org, project } });
        type Row = (typeof projectSecrets)[number] & { deployment: string | null };
        let rows: Row[];
        if (opts.deployment) {
          const deployment = ctx.deployment(opts.deployment);
          const overrides = await ctx.api.all('listDeploymentSecrets', {
            path: { org, project, deployment },
          });
          const overridden = new Set(overrides.map((o) => o.name));
          rows = [
            ...overrides.map((o) => ({ ...o, deployment })),
            ...projectSecrets
              .filter((p) => !overridden.has(p.name))
              .map((p) => ({ ...p, deployment: null })),
          ].sort((a, b) => a.name.localeCompare(b.name));
        } else {
          const deployments = await ctx.api.all('listDeployments', { path: { org, project } });
          const overrides = await Promise.all(
            deployments.map(async (d) =>
              (
                await ctx.api.all('listDeploymentSecrets', {
                  path: { org, project, deployment: d.slug },
                })
              ).map((o) => ({ ...o, deployment: d.slug })),
            ),
          );
          rows = [...projectSecrets.map((p) => ({ ...p, deployment: null })), ...overrides.flat()];
        }
        printList(
          ctx.io,
          opts.format,
          rows,
          [
            { header: 'NAME', value: (s) => s.name },
            {
              header: 'SCOPE',
              value: (s) => (s.deployment ? `deployment ${s.deployment}` : 'project'),
            },
            { header: 'KIND', value: (s) => s.kind },
            { header: 'UPDATED BY', value: (s) => s.updated_by ?? '-', shrink: true },
            { header: 'UPDATED', value: (s) => formatTime(s.updated_at, ctx.time) },
          ],
          'No secrets set.',
          opts.limit,
        );
      }),
    'meltano-cloud config env list',
    'meltano-cloud config env list --deployment prod --format json',
  );

  example(
    env
      .command('set')
      .description('Set a secret from --value, --value-file or standard input')
      .requiredOption('--key <name>', 'environment variable name')
      .addOption(new Option('--value <value>', 'the value').conflicts('valueFile'))
      .option('--value-file <file>', 'read the value from a file (kept byte for byte)')
      .addOption(
        new Option('--kind <kind>', '`env` variable, or `file` (the variable holds a file’s path)')
          .choices(['env', 'file'])
          .default('env'),
      )
      .addOption(scopeOption())
      .action(
        async (opts: {
          key: string;
          value?: string;
          valueFile?: string;
          kind: 'env' | 'file';
          deployment?: string;
        }) => {
          let value: string;
          if (opts.value !== undefined) value = opts.value;
          else if (opts.valueFile !== undefined) value = readFileArg(opts.valueFile, 'the value');
          else {
            if (process.stdin.isTTY)
              ctx.io.err(
                'Type the value, then press Ctrl-D (it is not echoed back anywhere else):\n',
              );
            // One trailing newline from `echo` or a terminal is not part of the value.
            value = (await readStdin()).replace(/\r?\n$/, '');
          }
          if (!value) throw new CliError('The value is empty; nothing was set.', 2);
          const org = await ctx.org();
          const project = ctx.project();
          const body = { value, kind: opts.kind };
          const secret = opts.deployment
            ? await ctx.api.request('putDeploymentSecret', {
                path: { org, project, deployment: ctx.deployment(opts.deployment), name: opts.key },
                body,
              })
            : await ctx.api.request('putSecret', { path: { org, project, name: opts.key }, body });
          ctx.io.err(
            `Set ${secret.name} (${secret.kind}) for ${opts.deployment ? `deployment ${opts.deployment}` : `project ${project}`}.\n`,
          );
        },
      ),
    'meltano-cloud config env set --key TAP_POSTGRES_PASSWORD --value "$PASSWORD"',
    'meltano-cloud config env set --key GOOGLE_CREDENTIALS --kind file --value-file creds.json',
    'printf %s "$TOKEN" | meltano-cloud config env set --key TAP_GITHUB_TOKEN --deployment prod',
  );

  example(
    env
      .command('delete')
      .description('Delete a secret')
      .argument('[name]', 'environment variable name (as Meltano Cloud: `config env delete NAME`)')
      .option('--key <name>', 'environment variable name')
      .addOption(scopeOption())
      .action(async (name: string | undefined, flags: { key?: string; deployment?: string }) => {
        if (name && flags.key && name !== flags.key)
          throw new CliError(`Give the name once: ${name} or --key ${flags.key}.`, 2);
        const key = name ?? flags.key;
        if (!key)
          throw new CliError('Say which secret: meltano-cloud config env delete <name>.', 2);
        const opts = { ...flags, key };
        const org = await ctx.org();
        const project = ctx.project();
        if (opts.deployment)
          await ctx.api.request('deleteDeploymentSecret', {
            path: { org, project, deployment: ctx.deployment(opts.deployment), name: opts.key },
          });
        else await ctx.api.request('deleteSecret', { path: { org, project, name: opts.key } });
        ctx.io.err(`Deleted ${opts.key}.\n`);
      }),
    'meltano-cloud config env delete TAP_POSTGRES_PASSWORD',
    'meltano-cloud config env delete TAP_POSTGRES_PASSWORD --deployment prod',
  );
  return env;
}

interface FilterOpts {
  events?: string[];
  deployment?: string;
  schedule?: string;
  filter?: string;
}

/** Meltano Cloud's `status` words → our run events. */
const CLOUD_STATUSES: Record<string, EventType[]> = {
  succeeded: ['run.succeeded'],
  success: ['run.succeeded'],
  failed: ['run.failed', 'run.timed_out'],
  failure: ['run.failed', 'run.timed_out'],
  cancelled: ['run.cancelled'],
  canceled: ['run.cancelled'],
  timed_out: ['run.timed_out'],
  skipped: ['schedule.skipped'],
};
const RUN_EVENTS: EventType[] = ['run.succeeded', 'run.failed', 'run.cancelled', 'run.timed_out'];

/**
 * One filter of --filter: ours (`{"events": ["run.failed"], "deployment"?, "schedule"?}`),
 * or Meltano Cloud's (`{"events": ["job_run" | "all"], "status": ["failed", …]}`),
 * translated: its events × statuses become our event names (status ANDs with events).
 */
export function translateFilter(raw: unknown): Filter {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw))
    throw new CliError('Each --filter must be a JSON object.', 2, FILTER_EXAMPLE);
  const f = raw as Record<string, unknown>;
  const events = Array.isArray(f.events) ? f.events.map(String) : ['all'];
  const cloudWords = events.some((e) => e === 'job_run' || e === 'all') || 'status' in f;
  if (!cloudWords) return f as unknown as Filter;
  const statuses = f.status === undefined ? undefined : [f.status].flat().map(String);
  const unknownStatus = (statuses ?? []).filter((s) => !CLOUD_STATUSES[s]);
  if (unknownStatus.length)
    throw new CliError(
      `Unknown status ${unknownStatus.join(', ')} in --filter.`,
      2,
      `Statuses: ${Object.keys(CLOUD_STATUSES).join(', ')}`,
    );
  const out = new Set<EventType>();
  for (const e of events) {
    if (e === 'job_run' || e === 'all') {
      const fromStatus = statuses?.flatMap((s) => CLOUD_STATUSES[s] ?? []);
      for (const ev of fromStatus ?? (e === 'all' ? EVENTS : RUN_EVENTS)) out.add(ev);
    } else if (EVENTS.includes(e as EventType)) out.add(e as EventType);
    else
      throw new CliError(
        `Unknown event ${e} in --filter.`,
        2,
        `Events: job_run, all, or ${EVENTS.join(', ')}`,
      );
  }
  const { events: _e, status: _s, ...rest } = f;
  return { ...(rest as Omit<Filter, 'events'>), events: [...out] };
}

const FILTER_EXAMPLE = `e.g. --filter '{"events": ["job_run"], "status": ["failed"]}' or --filter '{"events": ["run.failed"], "deployment": "prod"}'`;

/** One filter from --events/--deployment/--schedule, or several from --filter JSON. */
function filtersOf(opts: FilterOpts, required: boolean): Filter[] | undefined {
  if (opts.filter !== undefined) {
    if (opts.events || opts.deployment || opts.schedule)
      throw new CliError('Use either --filter or --events/--deployment/--schedule.', 2);
    let parsed: unknown;
    try {
      parsed = JSON.parse(opts.filter);
    } catch {
      throw new CliError('--filter is not valid JSON.', 2, FILTER_EXAMPLE);
    }
    return (Array.isArray(parsed) ? parsed : [parsed]).map(translateFilter);
  }
  if (!opts.events && !opts.deployment && !opts.schedule && !required) return undefined;
  const events = opts.events ?? DEFAULT_EVENTS;
  const unknown = events.filter((e) => !EVENTS.includes(e as EventType));
  if (unknown.length)
    throw new CliError(`Unknown event ${unknown.join(', ')}.`, 2, `Events: ${EVENTS.join(', ')}`);
  return [
    {
      events: events as EventType[],
      ...(opts.deployment ? { deployment: opts.deployment } : {}),
      ...(opts.schedule ? { schedule: opts.schedule } : {}),
    },
  ];
}

const describeFilters = (c: Channel): string =>
  c.filters
    .map(
      (f) =>
        f.events.join(',') +
        (f.deployment ? ` @${f.deployment}` : '') +
        (f.schedule ? ` /${f.schedule}` : ''),
    )
    .join('; ');

function notificationCommand(ctx: Context): Command {
  const notification = example(
    new Command('notification').description(
      'Notifications of run and deploy events, by webhook or email',
    ),
    'meltano-cloud config notification set webhook --recipient https://hooks.slack.com/services/…',
  );
  const typeArg = () =>
    notification.createArgument('<type>', 'webhook or email').choices(['webhook', 'email']);
  const filterOptions = (cmd: Command) =>
    cmd
      .option(
        '--events <events>',
        `events to notify, comma-separated (${EVENTS.join(', ')})`,
        collect,
      )
      .option('--deployment <name>', 'only events of this deployment')
      .option('--schedule <name>', 'only events of this schedule')
      .option(
        '--filter <json>',
        'filters as JSON, a list of them ORed: Meltano Cloud’s {"events": ["job_run"], "status": ["failed"]} or ours {"events": ["run.failed"], "deployment"?, "schedule"?}',
      );

  const find = async (org: string, kind: string, recipient: string) => {
    const channels = await ctx.api.all('listNotifications', { path: { org } });
    const found = channels.filter(
      (c) => c.kind === kind && (c.target === recipient || c.id === recipient),
    );
    if (found.length === 0)
      throw new CliError(
        `No ${kind} notification for ${recipient}.`,
        1,
        'See `meltano-cloud config notification list`.',
      );
    if (found.length > 1)
      throw new CliError(
        `Several ${kind} notifications go to ${recipient}; pass its id as --recipient.`,
      );
    return found[0] as Channel;
  };

  example(
    notification
      .command('list')
      .description('List notification channels and their filters')
      .addOption(limitOption('channels'))
      .addOption(formatOption())
      .action(async (opts: FormatOpts & LimitOpts) => {
        const org = await ctx.org();
        const rows = await ctx.api.all('listNotifications', { path: { org } }, opts.limit + 1);
        printList(
          ctx.io,
          opts.format,
          rows,
          [
            { header: 'TYPE', value: (c) => c.kind },
            { header: 'RECIPIENT', value: (c) => c.target, shrink: true },
            {
              header: 'ACTIVE',
              value: (c) => (c.active ? 'yes' : 'no'),
              colour: (c) => (c.active ? 'green' : 'grey'),
            },
            { header: 'FILTERS', value: describeFilters, shrink: true },
          ],
          'No notifications set.',
          opts.limit,
        );
      }),
    'meltano-cloud config notification list --format json',
  );

  example(
    filterOptions(
      notification
        .command('set')
        .description(
          'Add a webhook or email notification (default events: run.failed, run.timed_out)',
        )
        .addArgument(typeArg())
        .requiredOption('--recipient <url-or-email>', 'webhook URL or email address')
        .option('--project <name>', 'only events of this project'),
    ).action(
      async (
        kind: 'webhook' | 'email',
        opts: FilterOpts & { recipient: string; project?: string },
      ) => {
        const org = await ctx.org();
        const created = await ctx.api.request('createNotification', {
          path: { org },
          body: {
            kind,
            target: opts.recipient,
            filters: filtersOf(opts, true) ?? [],
            ...(opts.project ? { project: opts.project } : {}),
          },
        });
        ctx.io.err(
          `Added ${kind} notification to ${created.target} (${describeFilters(created)}).\n`,
        );
        if (created.signing_secret) {
          ctx.io.err('Its signing secret (HMAC-SHA256 of each delivery), shown only now:\n');
          ctx.io.out(`${created.signing_secret}\n`);
        }
      },
    ),
    'meltano-cloud config notification set webhook --recipient https://example.com/hook --events run.failed,deploy.failed',
    'meltano-cloud config notification set email --recipient data-team@example.com --deployment prod',
    `meltano-cloud config notification set webhook --recipient https://example.com/hook --filter '{"events": ["job_run"], "status": ["failed"]}'`,
  );

  example(
    filterOptions(
      notification
        .command('update')
        .description('Change a notification’s recipient, filters or active status')
        .addArgument(typeArg())
        .requiredOption('--recipient <url-or-email>', 'the current recipient (or the channel id)')
        .option('--new <url-or-email>', 'the new recipient')
        .addOption(new Option('--active', 'resume notifying').conflicts(['inactive', 'status']))
        .addOption(new Option('--inactive', 'pause notifying').conflicts('status'))
        .addOption(
          new Option('--status <status>', 'active or inactive (as Meltano Cloud)').choices([
            'active',
            'inactive',
          ]),
        ),
    ).action(
      async (
        kind: 'webhook' | 'email',
        opts: FilterOpts & {
          recipient: string;
          new?: string;
          active?: boolean;
          inactive?: boolean;
          status?: 'active' | 'inactive';
        },
      ) => {
        const org = await ctx.org();
        const channel = await find(org, kind, opts.recipient);
        const filters = filtersOf(opts, false);
        const body = {
          ...(opts.new ? { target: opts.new } : {}),
          ...(opts.active || opts.status === 'active'
            ? { active: true }
            : opts.inactive || opts.status === 'inactive'
              ? { active: false }
              : {}),
          ...(filters ? { filters } : {}),
        };
        if (Object.keys(body).length === 0)
          throw new CliError('Nothing to change: pass --new, --active/--inactive or filters.', 2);
        const updated = await ctx.api.request('updateNotification', {
          path: { org, id: channel.id },
          body,
        });
        ctx.io.err(
          `Updated ${kind} notification ${updated.target}: ${updated.active ? 'active' : 'paused'}, ${describeFilters(updated)}.\n`,
        );
      },
    ),
    'meltano-cloud config notification update webhook --recipient https://example.com/hook --new https://example.com/hook2',
    'meltano-cloud config notification update webhook --recipient https://example.com/hook --status inactive',
  );

  example(
    notification
      .command('delete')
      .description('Delete a notification')
      .addArgument(typeArg())
      .requiredOption('--recipient <url-or-email>', 'the recipient (or the channel id)')
      .action(async (kind: 'webhook' | 'email', opts: { recipient: string }) => {
        const org = await ctx.org();
        const channel = await find(org, kind, opts.recipient);
        await ctx.api.request('deleteNotification', { path: { org, id: channel.id } });
        ctx.io.err(`Deleted ${kind} notification to ${channel.target}.\n`);
      }),
    'meltano-cloud config notification delete email --recipient data-team@example.com',
  );
  return notification;
}
