import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AppConfig } from '../../../src/config/app-config.js';
import type { TestApp } from '../../support/test-app.js';
import type { RoleUsers } from '../../support/fixtures.js';
import { waitFor } from '../../support/git-repo.js';

export const FAKE_MELTANO = path.resolve('test/fixtures/bin/meltano');
const WORKER_MAIN = path.resolve('dist/worker/main.js');

/** The suite's private PostgreSQL cluster (infra-setup.js): restart, stop, start. */
export function pgCluster(action: 'restart' | 'stop' | 'start'): void {
  const version = process.env.RESIL_PG_VERSION;
  const cluster = process.env.RESIL_PG_CLUSTER;
  if (!version || !cluster) throw new Error('run through `npm run test:resilience`');
  execFileSync(
    'pg_ctlcluster',
    [
      '--skip-systemctl-redirect',
      ...(action === 'start' ? [] : ['-m', 'fast']),
      version,
      cluster,
      action,
    ],
    { stdio: 'pipe' },
  );
}

/** Environment variables reproducing `config` for a child process (what testConfig was given). */
export function envOf(
  config: AppConfig,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
    DATABASE_URL: config.databaseUrl,
    REDIS_URL: config.redis.url,
    REDIS_PREFIX: config.redis.prefix,
    // Several workers run at once: each serves its metrics on a free port, never a fixed one.
    WORKER_METRICS_PORT: '0',
    WORKER_METRICS_HOST: '127.0.0.1',
    ...overrides,
  };
}

/** A real worker process (`node dist/worker/main.js`), its output in a log file. */
export class WorkerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  readonly logFile: string;
  private done = false;

  constructor(env: Record<string, string>, name: string) {
    const dir = mkdtempSync(path.join(tmpdir(), 'mc-resil-worker-'));
    this.logFile = path.join(dir, `${name}.log`);
    const log = createWriteStream(this.logFile);
    this.child = spawn(process.execPath, ['--experimental-wasm-modules', WORKER_MAIN], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.pipe(log);
    this.child.stderr?.pipe(log);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        this.done = true;
        resolve({ code, signal, at: Date.now() });
      }),
    );
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('worker did not start');
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.done;
  }

  /** The worker id it registers (config.worker.id unset: `<hostname>:<pid>`). */
  workerIdSuffix(): string {
    return `:${this.pid}`;
  }

  log(): string {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** Resolves once the worker logged that it is taking jobs. */
  async ready(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      async () => {
        if (!this.alive) throw new Error(`worker exited early:\n${this.log()}`);
        return this.log().includes('worker taking jobs');
      },
      timeoutMs,
      'worker to start',
    );
  }

  async stop(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    await this.exited;
  }
}

/** A killed process counts as gone even while it is a zombie (this container's pid 1 does not reap orphans). */
function isZombie(pid: string): boolean {
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/** Live (non-zombie) stand-in `meltano` processes working under `workRoot`, by pid. */
export function meltanoProcesses(workRoot: string): number[] {
  const found: number[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmdline.includes(FAKE_MELTANO)) continue;
      if (!readlinkSync(`/proc/${pid}/cwd`).startsWith(workRoot)) continue;
      if (!isZombie(pid)) found.push(Number(pid));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** Whether a process (not a zombie) exists. */
export function processAlive(pid: number): boolean {
  return !isZombie(String(pid));
}

/** An organization with a project on `repoUrl` and a deployment `prod`, deployed (API, as owner). */
export async function seedDeployment(
  t: TestApp,
  users: RoleUsers,
  org: string,
  repoUrl: string,
  settings: Record<string, unknown> = {},
  secrets: Record<string, string> = {},
): Promise<{ orgId: string; deploymentId: string; dep: string }> {
  const api = (method: 'post' | 'put', url: string, body: object) =>
    t.http[method](url).set('authorization', users.owner.bearer).send(body);
  const created = await api('post', '/orgs', { name: org, slug: org }).expect(201);
  await api('post', `/orgs/${org}/projects`, {
    name: 'Analytics',
    repository: repoUrl,
    root_path: 'data',
  }).expect(201);
  for (const [name, value] of Object.entries(secrets))
    await api('put', `/orgs/${org}/projects/analytics/secrets/${name}`, { value }).expect((r) =>
      expect(r.status).toBeLessThan(300),
    );
  const deployment = await api('post', `/orgs/${org}/projects/analytics/deployments`, {
    name: 'prod',
    environment: 'prod',
    branch: 'main',
    ...settings,
  }).expect(201);
  const dep = `/orgs/${org}/projects/analytics/deployments/prod`;
  await waitFor(
    async () =>
      (await t.http.get(dep).set('authorization', users.owner.bearer)).body.status === 'ready',
    60_000,
    'first deploy',
  );
  return { orgId: created.body.id, deploymentId: deployment.body.id, dep };
}

/** Prints one figure of a case (the issue asks each case to print its figures). */
export function report(testCase: string, figures: Record<string, number | string>): void {
  process.stdout.write(
    `[resilience] ${testCase}: ${Object.entries(figures)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}\n`,
  );
}

export const FINAL = ['succeeded', 'failed', 'cancelled', 'timed_out', 'skipped'];
