import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

export const ROOT = path.resolve('.');
export const BIN = path.join(ROOT, 'bin/meltano-cloud.js');
const MAIN = path.join(ROOT, 'dist/cli/main.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

const stale = () =>
  !existsSync(MAIN) || statSync(MAIN).mtimeMs < newestSource(path.join(ROOT, 'cli'));

/**
 * Builds dist/cli when it is older than cli/ (`tsc -p tsconfig.build.json`, as `npm run build`).
 * Should other parts of the tree not compile right now, the CLI alone is compiled with the same options.
 */
export function ensureCliBuilt(): void {
  if (!stale()) return;
  const full = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (!stale()) return;
  const cliOnly = spawnSync(
    'npx',
    [
      'tsc',
      '--outDir',
      'dist',
      '--rootDir',
      '.',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2023',
      '--strict',
      '--noUncheckedIndexedAccess',
      '--skipLibCheck',
      '--types',
      'node',
      '--sourceMap',
      'cli/main.ts',
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
  );
  if (stale())
    throw new Error(
      `could not build dist/cli:\n${full.stdout}${full.stderr}\n${cliOnly.stdout}${cliOnly.stderr}`,
    );
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The CLI's environment: nothing of this process's MELTANO_CLOUD_* or NODE_OPTIONS leaks in. */
export function cliEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, LANG: 'C.UTF-8' };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

export interface RunningCli {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves once stderr (or stdout) matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  done: Promise<CliResult>;
}

/** Starts `meltano-cloud args…` (the built binary) as a subprocess. */
export function startCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: string,
  cwd = ROOT,
): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], { env, cwd, stdio: 'pipe' });
  let stdout = '';
  let stderr = '';
  const listeners = new Set<() => void>();
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    listeners.forEach((l) => l());
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    listeners.forEach((l) => l());
  });
  child.stdin.end(input ?? '');
  const done = new Promise<CliResult>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    done,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(stderr) ?? pattern.exec(stdout);
          if (m) {
            cleanup();
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(`timed out waiting for ${pattern}\nstdout: ${stdout}\nstderr: ${stderr}`),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        void done.then(() => {
          if (listeners.has(check)) {
            cleanup();
            const m = pattern.exec(stderr) ?? pattern.exec(stdout);
            if (m) resolve(m);
            else
              reject(new Error(`exited before ${pattern}\nstdout: ${stdout}\nstderr: ${stderr}`));
          }
        });
        check();
      });
    },
  };
}

/** Runs the CLI to completion (never spawnSync: the API under test lives in this process). */
export function runCli(args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<CliResult> {
  return startCli(args, env, input).done;
}

const shellQuote = (arg: string): string => `'${arg.replace(/'/g, `'\\''`)}'`;

/**
 * Runs the CLI on a pseudo-terminal (util-linux `script`): stdin, stdout and
 * stderr are a terminal, as when a person types the command. `input` is typed
 * once the CLI shows `waitFor` (a prompt). Output comes back merged, with the
 * terminal's \r\n line ends turned into \n.
 */
export async function runCliInTty(
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: { waitFor: RegExp; type: string },
): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, BIN, ...args].map(shellQuote).join(' ');
  const child = spawn('script', ['-qec', command, '/dev/null'], { env, cwd: ROOT, stdio: 'pipe' });
  let output = '';
  let typed = false;
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
    if (input && !typed && input.waitFor.test(output)) {
      typed = true;
      child.stdin.write(input.type);
    }
  });
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, output: output.replace(/\r\n/g, '\n') };
}
