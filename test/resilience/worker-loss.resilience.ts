import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, type RoleUsers } from '../support/fixtures.js';
import { LocalGitRepo, sampleMeltanoYml, waitFor } from '../support/git-repo.js';
import {
  envOf,
  FAKE_MELTANO,
  FINAL,
  meltanoProcesses,
  report,
  seedDeployment,
  WorkerProcess,
} from './support/harness.js';

const RUNS = 6;
const SHUTDOWN_TIMEOUT_MS = 5_000;

/**
 * The real worker process (`dist/worker/main.js`) with local runs of the stand-in meltano in
 * flight (a pipeline of about a minute), killed with SIGKILL, then stopped with SIGTERM.
 * Whatever happens to a worker, every run ends in a true final state, none is left `running`
 * without an owner, none runs twice and no `meltano` process is left behind.
 */
describe('worker loss with local runs in flight', () => {
  let t: TestApp;
  let users: RoleUsers;
  let repo: LocalGitRepo;
  let workdir: string;
  let workerEnv: Record<string, string>;
  let dep: string;
  const org = 'resil-worker-loss';
  const workers: WorkerProcess[] = [];
  const startWorker = async (name: string) => {
    const worker = new WorkerProcess(workerEnv, name);
    workers.push(worker);
    await worker.ready();
    return worker;
  };
  // Runs of one schedule write one Meltano state id and so run one at a time: runs in flight
  // together belong to deployments of their own.
  const deps: string[] = [];
  const startRuns = async (n: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const res = await t.http
        .post(`${deps[i % deps.length]}/runs`)
        .set('authorization', users.owner.bearer)
        .send({ schedule: 'daily-load' })
        .expect(201);
      ids.push(res.body.id as string);
    }
    return ids;
  };
  const rows = (ids: string[]) => t.prisma.run.findMany({ where: { id: { in: ids } } });
  /** Runs whose pipeline is going, with as many live meltano processes. */
  const allRunning = async (ids: string[]) => {
    let last = '';
    await waitFor(
      async () => {
        const runs = await rows(ids);
        const processes = meltanoProcesses(workdir).length;
        last = `${runs.map((r) => `${r.status}${r.waitingReason ? ` (${r.waitingReason})` : ''}`).join(', ')}; ${processes} meltano processes`;
        return runs.every((r) => r.status === 'running') && processes >= ids.length;
      },
      90_000,
      'every run to be running',
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}: ${last}\n${workers.at(-1)?.log().slice(-3000)}`);
    });
  };
  const allFinal = (ids: string[], timeoutMs: number) =>
    waitFor(
      async () => {
        const runs = await rows(ids);
        return runs.every((r) => FINAL.includes(r.status)) ? runs : null;
      },
      timeoutMs,
      'every run to reach a final state',
    );
  /** How many times each run's pipeline started, read from its stored log (the stand-in prints it once per start). */
  const pipelineStarts = async (runId: string): Promise<number> =>
    t.prisma.runLogLine.count({ where: { runId, line: { startsWith: 'MELTANO_ENVIRONMENT=' } } });
  const figures = async (ids: string[]) => {
    const runs = await rows(ids);
    const liveWorkers = new Set(workers.filter((w) => w.alive).map((w) => w.workerIdSuffix()));
    const stuck = runs.filter(
      (r) =>
        !FINAL.includes(r.status) &&
        !(r.workerId && [...liveWorkers].some((suffix) => r.workerId!.endsWith(suffix))),
    ).length;
    let duplicates = 0;
    for (const run of runs) if ((await pipelineStarts(run.id)) > 1) duplicates++;
    // A retry of a run lost before its pipeline started is a new run; the original must not run again.
    const retries = await t.prisma.run.count({ where: { retryOfId: { in: ids } } });
    return {
      runs: runs.length,
      lost: ids.length - runs.length,
      stuck,
      duplicates,
      orphans: meltanoProcesses(workdir).length,
      retried: retries,
      statuses: [...new Set(runs.map((r) => r.status))].join('/'),
    };
  };

  beforeAll(async () => {
    workdir = mkdtempSync(path.join(tmpdir(), 'mc-resil-runs-'));
    t = await createTestApp({
      RATE_LIMIT_PER_MINUTE: '100000',
      MELTANO_BIN: FAKE_MELTANO,
      RUN_WORKDIR: workdir,
    });
    workerEnv = envOf(t.config, {
      MELTANO_BIN: FAKE_MELTANO,
      RUN_WORKDIR: workdir,
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      WORKER_CONCURRENCY: '20',
    });
    users = await createRoleUsers(t.prisma);
    repo = new LocalGitRepo();
    repo.commit({ 'data/meltano.yml': sampleMeltanoYml });
    await startWorker('first');
    ({ dep } = await seedDeployment(
      t,
      users,
      org,
      repo.url,
      { max_concurrent_runs: 20 },
      // About a minute of pipeline: outlasts the kill and the shutdown timeout.
      { FAKE_MELTANO_LINES: '600', FAKE_MELTANO_DELAY_MS: '100' },
    ));
    deps.push(dep);
    for (let i = 2; i <= 6; i++) {
      await t.http
        .post(`/orgs/${org}/projects/analytics/deployments`)
        .set('authorization', users.owner.bearer)
        .send({ name: `prod-${i}`, environment: 'prod', branch: 'main' })
        .expect(201);
      const other = `/orgs/${org}/projects/analytics/deployments/prod-${i}`;
      await waitFor(
        async () =>
          (await t.http.get(other).set('authorization', users.owner.bearer)).body.status ===
          'ready',
        60_000,
        `deploy of prod-${i}`,
      );
      deps.push(other);
    }
  }, 240_000);
  afterAll(async () => {
    for (const worker of workers) await worker.stop();
    await t.close();
    repo.remove();
    rmSync(workdir, { recursive: true, force: true });
  });

  it('kill -9: after a new worker starts, every run ends, none twice, none stuck, no orphan meltano', async () => {
    const first = workers[0]!;
    const ids = await startRuns(RUNS);
    await allRunning(ids);
    first.child.kill('SIGKILL');
    await first.exited;
    const killedAt = Date.now();
    await startWorker('after-kill');
    // The dead worker's heartbeat lapses (30 s), then the next sweep (every minute) takes its runs.
    const runs = await allFinal(ids, 150_000);
    const seen = await figures(ids);
    report('kill -9 of the worker', {
      ...seen,
      seconds_to_settle: Math.round((Date.now() - killedAt) / 1000),
    });
    expect(seen).toMatchObject({ lost: 0, stuck: 0, duplicates: 0, orphans: 0 });
    for (const run of runs) expect(run.statusReason).toMatch(/^worker lost/);
    // Their pipelines had started: not retried automatically (they may have loaded data).
    expect(seen.retried).toBe(0);
  });

  it('SIGTERM: the worker exits within SHUTDOWN_TIMEOUT_MS, hands its runs back, nothing is left running without an owner', async () => {
    const current = workers.at(-1)!;
    const ids = await startRuns(4);
    await allRunning(ids);
    const signalledAt = Date.now();
    current.child.kill('SIGTERM');
    const { code, at } = await current.exited;
    const drainMs = at - signalledAt;
    expect(code).toBe(0);
    // The pipelines last a minute: the worker did not wait for them.
    expect(drainMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 5_000);
    expect(current.log()).toMatch(/handing unfinished jobs back|draining/);
    await startWorker('after-term');
    const runs = await allFinal(ids, 120_000);
    const seen = await figures(ids);
    report('SIGTERM during runs', { ...seen, drain_ms: drainMs });
    expect(seen).toMatchObject({ lost: 0, stuck: 0, duplicates: 0, orphans: 0 });
    for (const run of runs) expect(run.status).not.toBe('running');
  });
});
