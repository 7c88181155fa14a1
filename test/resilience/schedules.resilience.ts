import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, type RoleUsers } from '../support/fixtures.js';
import { LocalGitRepo, waitFor } from '../support/git-repo.js';
import {
  envOf,
  FAKE_MELTANO,
  FINAL,
  report,
  seedDeployment,
  WorkerProcess,
} from './support/harness.js';

const SCHEDULES = 20;
const MINUTE = 60_000;

const meltanoYml = `version: 1
default_environment: prod
project_id: resilience
environments:
  - name: prod
plugins:
  extractors:
    - name: tap-fake
  loaders:
    - name: target-fake
jobs:
  - name: load
    tasks:
      - tap-fake target-fake
schedules:
${Array.from(
  { length: SCHEDULES },
  (_, i) => `  - name: every-minute-${i}\n    interval: '* * * * *'\n    job: load\n`,
).join('')}`;

/** Sleeps until `at` (a tick boundary the case is built around), not racing anything. */
const until = (at: number) => sleep(Math.max(0, at - Date.now()));
const nextMinute = (from = Date.now()) => Math.ceil((from + 1) / MINUTE) * MINUTE;

/**
 * Three real worker processes over the same every-minute schedules (BullMQ job schedulers in
 * Redis, PostgreSQL the source of truth): every tick makes exactly one run, whichever worker
 * takes it. Then the prefix's Redis keys are wiped just before a tick: the watchdog rebuilds the
 * timers from PostgreSQL, the tick that fell in between is recorded (missed), the schedules fire
 * again, and a queued run whose queue job went with Redis runs. Takes four real minutes.
 */
describe('schedules over three workers, and a Redis wipe', () => {
  let t: TestApp;
  let users: RoleUsers;
  let repo: LocalGitRepo;
  let workdir: string;
  let deploymentId: string;
  let orgId: string;
  const workers: WorkerProcess[] = [];
  const org = 'resil-schedules';
  let firstTick: number;

  /** Rows (runs, or skipped ticks) per schedule and tick, and ticks with none or more than one. */
  async function tickRows(ticks: number[]) {
    const rows = await t.prisma.run.findMany({
      where: { deploymentId, tickAt: { in: ticks.map((at) => new Date(at)) } },
      select: { id: true, scheduleId: true, tickAt: true, status: true, statusReason: true },
    });
    const schedules = await t.prisma.schedule.findMany({ where: { deploymentId } });
    let missing = 0;
    let duplicates = 0;
    for (const schedule of schedules)
      for (const at of ticks) {
        const n = rows.filter(
          (r) => r.scheduleId === schedule.id && r.tickAt?.getTime() === at,
        ).length;
        if (n === 0) missing++;
        if (n > 1) duplicates++;
      }
    return { rows, missing, duplicates };
  }

  /** Runs whose pipeline started more than once (the stand-in prints this line once per start). */
  async function ranTwice(runIds: string[]): Promise<number> {
    const starts = await t.prisma.runLogLine.groupBy({
      by: ['runId'],
      where: { runId: { in: runIds }, line: { startsWith: 'MELTANO_ENVIRONMENT=' } },
      _count: { _all: true },
    });
    return starts.filter((s) => s._count._all > 1).length;
  }

  const settled = (ids: string[]) =>
    waitFor(
      async () => {
        const runs = await t.prisma.run.findMany({ where: { id: { in: ids } } });
        return runs.every((r) => FINAL.includes(r.status)) ? runs : null;
      },
      120_000,
      'tick runs to end',
    );

  beforeAll(async () => {
    workdir = mkdtempSync(path.join(tmpdir(), 'mc-resil-sched-'));
    t = await createTestApp({
      RATE_LIMIT_PER_MINUTE: '1000000',
      MELTANO_BIN: FAKE_MELTANO,
      RUN_WORKDIR: workdir,
    });
    const env = envOf(t.config, {
      MELTANO_BIN: FAKE_MELTANO,
      RUN_WORKDIR: workdir,
      WORKER_CONCURRENCY: '10',
    });
    for (const name of ['a', 'b', 'c']) workers.push(new WorkerProcess(env, `sched-${name}`));
    await Promise.all(workers.map((w) => w.ready()));
    users = await createRoleUsers(t.prisma);
    repo = new LocalGitRepo();
    repo.commit({ 'data/meltano.yml': meltanoYml });
    ({ deploymentId, orgId } = await seedDeployment(
      t,
      users,
      org,
      repo.url,
      // A tick arriving while a slow run of the previous one still goes (a loaded machine) queues.
      { max_concurrent_runs: 100, concurrency_policy: 'queue' },
      { FAKE_MELTANO_LINES: '1' },
    ));
    await t.prisma.organization.update({
      where: { id: orgId },
      data: { maxConcurrentRuns: 100 },
    });
    const dep = `/orgs/${org}/projects/analytics/deployments/prod`;
    // Enabled through the API, comfortably before a minute boundary.
    if (nextMinute() - Date.now() < 15_000) await until(nextMinute());
    for (let i = 0; i < SCHEDULES; i++)
      await t.http
        .patch(`${dep}/schedules/every-minute-${i}`)
        .set('authorization', users.owner.bearer)
        .send({ enabled: true })
        .expect(200);
    firstTick = nextMinute();
  }, 180_000);
  afterAll(async () => {
    for (const worker of workers) await worker.stop();
    await t.close();
    repo.remove();
    rmSync(workdir, { recursive: true, force: true });
  });

  it('three workers, two ticks: exactly one run per schedule and tick, none run twice', async () => {
    const ticks = [firstTick, firstTick + MINUTE];
    await until(ticks[1]! + 5_000);
    const { rows, missing, duplicates } = await waitFor(
      async () => {
        const seen = await tickRows(ticks);
        return seen.rows.length >= SCHEDULES * ticks.length ? seen : null;
      },
      60_000,
      'a row for every tick',
    );
    const runs = await settled(rows.map((r) => r.id));
    const twice = await ranTwice(runs.map((r) => r.id));
    const byWorker = new Set(runs.map((r) => r.workerId?.split(':').at(-1)));
    report('three workers over every-minute schedules', {
      schedules: SCHEDULES,
      ticks: ticks.length,
      rows: rows.length,
      missing,
      duplicates,
      ran_twice: twice,
      not_succeeded: runs.filter((r) => r.status !== 'succeeded').length,
      not_succeeded_reasons:
        [
          ...new Set(
            runs
              .filter((r) => r.status !== 'succeeded')
              .map((r) => `${r.status}:${r.statusReason}`),
          ),
        ].join(' | ') || '-',
      workers_used: byWorker.size,
    });
    expect({ missing, duplicates, twice }).toEqual({ missing: 0, duplicates: 0, twice: 0 });
    expect(rows).toHaveLength(SCHEDULES * ticks.length);
    expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
  });

  it('Redis keys wiped just before a tick: the tick is recorded, schedules fire again, a queued run whose job vanished runs', async () => {
    const wipedTick = firstTick + 2 * MINUTE;
    const laterTick = firstTick + 3 * MINUTE;
    await until(wipedTick - 1_000);
    // A run queued in PostgreSQL whose queue job is gone with the keys.
    const orphan = await t.prisma.run.create({
      data: {
        organizationId: orgId,
        deploymentId,
        target: 'every-minute-0',
        trigger: 'api',
        commitSha: (await t.prisma.deployment.findUniqueOrThrow({ where: { id: deploymentId } }))
          .deployedCommitSha,
        timeoutSeconds: 600,
      },
    });
    const redis = new Redis(t.config.redis.url);
    let wiped = 0;
    try {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(
          cursor,
          'MATCH',
          `${t.config.redis.prefix}*`,
          'COUNT',
          1000,
        );
        cursor = next;
        if (keys.length) wiped += await redis.del(...keys);
      } while (cursor !== '0');
    } finally {
      redis.disconnect();
    }
    await until(laterTick + 5_000);
    const ticks = [wipedTick, laterTick];
    const { rows, missing, duplicates } = await waitFor(
      async () => {
        const seen = await tickRows(ticks);
        return seen.rows.length >= SCHEDULES * ticks.length ? seen : null;
      },
      60_000,
      'a row for every tick after the wipe',
    );
    const recordedMissed = rows.filter(
      (r) => r.tickAt?.getTime() === wipedTick && r.status === 'skipped',
    ).length;
    const finished = await settled([
      ...rows.filter((r) => r.tickAt?.getTime() === laterTick).map((r) => r.id),
      orphan.id,
    ]);
    const laterRuns = finished.filter((r) => r.tickAt?.getTime() === laterTick);
    const orphanRun = finished.find((r) => r.id === orphan.id)!;
    report('Redis keys wiped before a tick', {
      keys_wiped: wiped,
      missing,
      duplicates,
      wiped_tick_recorded_missed: recordedMissed,
      wiped_tick_ran: SCHEDULES - recordedMissed,
      later_tick_runs: laterRuns.filter((r) => r.status !== 'skipped').length,
      vanished_job_run: orphanRun.status,
      ran_twice: await ranTwice(finished.map((r) => r.id)),
    });
    expect(wiped).toBeGreaterThan(0);
    // Every tick has its row: a run, or the record of a missed tick.
    expect({ missing, duplicates }).toEqual({ missing: 0, duplicates: 0 });
    for (const row of rows.filter((r) => r.status === 'skipped'))
      expect(row.statusReason).toMatch(/missed/);
    // The rebuilt timers fire: the tick after the rebuild runs for every schedule.
    expect(laterRuns.filter((r) => r.status === 'succeeded')).toHaveLength(SCHEDULES);
    expect(orphanRun.status).toBe('succeeded');
    expect(await ranTwice(finished.map((r) => r.id))).toBe(0);
  });
});
