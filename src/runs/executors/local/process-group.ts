import { spawn } from 'node:child_process';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { LineSplitter } from './line-splitter.js';

/**
 * Every child of a run gets this variable (the run directory) so that a
 * process group found through a stale state file can be proven to be ours
 * before it is killed (pids are reused).
 */
export const RUN_DIR_ENV = 'MELTANO_CLOUD_RUN_DIR';

const POLL_MS = 50;
/** After SIGKILL the kernel needs a moment; past this we stop waiting rather than hang. */
const AFTER_KILL_WAIT_MS = 2000;

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the program could not be started at all (ENOENT, EACCES...). */
  spawnError: Error | null;
}

export interface GroupChild {
  /** Pid of the leader, which is also the process group id; undefined when spawning failed. */
  readonly pid: number | undefined;
  /** Settles once the leader exited and its output was read to the end. Never rejects. */
  readonly done: Promise<ExitInfo>;
  /** SIGTERM to the whole group, SIGKILL after graceMs; resolves when the group is gone. */
  terminate(): Promise<void>;
}

export interface SpawnGroupOptions {
  cwd: string;
  env: Record<string, string>;
  graceMs: number;
  onLine(stream: 'stdout' | 'stderr', line: string): void;
}

/** Spawns `command` as the leader of a new process group and streams its output line by line. */
export function spawnGroup(
  command: string,
  args: string[],
  options: SpawnGroupOptions,
): GroupChild {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    // Own process group (and session): cancel can kill plugins and their children too.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  const stdout = new LineSplitter((line) => options.onLine('stdout', line));
  const stderr = new LineSplitter((line) => options.onLine('stderr', line));
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));

  const done = new Promise<ExitInfo>((resolve) => {
    let settled = false;
    let closeTimer: NodeJS.Timeout | undefined;
    const finish = (info: ExitInfo) => {
      if (settled) return;
      settled = true;
      clearTimeout(closeTimer);
      stdout.end();
      stderr.end();
      resolve(info);
    };
    child.on('error', (error) => {
      // Only a failed spawn ends the process here; other errors (kill failures) are not fatal.
      if (child.pid === undefined) finish({ code: null, signal: null, spawnError: error });
    });
    child.on('exit', (code, signal) => {
      if (pid === undefined) return;
      // Leftovers of the group (a daemonised plugin) must not outlive the step,
      // and they would keep our pipes open so 'close' would never come.
      void killGroup(pid, options.graceMs);
      // A process that escaped the group can still hold the pipes: stop waiting eventually.
      closeTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        finish({ code, signal, spawnError: null });
      }, options.graceMs + AFTER_KILL_WAIT_MS);
    });
    child.on('close', (code, signal) => finish({ code, signal, spawnError: null }));
  });

  return {
    pid,
    done,
    async terminate() {
      if (pid === undefined) return;
      await killGroup(pid, options.graceMs);
      await done;
    },
  };
}

/** Sends a signal to a process group; false when the group no longer exists. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    // EPERM: something in the group is not ours; the group still exists.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** SIGTERM the group, SIGKILL what is left after graceMs; resolves once nothing (but zombies) is left. */
export async function killGroup(pgid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await groupAlive(pgid))) return;
    await sleep(Math.min(POLL_MS, Math.max(1, deadline - Date.now())));
  }
  if (!signalGroup(pgid, 'SIGKILL')) return;
  const killDeadline = Date.now() + AFTER_KILL_WAIT_MS;
  while (Date.now() < killDeadline && (await groupAlive(pgid))) await sleep(POLL_MS);
}

/**
 * Whether a process group has a live member. kill(-pgid, 0) alone is not
 * enough: zombies count as members, and where pid 1 does not reap orphans
 * (containers) killed grandchildren stay zombies forever.
 */
export async function groupAlive(pgid: number): Promise<boolean> {
  if (!signalGroup(pgid, 0)) return false;
  const members = await groupMembers(pgid);
  return members === null || members.length > 0;
}

/** Live (non-zombie) members of a process group from /proc; null where /proc is not available. */
async function groupMembers(pgid: number): Promise<number[] | null> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return null;
  }
  const members: number[] = [];
  await Promise.all(
    entries
      .filter((name) => /^\d+$/.test(name))
      .map(async (name) => {
        try {
          const stat = await readFile(`/proc/${name}/stat`, 'utf8');
          // The command name may contain spaces and ')': fields start after the last ')'.
          const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
          if (state !== 'Z' && Number(pgrp) === pgid) members.push(Number(name));
        } catch {
          // Exited while we were looking.
        }
      }),
  );
  return members;
}

/**
 * Whether a live process group recorded for `runDir` (in a state file that may
 * be stale) is still the run's: some member works inside the directory or
 * carries its RUN_DIR_ENV. Without /proc the state file is trusted.
 */
export async function groupBelongsToRun(pgid: number, runDir: string): Promise<boolean> {
  if (!signalGroup(pgid, 0)) return false;
  const members = await groupMembers(pgid);
  if (members === null) return true;
  for (const pid of members) {
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => '');
    if (cwd === runDir || cwd.startsWith(`${runDir}/`) || cwd.startsWith(`${runDir} `)) return true;
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    if (environ.split('\0').includes(`${RUN_DIR_ENV}=${runDir}`)) return true;
  }
  return false;
}
