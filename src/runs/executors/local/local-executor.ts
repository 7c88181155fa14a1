import { randomBytes } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { ExecutionCallbacks, ExecutionHandle, Executor, RunSpec } from '../executor.js';
import { LocalRun, STATE_FILE, type RunState } from './local-run.js';
import { PluginCache } from './plugin-cache.js';
import { groupBelongsToRun, killGroup } from './process-group.js';

export interface LocalExecutorOptions {
  /** Parent directory of the run directories (`run-<runId>-<random>`). */
  workRoot: string;
  meltanoBin: string;
  gitBin: string;
  /** Environment every child starts from (PATH, HOME...); the run's env is added on top. */
  baseEnv: Record<string, string>;
  /** Delay between SIGTERM and SIGKILL of a process group. */
  killGraceMs?: number;
  /**
   * Where installed plugins are kept between runs, per deployment and install
   * key (see plugin-cache.ts); undefined: every run runs `meltano install`.
   */
  pluginCacheDir?: string;
}

const DEFAULT_KILL_GRACE_MS = 10_000;
const RUN_DIR_NAME = /^run-(.+)-([0-9a-f]{8})$/;

/**
 * Runs each pipeline as process groups on this machine: a fresh directory,
 * a shallow fetch of the commit, `meltano install`, then the schedule or job.
 *
 * ref = `<hostname>:<run directory>`. The group running at any moment changes
 * (git, install, pipeline), so its pgid is kept in `<dir>/state.json` rather
 * than in the ref; reattach and cleanup read it there.
 */
export class LocalExecutor implements Executor {
  readonly kind = 'local' as const;
  private readonly workRoot: string;
  private readonly killGraceMs: number;
  /** Runs of this process, by directory: never touched by cleanup. */
  private readonly active = new Map<string, LocalRun>();
  private readonly pluginCache: PluginCache | null;

  constructor(private readonly options: LocalExecutorOptions) {
    this.workRoot = resolve(options.workRoot);
    this.killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    this.pluginCache = options.pluginCacheDir
      ? new PluginCache(resolve(options.pluginCacheDir), this.workRoot)
      : null;
  }

  async start(spec: RunSpec, callbacks: ExecutionCallbacks): Promise<ExecutionHandle> {
    const dir = join(this.workRoot, runDirName(spec.runId));
    const run = LocalRun.start({
      spec,
      callbacks,
      dir,
      meltanoBin: this.options.meltanoBin,
      gitBin: this.options.gitBin,
      baseEnv: this.options.baseEnv,
      killGraceMs: this.killGraceMs,
      pluginCache: this.pluginCache,
    });
    this.active.set(dir, run);
    void run.outcome
      .catch(() => undefined) // the supervisor awaits the outcome itself
      .finally(() => this.active.delete(dir));
    return { ref: formatRef(dir), outcome: run.outcome, cancel: () => run.cancel() };
  }

  /**
   * Processes of a dead worker cannot be followed (their output went to the
   * dead process): whatever is left of the run is killed and removed, and
   * null tells the caller to fail the run.
   */
  async reattach(
    ref: string,
    _spec: RunSpec,
    _callbacks: ExecutionCallbacks,
  ): Promise<ExecutionHandle | null> {
    const parsed = parseRef(ref);
    // Another machine's processes and directories are out of reach.
    if (!parsed || parsed.host !== hostname()) return null;
    const dir = this.ownRunDir(parsed.dir);
    if (!dir) return null;
    const live = this.active.get(dir);
    if (live) await live.cancel();
    await this.removeLeftover(dir);
    return null;
  }

  async cleanup(isRunActive: (runId: string) => Promise<boolean>): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(this.workRoot, { withFileTypes: true }))
        .filter((entry) => entry.isDirectory())
        .map((entry) => entry.name);
    } catch {
      return; // No work root yet: nothing left over.
    }
    for (const name of names) {
      const runId = runIdOfDirName(name);
      const dir = join(this.workRoot, name);
      if (runId === null || this.active.has(dir)) continue;
      try {
        if (await isRunActive(runId)) continue;
      } catch {
        continue; // Unknown: keep it for the next cleanup.
      }
      await this.removeLeftover(dir);
    }
  }

  /** Kills the group recorded in the directory (when it still is the run's) and removes it. */
  private async removeLeftover(dir: string): Promise<void> {
    const state = await readState(dir);
    if (state && state.host === hostname() && (await groupBelongsToRun(state.pgid, dir)))
      await killGroup(state.pgid, this.killGraceMs);
    await rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch(() => undefined);
  }

  /** The ref's directory when it is a run directory of our work root (refs are stored data). */
  private ownRunDir(dir: string): string | null {
    const resolved = resolve(dir);
    if (dirname(resolved) !== this.workRoot || runIdOfDirName(basename(resolved)) === null)
      return null;
    return resolved;
  }
}

/** `run-<runId>-<8 hex>`, the run id encoded so it is one safe path segment. */
export function runDirName(runId: string): string {
  return `run-${encodeURIComponent(runId)}-${randomBytes(4).toString('hex')}`;
}

export function runIdOfDirName(name: string): string | null {
  const encoded = RUN_DIR_NAME.exec(name)?.[1];
  if (encoded === undefined) return null;
  try {
    return decodeURIComponent(encoded);
  } catch {
    return null;
  }
}

export function formatRef(dir: string): string {
  return `${hostname()}:${dir}`;
}

export function parseRef(ref: string): { host: string; dir: string } | null {
  const colon = ref.indexOf(':');
  if (colon <= 0 || colon === ref.length - 1) return null;
  return { host: ref.slice(0, colon), dir: ref.slice(colon + 1) };
}

async function readState(dir: string): Promise<RunState | null> {
  try {
    const state = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8')) as Partial<RunState>;
    if (typeof state.host !== 'string' || !Number.isInteger(state.pgid) || (state.pgid ?? 0) <= 1)
      return null;
    return { host: state.host, pgid: state.pgid as number };
  } catch {
    return null;
  }
}
