/**
 * Installed plugins of a deployment, kept between runs on this machine.
 *
 * Meltano puts each plugin's virtual environment at
 * `<sys dir>/<plugin type>/<plugin dir name>/venv` (ProjectDirsService.venvs;
 * the sys dir is MELTANO_SYS_DIR_ROOT, default `<project>/.meltano`). The
 * scripts pip writes into a venv's `bin/` start with the venv's absolute path,
 * so a venv cannot be copied or moved: it is used where it was built. So the
 * cache entry of an install key is a copy of the checkout (without `.git`) in
 * which `meltano install` ran once, and a run links each cached `venv`
 * directory into its own `.meltano/<type>/<name>/`. Everything else under the
 * run's `.meltano` (run/, plugin config files holding secrets, the system
 * database) stays the run's own.
 *
 * Layout under the cache root (one folder per deployment):
 *   <deployment>/<key>/repo/…     the checkout the install ran in
 *   <deployment>/<key>/ready      written once the install succeeded
 *   <deployment>/<key>/users/<run dir name>   runs using the entry now
 *   <deployment>/<key>.lock       {host, pid} of the process installing it
 *   <deployment>/current          the key installed last: the others are superseded
 *
 * Two runs of one worker wanting the same key share one install (the second
 * waits for the first). A run that finds another process installing the key
 * installs into its own directory instead (never waits on a file). Superseded
 * entries are removed once no live run uses them.
 */
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import {
  cp,
  mkdir,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import type { RunOutcome } from '../executor.js';
import { INSTALL_KEY } from './install-key.js';

/** Folders of a sys dir that are never plugin installs. */
const NOT_PLUGIN_TYPES = new Set(['run', 'logs', 'cache']);
const SAFE_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export interface CacheRequest {
  deploymentId: string;
  key: string;
  /** Name of the run's directory in the work root (registers the run as a user). */
  runDirName: string;
  /** The run's checkout, copied into the entry when it is built. */
  repoDir: string;
  /** The project folder inside the checkout ('.' for its root). */
  rootPath: string;
  /**
   * Runs `meltano install` in `projectDir` with `sysDir` as MELTANO_SYS_DIR_ROOT.
   * Resolves null on success, or the run's failure outcome.
   */
  install(projectDir: string, sysDir: string): Promise<RunOutcome | null>;
  /** A message for the run's log. */
  note(message: string): void;
}

export type CacheResult =
  /** The entry is ready: link it. `install` says whether this run built it. */
  | { kind: 'ready'; install: 'installed' | 'cached'; sysDir: string }
  /** Another process is installing this key now: install for this run only. */
  | { kind: 'busy' }
  /** This run's install into the cache failed. */
  | { kind: 'failed'; outcome: RunOutcome };

interface LockOwner {
  host: string;
  pid: number;
}

export class PluginCache {
  /** Builds in progress in this process, by `<deployment>/<key>`. */
  private readonly building = new Map<string, Promise<CacheResult>>();
  /** Per deployment: registration and pruning one at a time in this process. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    private readonly root: string,
    /** Where run directories live: a user whose directory is gone is not live. */
    private readonly workRoot: string,
  ) {}

  async obtain(request: CacheRequest): Promise<CacheResult> {
    const { deploymentId, key } = request;
    if (!SAFE_SEGMENT.test(deploymentId) || !INSTALL_KEY.test(key))
      throw new Error(`cannot cache plugins of deployment ${JSON.stringify(deploymentId)}`);
    // Two tries: after waiting for another run's build that failed, build ourselves.
    for (let attempt = 0; attempt < 2; attempt++) {
      const found = await this.serial(deploymentId, () => this.registerIfReady(request));
      if (found) return found;
      const id = `${deploymentId}/${key}`;
      const inFlight = this.building.get(id);
      if (inFlight) {
        request.note('another run is installing the same plugins; waiting for it');
        await inFlight.catch(() => undefined);
        continue;
      }
      const build = this.build(request);
      this.building.set(id, build);
      try {
        return await build;
      } finally {
        this.building.delete(id);
      }
    }
    return { kind: 'busy' };
  }

  /**
   * Links every cached venv into the run's sys dir (`<project>/.meltano`), and
   * copies lock files the install wrote under `plugins/` (Meltano can lock
   * plugin definitions as it installs) that the run's checkout lacks, so the
   * pipeline reads the definitions its venvs were installed from.
   */
  async link(cachedSysDir: string, runSysDir: string): Promise<number> {
    await cp(path.join(cachedSysDir, '..', 'plugins'), path.join(runSysDir, '..', 'plugins'), {
      recursive: true,
      force: false,
      errorOnExist: false,
      verbatimSymlinks: true,
    }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    let linked = 0;
    for (const type of await subdirectories(cachedSysDir)) {
      if (NOT_PLUGIN_TYPES.has(type)) continue;
      for (const name of await subdirectories(path.join(cachedSysDir, type))) {
        const venv = path.join(cachedSysDir, type, name, 'venv');
        if (!(await isDirectory(venv))) continue;
        const into = path.join(runSysDir, type, name);
        await mkdir(into, { recursive: true });
        try {
          await symlink(venv, path.join(into, 'venv'), 'dir');
          linked += 1;
        } catch (error) {
          // The checkout brought its own (a committed .meltano): it is left as it is.
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
      }
    }
    return linked;
  }

  /** The run is over (its directory removed): it no longer holds the entry; superseded entries go. */
  async release(deploymentId: string, key: string, runDirName: string): Promise<void> {
    if (!SAFE_SEGMENT.test(deploymentId) || !INSTALL_KEY.test(key)) return;
    await this.serial(deploymentId, async () => {
      await rm(path.join(this.entryDir(deploymentId, key), 'users', runDirName), { force: true });
      await this.prune(deploymentId);
    });
  }

  private deploymentDir(deploymentId: string): string {
    return path.join(this.root, deploymentId);
  }

  private entryDir(deploymentId: string, key: string): string {
    return path.join(this.deploymentDir(deploymentId), key);
  }

  private projectDirOf(entry: string, rootPath: string): string {
    return path.resolve(entry, 'repo', rootPath || '.');
  }

  private async registerIfReady(request: CacheRequest): Promise<CacheResult | null> {
    const entry = this.entryDir(request.deploymentId, request.key);
    if (!(await isFile(path.join(entry, 'ready')))) return null;
    await mkdir(path.join(entry, 'users'), { recursive: true });
    await writeFile(path.join(entry, 'users', request.runDirName), '');
    // Pruned by another process between the check and the registration: not usable.
    if (!(await isFile(path.join(entry, 'ready')))) return null;
    return {
      kind: 'ready',
      install: 'cached',
      sysDir: path.join(this.projectDirOf(entry, request.rootPath), '.meltano'),
    };
  }

  private async build(request: CacheRequest): Promise<CacheResult> {
    const { deploymentId, key } = request;
    const depDir = this.deploymentDir(deploymentId);
    await mkdir(depDir, { recursive: true, mode: 0o700 });
    const lock = path.join(depDir, `${key}.lock`);
    if (!(await this.takeLock(lock))) return { kind: 'busy' };
    const entry = this.entryDir(deploymentId, key);
    let ready = false;
    try {
      // Whatever a crashed install left.
      await rm(entry, { recursive: true, force: true, maxRetries: 3 });
      await mkdir(entry, { mode: 0o700 });
      await cp(request.repoDir, path.join(entry, 'repo'), {
        recursive: true,
        verbatimSymlinks: true,
        filter: (source) => {
          const name = path.basename(source);
          return !(
            name === '.meltano' ||
            (name === '.git' && path.dirname(source) === request.repoDir)
          );
        },
      });
      const projectDir = this.projectDirOf(entry, request.rootPath);
      const sysDir = path.join(projectDir, '.meltano');
      const failure = await request.install(projectDir, sysDir);
      if (failure) return { kind: 'failed', outcome: failure };
      await mkdir(path.join(entry, 'users'));
      await writeFile(path.join(entry, 'users', request.runDirName), '');
      await writeFile(
        path.join(entry, 'ready'),
        JSON.stringify({ key, installed_at: new Date().toISOString() }),
      );
      ready = true;
      await writeFile(path.join(depDir, 'current'), key);
      return { kind: 'ready', install: 'installed', sysDir };
    } finally {
      if (!ready) await rm(entry, { recursive: true, force: true, maxRetries: 3 });
      await unlink(lock).catch(() => undefined);
      if (ready) await this.serial(deploymentId, () => this.prune(deploymentId));
    }
  }

  /** Exclusive creation of the lock file; a lock of a dead process of this machine is taken over. */
  private async takeLock(lock: string): Promise<boolean> {
    const owner: LockOwner = { host: hostname(), pid: process.pid };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await writeFile(lock, JSON.stringify(owner), { flag: 'wx', mode: 0o600 });
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = await readLock(lock);
      // Unreadable (being written, or damaged): not ours to take over.
      if (!holder || holder.host !== owner.host || processAlive(holder.pid)) return false;
      await unlink(lock).catch(() => undefined);
    }
    return false;
  }

  /** Removes entries other than the current one that no live run uses (and failed leftovers). */
  private async prune(deploymentId: string): Promise<void> {
    const depDir = this.deploymentDir(deploymentId);
    const current = (await readFile(path.join(depDir, 'current'), 'utf8').catch(() => '')).trim();
    let names: string[];
    try {
      names = await readdir(depDir);
    } catch {
      return;
    }
    for (const name of names) {
      if (name.startsWith('.trash-')) {
        await rm(path.join(depDir, name), { recursive: true, force: true });
        continue;
      }
      if (!INSTALL_KEY.test(name) || name === current) continue;
      if (names.includes(`${name}.lock`)) continue; // being built
      const entry = path.join(depDir, name);
      if (await this.hasLiveUsers(entry)) continue;
      // Renamed first: a run of another process registering now sees `ready` gone.
      const trash = path.join(depDir, `.trash-${name}-${randomBytes(4).toString('hex')}`);
      try {
        await rename(entry, trash);
      } catch {
        continue;
      }
      if (await this.hasLiveUsers(trash)) {
        await rename(trash, entry).catch(() => undefined);
        continue;
      }
      await rm(trash, { recursive: true, force: true, maxRetries: 3 });
    }
  }

  private async hasLiveUsers(entry: string): Promise<boolean> {
    for (const user of await readdir(path.join(entry, 'users')).catch(() => [] as string[])) {
      if (await exists(path.join(this.workRoot, user))) return true;
      await rm(path.join(entry, 'users', user), { force: true });
    }
    return false;
  }

  private serial<T>(deploymentId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.queues.get(deploymentId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.queues.set(deploymentId, next);
    void next
      .catch(() => undefined)
      .finally(() => {
        if (this.queues.get(deploymentId) === next) this.queues.delete(deploymentId);
      });
    return next;
  }
}

async function readLock(lock: string): Promise<LockOwner | null> {
  try {
    const owner = JSON.parse(await readFile(lock, 'utf8')) as Partial<LockOwner>;
    if (typeof owner.host !== 'string' || !Number.isInteger(owner.pid)) return null;
    return { host: owner.host, pid: owner.pid as number };
  } catch {
    return null;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function subdirectories(dir: string): Promise<string[]> {
  const entries: Dirent[] = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
}

async function exists(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null)) !== null;
}

async function isFile(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null))?.isFile() ?? false;
}

async function isDirectory(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null))?.isDirectory() ?? false;
}
