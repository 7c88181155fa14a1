import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  ExecutionCallbacks,
  LogLine,
  PhaseDetail,
  RunPhase,
  RunSpec,
} from '../../../src/runs/executors/executor.js';
import {
  LocalExecutor,
  type LocalExecutorOptions,
} from '../../../src/runs/executors/local/local-executor.js';

export const MELTANO_BIN = fileURLToPath(new URL('../../fixtures/bin/meltano', import.meta.url));
export const GIT_BIN = 'git';

export const FIRST_PROJECT = `version: 1
default_environment: dev
project_id: first-commit
schedules:
  - name: first-schedule
    interval: '@daily'
    job: sync-job
jobs:
  - name: sync-job
    tasks: [tap-fake target-fake]
`;
export const SECOND_PROJECT = FIRST_PROJECT.replace('first-commit', 'second-commit').replace(
  'first-schedule',
  'second-schedule',
);

export interface Fixture {
  root: string;
  workRoot: string;
  /** Bare repository to clone from. */
  bareDir: string;
  bareUrl: string;
  /** [first, second] commit of branch main; meltano.yml is under data/. */
  commits: [string, string];
  baseEnv: Record<string, string>;
  executor(options?: Partial<LocalExecutorOptions>): LocalExecutor;
  spec(overrides?: SpecOverrides): RunSpec;
  dispose(): Promise<void>;
}

export type SpecOverrides = Partial<Omit<RunSpec, 'repository'>> & {
  repository?: Partial<RunSpec['repository']>;
};

function git(cwd: string, ...args: string[]): string {
  return execFileSync(
    GIT_BIN,
    ['-c', 'user.name=Test', '-c', 'user.email=test@example.com', ...args],
    { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' } },
  ).trim();
}

/** Gives `use` a fixture before the file's tests and disposes of it after them. */
export function withFixture(use: (fixture: Fixture) => void): void {
  let fixture: Fixture;
  beforeAll(async () => {
    fixture = await createFixture();
    use(fixture);
  });
  afterAll(async () => {
    await fixture.dispose();
  });
}

/** The run directory named by a handle's ref (`<host>:<dir>`). */
export const dirOf = (ref: string) => ref.slice(ref.indexOf(':') + 1);

/** A repository with two commits of data/meltano.yml, as a bare repo reachable by a file:// URL. */
export async function createFixture(): Promise<Fixture> {
  const root = await mkdtemp(join(tmpdir(), 'mc-local-executor-'));
  const work = join(root, 'work');
  await mkdir(join(work, 'data'), { recursive: true });
  git(root, 'init', '-q', '-b', 'main', work);
  await writeFile(join(work, 'data', 'meltano.yml'), FIRST_PROJECT);
  git(work, 'add', '.');
  git(work, 'commit', '-q', '-m', 'first');
  const first = git(work, 'rev-parse', 'HEAD');
  await writeFile(join(work, 'data', 'meltano.yml'), SECOND_PROJECT);
  git(work, 'commit', '-q', '-am', 'second');
  const second = git(work, 'rev-parse', 'HEAD');
  const bareDir = join(root, 'repos', 'project.git');
  await mkdir(dirname(bareDir), { recursive: true });
  git(root, 'clone', '-q', '--bare', work, bareDir);

  const home = join(root, 'home');
  await mkdir(home);
  const baseEnv: Record<string, string> = {
    // The fake meltano runs through `#!/usr/bin/env node`.
    PATH: [dirname(process.execPath), process.env.PATH ?? ''].join(delimiter),
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
  };
  const workRoot = join(root, 'runs');
  let runCount = 0;

  return {
    root,
    workRoot,
    bareDir,
    bareUrl: `file://${bareDir}`,
    commits: [first, second],
    baseEnv,
    executor: (options) =>
      new LocalExecutor({
        workRoot,
        meltanoBin: MELTANO_BIN,
        gitBin: GIT_BIN,
        baseEnv,
        killGraceMs: 500,
        ...options,
      }),
    spec: (overrides = {}) => {
      const { repository, ...rest } = overrides;
      runCount += 1;
      return {
        runId: `run${runCount}`,
        organizationId: 'org1',
        projectId: 'proj1',
        deploymentId: 'dep1',
        rootPath: 'data',
        environment: 'prod',
        command: { kind: 'schedule', name: 'second-schedule' },
        env: {},
        files: [],
        timeoutSeconds: 60,
        ...rest,
        repository: {
          cloneUrl: `file://${bareDir}`,
          commitSha: second,
          branch: 'main',
          ...repository,
        },
      };
    },
    dispose: () => rm(root, { recursive: true, force: true }),
  };
}

export interface Recorder {
  callbacks: ExecutionCallbacks;
  logs: LogLine[];
  phases: { phase: RunPhase; at: Date; detail?: PhaseDetail }[];
  lines(): string[];
  /** Resolves with the first line matching `pattern` (waits for it). */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

export function recorder(): Recorder {
  const logs: LogLine[] = [];
  const phases: { phase: RunPhase; at: Date; detail?: PhaseDetail }[] = [];
  const lines = () => logs.map((log) => log.line);
  return {
    logs,
    phases,
    lines,
    callbacks: {
      onLog: (line) => logs.push(line),
      onPhase: (phase, at, detail) => phases.push({ phase, at, ...(detail ? { detail } : {}) }),
    },
    async waitForLine(pattern, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        for (const line of lines()) {
          const match = pattern.exec(line);
          if (match) return match;
        }
        if (Date.now() > deadline)
          throw new Error(`no line matching ${pattern}; got:\n${lines().join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

/** Whether a process is running: zombies (never reaped where pid 1 does not reap) count as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z';
  } catch {
    return true; // No /proc: trust kill(0).
  }
}

export async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export interface GitHttpServer {
  /** Base URL; repositories of `projectRoot` are below it (`<url>/project.git`). */
  url: string;
  /** Authorization header of every request (undefined when none was sent). */
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

/**
 * Smart-HTTP git server (git http-backend behind node:http) that wants
 * `Authorization: Basic base64(x-access-token:<token>)`, like GitHub with an
 * installation token.
 */
export async function startGitHttpServer(
  projectRoot: string,
  token: string,
): Promise<GitHttpServer> {
  const expected = `Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`;
  const authorizations: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    authorizations.push(req.headers.authorization);
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const header = (name: string) => String(req.headers[name] ?? '');
    const backend = spawn(GIT_BIN, ['http-backend'], {
      env: {
        PATH: process.env.PATH ?? '',
        GIT_PROJECT_ROOT: projectRoot,
        GIT_HTTP_EXPORT_ALL: '1',
        GIT_CONFIG_NOSYSTEM: '1',
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        CONTENT_TYPE: header('content-type'),
        ...(req.headers['content-length'] ? { CONTENT_LENGTH: header('content-length') } : {}),
        HTTP_CONTENT_ENCODING: header('content-encoding'),
        HTTP_GIT_PROTOCOL: header('git-protocol'),
        REMOTE_ADDR: '127.0.0.1',
      },
    });
    req.pipe(backend.stdin);
    const chunks: Buffer[] = [];
    backend.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    backend.on('close', () => {
      // CGI output: headers, a blank line, the body.
      const output = Buffer.concat(chunks);
      const end = output.indexOf('\r\n\r\n');
      const head = output.subarray(0, end).toString('latin1');
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.split('\r\n')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else if (name) headers[name] = value;
      }
      res.writeHead(status, headers).end(output.subarray(end + 4));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    authorizations,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
