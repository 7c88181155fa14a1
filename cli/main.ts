/** The `meltano-cloud` entry point: runs a command and turns failures into messages and exit codes. */
import { CommanderError } from 'commander';
import { ApiError, NetworkError } from './api-client.js';
import { CliError, Context, Interrupted, processOutput, type Output } from './context.js';
import { createProgram } from './program.js';

/** Request fields → the flags users typed (for field errors). */
const FLAGS: Record<string, string> = {
  'body.name': '--name',
  'body.repository': '--repo-url',
  'body.root_path': '--root-path',
  'body.branch': '--git-rev',
  'body.environment': '--environment',
  'body.value': '--value',
  'body.kind': '--kind',
  'body.target': '--recipient',
  'body.filters': '--filter',
  'body.schedule': '--schedule',
  'body.job': '--job',
  'body.active': '--status',
  'body.commit': '--preserve-git-hash',
  'params.name': '--key',
  'params.schedule': '--schedule',
  'params.runId': '--execution-id',
  'params.stateId': '--state-id',
  'params.project': 'project',
  'params.deployment': '--deployment',
  'params.org': 'organization',
  'query.lookback': '--lookback',
  'query.num_upcoming': '--num-upcoming',
};

const flagOf = (field: string): string => {
  const exact = FLAGS[field];
  if (exact) return exact;
  const filters = /^body\.filters\./.exec(field);
  return filters ? `--filter (${field.slice('body.filters.'.length)})` : field;
};

/** Prints what went wrong; returns the exit code. */
export function report(err: unknown, io: Output, ctx?: Context): number {
  io.endProgress();
  if (err instanceof Interrupted) {
    io.err(`\n${err.note ?? 'Interrupted.'}\n`);
    return 130;
  }
  if (err instanceof CommanderError) {
    // Commander has printed the message already.
    return err.exitCode === 0 ? 0 : 2;
  }
  if (err instanceof CliError) {
    io.err(`Error: ${err.message}\n${err.hint ? `${err.hint}\n` : ''}`);
    return err.exitCode;
  }
  if (err instanceof NetworkError) {
    const base = ctx?.config.get('base_url');
    io.err(
      `Error: ${err.message}.\n` +
        `Is the meltano-cloud server running there? The base URL ${base?.value ?? ''} comes from ${base?.describe ?? 'the defaults'}; ` +
        'change it with MELTANO_CLOUD_BASE_URL or `meltano-cloud login --base-url <url>`.\n',
    );
    return 1;
  }
  if (err instanceof ApiError) {
    io.err(`Error: ${apiMessage(err, ctx)}\n`);
    for (const e of err.errors) io.err(`  - ${flagOf(e.field)}: ${e.message}\n`);
    if (err.status === 401)
      io.err('Log in again with `meltano-cloud login` (or set MELTANO_CLOUD_TOKEN).\n');
    if (err.status >= 500 && err.requestId) io.err(`(request id ${err.requestId})\n`);
    return 1;
  }
  const message = err instanceof Error ? err.message : String(err);
  io.err(`Error: ${message}\n`);
  if (process.env.MELTANO_CLOUD_DEBUG && err instanceof Error && err.stack)
    io.err(`${err.stack}\n`);
  return 1;
}

/** The API's detail, with which organization/project/deployment was meant for a 404. */
function apiMessage(err: ApiError, ctx?: Context): string {
  const base = `${err.detail ?? err.title} (HTTP ${err.status})`;
  if (err.status !== 404 || !ctx) return base;
  const scope = ctx.scope;
  const cases: [string, 'organization' | 'project' | 'deployment', string][] = [
    ['Organization not found', 'organization', 'meltano-cloud org list'],
    ['Project not found', 'project', 'meltano-cloud project list'],
    ['Deployment not found', 'deployment', 'meltano-cloud deployment list'],
  ];
  for (const [detail, setting, list] of cases) {
    const used = scope[setting];
    if (err.detail === detail && used) {
      const where =
        setting === 'project'
          ? ` in organization ${scope.organization?.value ?? '?'}`
          : setting === 'deployment'
            ? ` in project ${scope.project?.value ?? '?'}`
            : '';
      return `${setting[0]?.toUpperCase()}${setting.slice(1)} '${used.value}' (from ${used.from}) not found${where}. See \`${list}\`.`;
    }
  }
  return base;
}

/** The global --config-path (read before the settings are, so before commander parses). */
export function configPathOf(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--') return undefined;
    if (arg === '--config-path') return argv[i + 1];
    if (arg.startsWith('--config-path=')) return arg.slice('--config-path='.length);
  }
  return undefined;
}

export async function main(argv: string[] = process.argv): Promise<number> {
  // `meltano-cloud history | head`: the reader went away; stop quietly as other Unix tools do.
  for (const stream of [process.stdout, process.stderr])
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  const io = processOutput();
  let ctx: Context | undefined;
  try {
    ctx = new Context(io, {}, process.env, configPathOf(argv.slice(2)));
    const current = ctx;
    process.on('SIGINT', () => current.interrupt());
    await createProgram(ctx).parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    return report(err, io, ctx);
  }
}

process.exitCode = await main();
