import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
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

const run = promisify(execFile);
const CLIENTS = 6;
/** How long PostgreSQL stays down (the restart took 2.5 s). */
const OUTAGE_MS = 2_500;

/** The suite's own cluster, stopped or started without blocking this process (the API in it keeps answering). */
async function cluster(action: 'stop' | 'start'): Promise<void> {
  const version = process.env.RESIL_PG_VERSION!;
  const name = process.env.RESIL_PG_CLUSTER!;
  await run('pg_ctlcluster', [
    '--skip-systemctl-redirect',
    ...(action === 'stop' ? ['-m', 'fast'] : []),
    version,
    name,
    action,
  ]);
}

const noHeaders: Record<string, string> = {};

interface Outcome {
  phase: 'before' | 'outage' | 'after';
  status: number;
  retryAfter: string | undefined;
  write: string | null;
  /** What a failed request said (a 5xx body's title/detail, or the client's error). */
  said?: string;
}

/**
 * PostgreSQL stopped for 2.5 s and started again under API load (reads and writes from several
 * clients) while the real worker process writes the logs of runs in flight. Meanwhile the API
 * answers 503 with Retry-After, never 500, and recovers by itself; no request that got a 2xx
 * lost its write; the worker survives and finishes its runs.
 */
describe('PostgreSQL restarted under API load', () => {
  let t: TestApp;
  let users: RoleUsers;
  let repo: LocalGitRepo;
  let workdir: string;
  let worker: WorkerProcess;
  let dep: string;
  const org = 'resil-pg-restart';
  const project = `/orgs/${org}/projects/analytics`;

  beforeAll(async () => {
    workdir = mkdtempSync(path.join(tmpdir(), 'mc-resil-pg-'));
    t = await createTestApp({
      RATE_LIMIT_PER_MINUTE: '1000000',
      // A 500 prints its stack (an outage's 503s are warnings, not printed).
      LOG_LEVEL: 'error',
      MELTANO_BIN: FAKE_MELTANO,
      RUN_WORKDIR: workdir,
    });
    worker = new WorkerProcess(
      envOf(t.config, {
        MELTANO_BIN: FAKE_MELTANO,
        RUN_WORKDIR: workdir,
        WORKER_CONCURRENCY: '10',
      }),
      'pg-restart',
    );
    await worker.ready();
    users = await createRoleUsers(t.prisma);
    repo = new LocalGitRepo();
    repo.commit({ 'data/meltano.yml': sampleMeltanoYml });
    ({ dep } = await seedDeployment(
      t,
      users,
      org,
      repo.url,
      { max_concurrent_runs: 10 },
      // About 15 s of log lines: written across the outage.
      { FAKE_MELTANO_LINES: '150', FAKE_MELTANO_DELAY_MS: '100' },
    ));
  }, 120_000);
  afterAll(async () => {
    await worker.stop();
    await t.close();
    repo.remove();
    rmSync(workdir, { recursive: true, force: true });
  });

  it('answers 503 + Retry-After meanwhile, recovers without a restart, loses no acknowledged write; the worker rides it out', async () => {
    const runIds: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await t.http
        .post(`${dep}/runs`)
        .set('authorization', users.owner.bearer)
        .send({ schedule: 'daily-load' })
        .expect(201);
      runIds.push(res.body.id as string);
    }
    // Runs of one schedule write the same Meltano state id, so they run one after another
    // (the others wait in queued): the first writes its log lines across the outage.
    await waitFor(
      async () =>
        (await t.prisma.run.count({ where: { id: { in: runIds }, status: 'running' } })) >= 1,
      60_000,
      'a run to be running',
    );

    let phase: Outcome['phase'] = 'before';
    let stop = false;
    const outcomes: Outcome[] = [];
    const client = async (n: number) => {
      for (let i = 0; !stop; i++) {
        const write = i % 2 === 0 ? `LOAD_${n}_${i}` : null;
        const at = phase;
        const req = write
          ? t.http
              .put(`${project}/secrets/${write}`)
              .set('authorization', users.owner.bearer)
              .send({ value: `value-${n}-${i}` })
          : t.http.get(`${project}/secrets`).set('authorization', users.owner.bearer);
        const res = await req.then(
          (r) => r,
          (err: unknown) => ({ status: 0, headers: noHeaders, err }),
        );
        outcomes.push({
          phase: at === phase ? at : 'outage',
          status: res.status,
          retryAfter: res.headers['retry-after'],
          write,
          said:
            res.status === 0 || res.status >= 500
              ? 'err' in res
                ? String(res.err)
                : JSON.stringify((res as { body?: unknown }).body)
              : undefined,
        });
        if (res.status === 503) await sleep(100);
      }
    };
    const clients = Array.from({ length: CLIENTS }, (_, n) => client(n));
    await waitFor(async () => outcomes.length >= 50, 30_000, 'load before the outage');
    phase = 'outage';
    await cluster('stop');
    await sleep(OUTAGE_MS);
    await cluster('start');
    // Recovered: requests succeed again, on the same API process and its pool.
    const mark = outcomes.length;
    await waitFor(
      async () =>
        outcomes.slice(mark).filter((o) => o.status >= 200 && o.status < 300).length >= 50,
      60_000,
      'the API to answer again',
    );
    phase = 'after';
    const afterMark = outcomes.length;
    await waitFor(async () => outcomes.length >= afterMark + 30, 30_000, 'load after the outage');
    stop = true;
    await Promise.all(clients);

    const acknowledged = outcomes.filter((o) => o.write && o.status >= 200 && o.status < 300);
    const stored = new Set(
      (
        await t.prisma.secret.findMany({
          where: { name: { startsWith: 'LOAD_' } },
          select: { name: true },
        })
      ).map((s) => s.name),
    );
    const lostWrites = acknowledged.filter((o) => !stored.has(o.write!)).length;
    const failed = outcomes.filter(
      (o) => o.status === 0 || (o.status >= 500 && !(o.status === 503 && Number(o.retryAfter) > 0)),
    );
    const serverErrors = failed.length;
    const unavailable = outcomes.filter((o) => o.status === 503).length;
    const afterFailures = outcomes
      .filter((o) => o.phase === 'after')
      .filter((o) => o.status < 200 || o.status >= 300).length;

    // The worker kept running and its runs ended (their logs were written across the outage).
    const runs = await waitFor(
      async () => {
        const rows = await t.prisma.run.findMany({ where: { id: { in: runIds } } });
        return rows.every((r) => FINAL.includes(r.status)) ? rows : null;
      },
      120_000,
      'the runs to end',
    );
    const stuck = runs.filter((r) => !FINAL.includes(r.status)).length;
    report('PostgreSQL restarted under API load', {
      requests: outcomes.length,
      acknowledged_writes: acknowledged.length,
      unavailable_503: unavailable,
      server_errors: serverErrors,
      lost_writes: lostWrites,
      failures_after_recovery: afterFailures,
      worker_alive: String(worker.alive),
      runs_stuck: stuck,
      run_statuses: runs.map((r) => r.status).join('/'),
      orphans: meltanoProcesses(workdir).length,
    });
    for (const o of failed)
      console.log(`[resilience] server error (${o.phase}): ${o.status} ${o.said}`);
    expect(unavailable).toBeGreaterThan(0);
    expect(serverErrors).toBe(0);
    expect(lostWrites).toBe(0);
    expect(afterFailures).toBe(0);
    expect(worker.alive).toBe(true);
    expect(stuck).toBe(0);
    expect(runs.map((r) => r.status)).toEqual(runIds.map(() => 'succeeded'));
  });
});
