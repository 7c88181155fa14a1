/** What every command gets: settings, the API client, output, Ctrl-C handling. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ApiClient, type Page } from './api-client.js';
import { CliConfig, ENV_VARS, type Setting } from './config.js';
import type { Format, TimeOptions } from './output.js';

/** A failure to report to the user (no stack trace), with the process exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Ctrl-C during a wait: the command stops cleanly with exit code 130. */
export class Interrupted extends Error {
  constructor(readonly note?: string) {
    super('interrupted');
  }
}

export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** A line of progress on stderr: rewritten in place on a terminal, printed when it changes otherwise. */
  progress(text: string): void;
  /** Ends a progress line (keeps it visible). */
  endProgress(): void;
  /** The width tables fit: the terminal's, COLUMNS, or Infinity (nothing cut) when piped. */
  readonly columns: number;
  /** stdin and stderr are a terminal: prompts and choices may be offered. */
  readonly interactive: boolean;
  /** Colour on stdout: a terminal and NO_COLOR unset. */
  readonly colour: boolean;
}

export function processOutput(env: NodeJS.ProcessEnv = process.env): Output {
  let last = '';
  let open = false;
  const tty = Boolean(process.stderr.isTTY);
  return {
    out: (text) => void process.stdout.write(text),
    err: (text) => {
      if (open) {
        process.stderr.write('\n');
        open = false;
      }
      process.stderr.write(text);
    },
    progress(text) {
      if (tty) {
        process.stderr.write(`\r\x1b[K${text}`);
        open = true;
      } else if (text !== last) {
        process.stderr.write(`${text}\n`);
      }
      last = text;
    },
    endProgress() {
      if (open) process.stderr.write('\n');
      open = false;
      last = '';
    },
    columns: process.stdout.isTTY
      ? Math.max(40, process.stdout.columns || 80)
      : /^\d+$/.test(env.COLUMNS ?? '')
        ? Math.max(40, Number(env.COLUMNS))
        : Infinity,
    interactive: Boolean(process.stdin.isTTY && process.stderr.isTTY),
    colour: Boolean(process.stdout.isTTY) && !env.NO_COLOR,
  };
}

/** Where a required setting can be given, for "not set" messages. */
const HOW_TO_SET: Record<Exclude<Setting, 'base_url' | 'token'>, string> = {
  organization: 'meltano-cloud org use <org>',
  project: 'meltano-cloud project use --name <name>',
  deployment: 'meltano-cloud deployment use --name <name>',
};

type Scoped = 'organization' | 'project' | 'deployment';

export interface GlobalOptions {
  utc?: boolean;
}

export class Context {
  readonly config: CliConfig;
  private client: ApiClient | undefined;
  private readonly abort = new AbortController();

  constructor(
    readonly io: Output,
    readonly globals: GlobalOptions = {},
    env: NodeJS.ProcessEnv = process.env,
    configPath?: string,
  ) {
    this.config = new CliConfig(env, configPath);
  }

  get time(): TimeOptions {
    return { utc: this.globals.utc === true };
  }

  get baseUrl(): string {
    return (this.config.value('base_url') ?? '').replace(/\/+$/, '');
  }

  /** The API client for the signed-in user; errors when there is no token. */
  get api(): ApiClient {
    if (!this.client) {
      const token = this.config.value('token');
      if (!token)
        throw new CliError(
          'You are not logged in.',
          1,
          `Run \`meltano-cloud login\` (or set ${ENV_VARS.token}).`,
        );
      this.client = new ApiClient({ baseUrl: this.baseUrl, token });
    }
    return this.client;
  }

  /** A client with an explicit token (login checks a token before saving it). */
  clientWith(token: string, baseUrl = this.baseUrl): ApiClient {
    return new ApiClient({ baseUrl, token });
  }

  /** Aborted on Ctrl-C (SIGINT) while `interruptible` runs. */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  private waits = 0;
  private waitNote: string | undefined;

  /**
   * Ctrl-C (main installs this as the SIGINT handler for the whole run): aborts
   * the wait in progress, which ends the command cleanly; outside a wait the
   * process ends at once, with exit code 130.
   */
  interrupt(): void {
    if (this.waits > 0) {
      this.abort.abort(new Interrupted(this.waitNote));
      return;
    }
    this.io.endProgress();
    this.io.err('\nInterrupted.\n');
    process.exit(130);
  }

  /** Runs a long wait; Ctrl-C aborts it and the command ends with exit code 130. */
  async interruptible<T>(work: (signal: AbortSignal) => Promise<T>, note?: string): Promise<T> {
    this.waits++;
    this.waitNote = note;
    try {
      return await work(this.abort.signal);
    } catch (err) {
      if (this.abort.signal.aborted) throw new Interrupted(note);
      throw err;
    } finally {
      this.waits--;
    }
  }

  sleep(ms: number): Promise<void> {
    const signal = this.abort.signal;
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(new Interrupted());
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(new Interrupted());
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The organization, project and deployment this command used, and where each came from. */
  readonly scope: Partial<Record<Scoped, { value: string; from: string }>> = {};

  private remember(setting: Scoped, value: string, from: string): string {
    this.scope[setting] = { value, from };
    return value;
  }

  private from(setting: Setting): string {
    const s = this.config.get(setting);
    return s.source === 'env' ? s.describe : 'the config file';
  }

  /** The current organization; with none chosen and exactly one membership, that one (saved). */
  async org(flag?: string): Promise<string> {
    if (flag) return this.remember('organization', flag, 'the command line');
    const set = this.config.value('organization');
    if (set) return this.remember('organization', set, this.from('organization'));
    const orgs = await this.api.request('listOrgs', {});
    const only = orgs.results.length === 1 ? orgs.results[0] : undefined;
    if (only) {
      this.config.save({ organization: only.slug });
      return this.remember('organization', only.slug, 'your only organization');
    }
    throw new CliError(
      orgs.results.length === 0
        ? 'You do not belong to any organization yet.'
        : 'No organization selected.',
      1,
      orgs.results.length === 0
        ? 'Create one in the dashboard, or ask an owner to add you.'
        : `Run \`${HOW_TO_SET.organization}\` (see \`meltano-cloud org list\`) or set ${ENV_VARS.organization}.`,
    );
  }

  /** The project: from --project, the environment or the config file. */
  project(flag?: string): string {
    return this.required('project', flag);
  }

  /** The deployment: from --deployment, the environment or the config file. */
  deployment(flag?: string): string {
    return this.required('deployment', flag);
  }

  /**
   * The deployment from --deployment, the environment or the config file; with
   * none chosen, the project's only deployment (undefined when it has several).
   */
  async deploymentOrOnly(org: string, project: string, flag?: string): Promise<string | undefined> {
    if (flag || this.config.value('deployment')) return this.deployment(flag);
    const all = await this.api.request('listDeployments', {
      path: { org, project },
      query: { page_size: 2 },
    });
    const only = all.results.length === 1 ? all.results[0] : undefined;
    if (only) return this.remember('deployment', only.slug, 'the project’s only deployment');
    if (all.results.length === 0)
      throw new CliError(
        `Project ${project} has no deployments yet.`,
        1,
        'Create one with `meltano-cloud deployment create --name prod --environment prod --git-rev main`.',
      );
    return undefined;
  }

  /** Like `deploymentOrOnly`, but one must be chosen when there are several. */
  async deploymentOrFail(org: string, project: string, flag?: string): Promise<string> {
    return (await this.deploymentOrOnly(org, project, flag)) ?? this.deployment(flag);
  }

  private required(setting: 'project' | 'deployment', flag?: string): string {
    if (flag) return this.remember(setting, flag, 'the command line');
    const value = this.config.value(setting);
    if (value) return this.remember(setting, value, this.from(setting));
    throw new CliError(
      `No ${setting} selected.`,
      1,
      `${setting === 'deployment' ? 'Pass --deployment <name>, run' : 'Run'} \`${HOW_TO_SET[setting]}\` or set ${ENV_VARS[setting]}.`,
    );
  }

  /** Finds a resource by slug/id, or by its display name among the list. */
  async findByName<T extends { name: string; slug: string; id: string }>(
    kind: string,
    ref: string,
    list: () => Promise<T[]>,
  ): Promise<T> {
    const all = await list();
    const lower = ref.toLowerCase();
    const match =
      all.find((r) => r.slug === ref || r.id === ref) ??
      all.find((r) => r.name === ref) ??
      all.find((r) => r.name.toLowerCase() === lower);
    if (!match)
      throw new CliError(
        `No ${kind} named '${ref}'.`,
        1,
        all.length
          ? `Known: ${all
              .slice(0, 10)
              .map((r) => r.slug)
              .join(', ')}${all.length > 10 ? ', …' : ''}`
          : `There are no ${kind}s yet.`,
      );
    return match;
  }

  /** Opens `url` in a browser if one can be started; never fails. */
  openBrowser(url: string): void {
    const opener =
      process.platform === 'darwin'
        ? 'open'
        : process.platform === 'win32'
          ? 'explorer'
          : 'xdg-open';
    try {
      const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
      child.on('error', () => undefined);
      child.unref();
    } catch {
      // No browser here: the URL is printed anyway.
    }
  }
}

/** Reads all of stdin (for tokens and secret values piped in). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export function readFileArg(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(
      `Cannot read ${what} from ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
}

export type { Format, Page };
