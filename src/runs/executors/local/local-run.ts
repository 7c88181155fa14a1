import { writeFileSync } from 'node:fs';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import type {
  ExecutionCallbacks,
  LogLine,
  PhaseDetail,
  PluginInstall,
  RunOutcome,
  RunPhase,
  RunSpec,
} from '../executor.js';
import {
  COMMIT_SHA,
  displayUrl,
  gitAuth,
  gitMessage,
  isSafeBranchName,
  redact,
} from '../../../common/git-auth.js';
import { installKeyOf } from './install-key.js';
import type { PluginCache } from './plugin-cache.js';
import { RUN_DIR_ENV, spawnGroup, type ExitInfo, type GroupChild } from './process-group.js';

/** In the run directory: which process group is running now (read by reattach and cleanup). */
export const STATE_FILE = 'state.json';

export interface RunState {
  host: string;
  pgid: number;
}

export interface LocalRunOptions {
  spec: RunSpec;
  callbacks: ExecutionCallbacks;
  /** Fresh directory for this run (created here, removed at the end). */
  dir: string;
  meltanoBin: string;
  gitBin: string;
  baseEnv: Record<string, string>;
  killGraceMs: number;
  /** Installed plugins kept between runs; null: every run installs its own. */
  pluginCache: PluginCache | null;
}

type StopReason = 'cancelled' | 'timed_out';

interface StepResult extends ExitInfo {
  /** Last stderr lines (redacted), for failure reasons. */
  stderrTail: string[];
}

/** Thrown out of a step when cancel or the timeout stopped the run. */
class RunStopped extends Error {
  constructor(readonly exitCode: number | null) {
    super('run stopped');
  }
}

const STDERR_TAIL = 20;
/** setTimeout cannot wait longer (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** One run of the local executor: clone, install, pipeline; each step a process group. */
export class LocalRun {
  readonly outcome: Promise<RunOutcome>;
  private stopReason: StopReason | null = null;
  /** Set once the pipeline's own result is known: a late cancel no longer changes it. */
  private settled = false;
  private current: GroupChild | null = null;
  private processCreated = false;
  private readonly secrets: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The cache entry this run holds (released once its directory is gone). */
  private cacheUse: { deploymentId: string; key: string } | null = null;

  private constructor(private readonly options: LocalRunOptions) {
    if (options.spec.repository.token) this.secrets.push(options.spec.repository.token);
    this.outcome = this.execute();
  }

  static start(options: LocalRunOptions): LocalRun {
    return new LocalRun(options);
  }

  /** Kills what runs now, skips the remaining steps; resolves once the run dir is gone. */
  async cancel(): Promise<void> {
    this.stop('cancelled');
    await this.outcome;
  }

  private stop(reason: StopReason): void {
    if (this.settled || this.stopReason) return;
    this.stopReason = reason;
    if (this.current) void this.current.terminate();
  }

  private async execute(): Promise<RunOutcome> {
    const { timeoutSeconds } = this.options.spec;
    // The timeout counts from start: a clone or an install that hangs is covered too.
    if (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0) {
      this.timer = setTimeout(
        () => this.stop('timed_out'),
        Math.min(timeoutSeconds * 1000, MAX_TIMER_MS),
      );
    }
    try {
      const outcome = await this.steps();
      // A step that failed because the stop interrupted it reports the stop.
      if (this.stopReason && outcome.status !== 'succeeded')
        return this.stoppedOutcome(outcome.exitCode);
      return outcome;
    } catch (error) {
      if (error instanceof RunStopped) return this.stoppedOutcome(error.exitCode);
      const message = error instanceof Error ? error.message : String(error);
      return failed(`internal error of the local executor: ${redact(message, this.secrets)}`);
    } finally {
      this.settled = true;
      clearTimeout(this.timer);
      await rm(this.options.dir, { recursive: true, force: true, maxRetries: 3 }).catch(
        () => undefined,
      );
      if (this.cacheUse && this.options.pluginCache)
        await this.options.pluginCache
          .release(this.cacheUse.deploymentId, this.cacheUse.key, basename(this.options.dir))
          .catch(() => undefined);
    }
  }

  private stoppedOutcome(exitCode: number | null): RunOutcome {
    if (this.stopReason === 'timed_out')
      return {
        status: 'timed_out',
        exitCode,
        reason: `timed out after ${this.options.spec.timeoutSeconds} s`,
      };
    return { status: 'cancelled', exitCode, reason: 'cancelled' };
  }

  private async steps(): Promise<RunOutcome> {
    const { spec, dir, meltanoBin, baseEnv } = this.options;
    const invalid = validateSpec(spec);
    if (invalid) return failed(invalid);

    try {
      await mkdir(resolve(dir, '..'), { recursive: true });
      // Private: it holds the secret files and the checkout.
      await mkdir(dir, { mode: 0o700 });
    } catch (error) {
      return failed(`could not create the run directory: ${(error as Error).message}`);
    }

    const repoDir = join(dir, 'repo');
    const checkoutFailure = await this.checkout(repoDir);
    if (checkoutFailure) return checkoutFailure;

    const projectDir = resolve(repoDir, spec.rootPath);
    const short = spec.repository.commitSha.slice(0, 12);
    if (!(await isDirectory(projectDir)))
      return failed(`the root path '${spec.rootPath}' is not a folder of commit ${short}`);
    if (!(await isFile(join(projectDir, 'meltano.yml'))))
      return failed(`no meltano.yml in '${spec.rootPath}' at commit ${short}`);

    const env: Record<string, string> = { ...baseEnv, ...spec.env };
    const filesFailure = await this.writeSecretFiles(join(dir, 'secrets'), env);
    if (filesFailure) return failed(filesFailure);
    // No environment: none is passed, so Meltano applies the project's default_environment.
    if (spec.environment === null) delete env.MELTANO_ENVIRONMENT;
    else env.MELTANO_ENVIRONMENT = spec.environment;
    env[RUN_DIR_ENV] = dir;
    // Where Meltano keeps plugins, config files and its database: always the run's own.
    env.MELTANO_SYS_DIR_ROOT = join(projectDir, '.meltano');

    const version = await this.meltanoVersion(projectDir, env);
    if (typeof version !== 'string') return version;

    this.phase('install_started');
    const install = await this.installPlugins(repoDir, projectDir, env, version);
    if (typeof install !== 'string') return install;
    this.phase('install_finished', { install });

    const args =
      spec.command.kind === 'schedule'
        ? ['schedule', 'run', spec.command.name]
        : ['run', spec.command.name];
    this.info(
      `meltano ${args.join(' ')} (${spec.environment === null ? 'no environment' : `environment ${spec.environment}`})`,
    );
    this.phase('pipeline_started');
    const pipeline = await this.runStep(meltanoBin, args, projectDir, env, { isPipeline: true });
    if (pipeline.spawnError) return failed(meltanoNotStartable(meltanoBin, pipeline.spawnError));
    if (pipeline.code === 0) return { status: 'succeeded', exitCode: 0, reason: null };
    return failed(
      pipeline.signal
        ? `meltano was killed by signal ${pipeline.signal}`
        : `meltano exited with code ${pipeline.code}`,
      pipeline.code,
    );
  }

  /**
   * `meltano --version`: proves meltano can be started (saying what to do when
   * it cannot) and gives the version that is part of the install key.
   */
  private async meltanoVersion(
    projectDir: string,
    env: Record<string, string>,
  ): Promise<string | RunOutcome> {
    const { meltanoBin } = this.options;
    const output: string[] = [];
    const result = await this.runStep(meltanoBin, ['--version'], projectDir, env, {
      stdout: output,
    });
    if (result.spawnError) return failed(meltanoNotStartable(meltanoBin, result.spawnError));
    if (result.code !== 0)
      return failed(
        `'${meltanoBin} --version' exited with code ${result.code}: is MELTANO_BIN a Meltano executable?`,
      );
    return output.join('\n').trim();
  }

  /**
   * The plugins of the checkout, installed: from the deployment's plugin cache
   * when an earlier run installed the same install key, else by `meltano
   * install` (into the cache when there is one). Returns how, or the failure.
   */
  private async installPlugins(
    repoDir: string,
    projectDir: string,
    env: Record<string, string>,
    meltanoVersion: string,
  ): Promise<PluginInstall | RunOutcome> {
    const { spec, pluginCache, dir } = this.options;
    const sysDir = join(projectDir, '.meltano');
    const inPlace = async (): Promise<PluginInstall | RunOutcome> =>
      (await this.runInstall(projectDir, env)) ?? 'installed';
    if (!pluginCache) return inPlace();

    let key: string;
    try {
      key = (await installKeyOf({ repoDir, projectDir, meltanoVersion })).key;
    } catch (error) {
      this.info(`plugin cache not used: ${(error as Error).message}`);
      return inPlace();
    }
    const result = await pluginCache.obtain({
      deploymentId: spec.deploymentId,
      key,
      runDirName: basename(dir),
      repoDir,
      rootPath: spec.rootPath,
      install: (cacheProject, cacheSysDir) =>
        this.runInstall(cacheProject, { ...env, MELTANO_SYS_DIR_ROOT: cacheSysDir }),
      note: (message) => this.info(message),
    });
    if (result.kind === 'failed') return result.outcome;
    if (result.kind === 'busy') {
      this.info('another worker is installing the same plugins: installing them for this run only');
      return inPlace();
    }
    this.cacheUse = { deploymentId: spec.deploymentId, key };
    const linked = await pluginCache.link(result.sysDir, sysDir);
    this.info(
      result.install === 'cached'
        ? `plugins already installed for this deployment (install key ${key.slice(0, 12)}, ${linked} virtual environments): meltano install skipped`
        : `plugins installed into the deployment's cache (install key ${key.slice(0, 12)}): later runs with the same key skip meltano install`,
    );
    return result.install;
  }

  /** `meltano install` in `projectDir`; null when it succeeded, else the failure. */
  private async runInstall(
    projectDir: string,
    env: Record<string, string>,
  ): Promise<RunOutcome | null> {
    const { meltanoBin, spec } = this.options;
    this.info(`meltano install (in ${spec.rootPath})`);
    const install = await this.runStep(meltanoBin, ['install'], projectDir, env);
    if (install.spawnError) return failed(meltanoNotStartable(meltanoBin, install.spawnError));
    if (install.code !== 0)
      return failed(
        install.signal
          ? `meltano install was killed by signal ${install.signal}`
          : `meltano install exited with code ${install.code}`,
        install.code,
      );
    return null;
  }

  /**
   * init + fetch of the one commit (depth 1), falling back to fetching the
   * branch when the server refuses unadvertised objects; then a detached
   * checkout. Returns the failure outcome, or null when checked out.
   */
  private async checkout(repoDir: string): Promise<RunOutcome | null> {
    const { spec, dir, gitBin, baseEnv } = this.options;
    const { cloneUrl, commitSha, branch, token } = spec.repository;
    const auth = gitAuth(cloneUrl, token, baseEnv);
    this.secrets.push(...auth.secrets);
    const env = {
      // Never wait for a password or a host key confirmation nobody can give.
      GIT_SSH_COMMAND: 'ssh -o BatchMode=yes',
      ...baseEnv,
      ...auth.env,
      GIT_TERMINAL_PROMPT: '0',
      [RUN_DIR_ENV]: dir,
    };
    const git = (cwd: string, ...args: string[]) => this.runStep(gitBin, args, cwd, env);
    const cloneFailed = (result: StepResult) =>
      // exitCode stays null: it is meant for meltano's, and the pipeline never ran.
      failed(`could not clone the repository: ${describeGitFailure(result)}`);

    this.info(`Cloning ${displayUrl(cloneUrl)} at commit ${commitSha} (branch ${branch})`);
    let result = await git(dir, '-c', 'init.defaultBranch=main', 'init', '-q', 'repo');
    if (!succeeded(result)) return cloneFailed(result);
    result = await git(repoDir, 'remote', 'add', 'origin', auth.remoteUrl);
    if (!succeeded(result)) return cloneFailed(result);
    result = await git(repoDir, 'fetch', '--depth', '1', '--no-tags', 'origin', commitSha);
    if (!succeeded(result)) {
      if (result.spawnError || !isSafeBranchName(branch)) return cloneFailed(result);
      this.info(`Fetching the commit alone failed; fetching branch ${branch}`);
      result = await git(
        repoDir,
        'fetch',
        '--no-tags',
        'origin',
        `+refs/heads/${branch}:refs/remotes/origin/${branch}`,
      );
      if (!succeeded(result)) return cloneFailed(result);
    }
    result = await git(
      repoDir,
      '-c',
      'advice.detachedHead=false',
      'checkout',
      '-q',
      '--detach',
      commitSha,
      '--',
    );
    if (!succeeded(result))
      return failed(`could not check out commit ${commitSha}: ${describeGitFailure(result)}`);
    return null;
  }

  /** Writes the secret files (0600, in a 0700 folder) and points their variables at them. */
  private async writeSecretFiles(
    secretsDir: string,
    env: Record<string, string>,
  ): Promise<string | null> {
    const { files } = this.options.spec;
    await mkdir(secretsDir, { mode: 0o700 });
    for (const file of files) {
      if (!ENV_NAME.test(file.envVar))
        return `invalid environment variable name for a secret file: '${file.envVar}'`;
      const name = file.fileName;
      if (!name || name === '.' || name === '..' || basename(name) !== name || name.includes('\\'))
        return `invalid secret file name '${name}'`;
      const path = join(secretsDir, name);
      try {
        // wx: two files of the same name must not silently overwrite each other.
        await writeFile(path, file.content, { mode: 0o600, flag: 'wx' });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST')
          return `two secret files are named '${name}'`;
        throw error;
      }
      env[file.envVar] = path;
    }
    return null;
  }

  private async runStep(
    command: string,
    args: string[],
    cwd: string,
    env: Record<string, string>,
    { isPipeline = false, stdout }: { isPipeline?: boolean; stdout?: string[] } = {},
  ): Promise<StepResult> {
    if (this.stopReason) throw new RunStopped(null);
    const stderrTail: string[] = [];
    const child = spawnGroup(command, args, {
      cwd,
      env,
      graceMs: this.options.killGraceMs,
      onLine: (stream, raw) => {
        const line = redact(raw, this.secrets);
        if (stream === 'stderr') {
          stderrTail.push(line);
          if (stderrTail.length > STDERR_TAIL) stderrTail.shift();
        } else stdout?.push(line);
        this.log(stream, line);
      },
    });
    if (child.pid !== undefined) {
      this.current = child;
      this.recordGroup(child.pid);
      if (!this.processCreated) {
        this.processCreated = true;
        this.phase('process_created');
      }
    }
    const result = await child.done;
    this.current = null;
    if (this.stopReason) throw new RunStopped(result.code);
    if (isPipeline) this.settled = true;
    return { ...result, stderrTail };
  }

  /** Synchronous so the state file names the group before anything else can happen. */
  private recordGroup(pgid: number): void {
    const state: RunState = { host: hostname(), pgid };
    try {
      writeFileSync(join(this.options.dir, STATE_FILE), JSON.stringify(state), { mode: 0o600 });
    } catch {
      // Only reattach/cleanup after a crash need it; the run itself goes on.
    }
  }

  private info(message: string): void {
    this.log('stdout', `[meltano-cloud] ${redact(message, this.secrets)}`);
  }

  private log(stream: LogLine['stream'], line: string): void {
    try {
      this.options.callbacks.onLog({ stream, line, timestamp: new Date() });
    } catch {
      // A failing consumer must not break the run.
    }
  }

  private phase(phase: RunPhase, detail?: PhaseDetail): void {
    try {
      this.options.callbacks.onPhase(phase, new Date(), detail);
    } catch {
      // As for onLog.
    }
  }
}

/** What to do when `meltano` cannot be started, rather than `spawn meltano ENOENT`. */
export function meltanoNotStartable(meltanoBin: string, error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT')
    return (
      `meltano was not found (MELTANO_BIN=${meltanoBin}): install Meltano on the worker's machine ` +
      '(`pipx install meltano`, see https://docs.meltano.com/getting-started/installation) ' +
      'or set MELTANO_BIN to the path of its meltano executable, then retry the run'
    );
  if (code === 'EACCES')
    return `meltano could not be started (MELTANO_BIN=${meltanoBin} is not executable): fix its permissions or set MELTANO_BIN to a meltano executable`;
  return `could not start meltano (MELTANO_BIN=${meltanoBin}): ${error.message}`;
}

function failed(reason: string, exitCode: number | null = null): RunOutcome {
  return { status: 'failed', exitCode, reason };
}

function succeeded(result: StepResult): boolean {
  return !result.spawnError && result.code === 0;
}

function describeGitFailure(result: StepResult): string {
  if (result.spawnError) return `could not start git: ${result.spawnError.message}`;
  return (
    gitMessage(result.stderrTail) ??
    (result.signal
      ? `git was killed by signal ${result.signal}`
      : `git exited with code ${result.code}`)
  );
}

/** Rejects what could be taken for an option or escape the checkout. */
function validateSpec(spec: RunSpec): string | null {
  const { cloneUrl, commitSha } = spec.repository;
  if (!cloneUrl || cloneUrl.startsWith('-'))
    return `invalid repository URL '${displayUrl(cloneUrl)}'`;
  if (!COMMIT_SHA.test(commitSha)) return `invalid commit '${commitSha}'`;
  const root = spec.rootPath || '.';
  const rel = relative('/repo', resolve('/repo', root));
  if (isAbsolute(root) || rel === '..' || rel.startsWith('../'))
    return `invalid root path '${spec.rootPath}'`;
  const name = spec.command.name;
  if (!name || name.startsWith('-')) return `invalid ${spec.command.kind} name '${name}'`;
  return null;
}

async function isDirectory(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isDirectory() ?? false;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => null))?.isFile() ?? false;
}
