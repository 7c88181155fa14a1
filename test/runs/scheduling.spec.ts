import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type SeededOrg } from '../support/fixtures.js';
import { waitFor } from '../support/git-repo.js';
import { startWorker, type RunningWorker } from '../../worker/worker.js';
import { QueueService } from '../../src/queue/queue.service.js';
import { SchedulerService } from '../../src/schedules/scheduler.service.js';
import { RunSweep } from '../../src/runs/run-sweep.js';
import { WorkerHeartbeat } from '../../src/runs/worker-heartbeat.js';
import type { OrgId } from '../../src/database/org-id.js';

describe('scheduling with real Redis and BullMQ', () => {
  let t: TestApp;
  let worker: RunningWorker;
  let org: SeededOrg;
  let queues: QueueService;
  const schedulerId = () => `schedule:${org.scheduleId}`;
  const orgId = () => org.orgId as OrgId;

  beforeAll(async () => {
    // The runs these ticks create clone a repository that does not exist: they fail fast, which is all we need here.
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000', GIT_BIN: 'false' });
    org = await seedOrg(t.prisma, await createRoleUsers(t.prisma));
    await t.prisma.deployment.update({
      where: { id: org.deploymentId },
      data: { deployedCommitSha: 'a'.repeat(40), maxConcurrentRuns: 5 },
    });
    await t.prisma.schedule.update({
      where: { id: org.scheduleId },
      data: { enabled: true, timezone: 'Europe/Berlin' },
    });
    worker = await startWorker(t.config, undefined, { watchdogMs: 300 });
    queues = worker.app.get(QueueService);
  });
  afterAll(async () => {
    await worker.stop();
    await t.close();
  });

  it('keeps one BullMQ job scheduler per enabled schedule, with its cron and timezone', async () => {
    const scheduler = await queues.queue('schedules').getJobScheduler(schedulerId());
    expect(scheduler).toMatchObject({ pattern: '0 0 * * *', tz: 'Europe/Berlin' });
    // The invalid schedule has no timer.
    const all = await queues.queue('schedules').getJobSchedulers();
    expect(all.map((s) => s.key)).toEqual([schedulerId()]);
  });

  it('a tick fires a run through the queue, exactly once even when delivered twice', async () => {
    const queue = queues.queue('schedules');
    const delayed = await queue.getDelayed();
    const next = delayed.find((j) => j.id?.startsWith(`repeat:${schedulerId()}:`));
    expect(next).toBeDefined();
    const tickAt = Number(next!.id!.split(':').at(-1));
    // Bring the tick forward to now (its time would be midnight) so it fires within the test.
    await t.prisma.schedule.update({ where: { id: org.scheduleId }, data: { lastTickAt: null } });
    const scheduler = worker.app.get(SchedulerService);
    const now = new Date(tickAt + 1000);
    // Two workers handling the same tick at once (a redelivery): the database lets one run through.
    await Promise.all([
      scheduler.tick(orgId(), org.scheduleId, new Date(tickAt), now),
      scheduler.tick(orgId(), org.scheduleId, new Date(tickAt), now),
    ]);
    const runs = await t.prisma.run.findMany({
      where: { scheduleId: org.scheduleId, tickAt: new Date(tickAt) },
    });
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      trigger: 'schedule',
      target: 'daily load',
      commitSha: 'a'.repeat(40),
    });
    // The run waits in the queue for its tick; bring it forward, and the worker takes it to a true
    // final status (the clone fails: git is `false` here).
    const runJob = await waitFor(
      async () =>
        (await queues.queue('runs').getDelayed()).find((j) => j.data.runId === runs[0]!.id),
      5000,
      'run job',
    );
    await runJob.promote();
    const done = await waitFor(
      async () => {
        const r = await t.prisma.run.findUniqueOrThrow({ where: { id: runs[0]!.id } });
        return r.status === 'failed' ? r : null;
      },
      15_000,
      'tick run to end',
    );
    expect(done.statusReason).toMatch(/clone/);
  });

  it('a second worker handling the same tick does not double it', async () => {
    const second = await startWorker(t.config);
    try {
      const tick = new Date(Math.floor(Date.now() / 60_000) * 60_000);
      await t.prisma.schedule.update({ where: { id: org.scheduleId }, data: { lastTickAt: null } });
      await Promise.all([
        worker.app.get(SchedulerService).tick(orgId(), org.scheduleId, tick),
        second.app.get(SchedulerService).tick(orgId(), org.scheduleId, tick),
      ]);
      expect(
        await t.prisma.run.count({ where: { scheduleId: org.scheduleId, tickAt: tick } }),
      ).toBe(1);
    } finally {
      await second.stop();
    }
  });

  it('a tick processed by the real worker from the BullMQ scheduler creates its run', async () => {
    const queue = queues.queue('schedules');
    await t.prisma.schedule.update({ where: { id: org.scheduleId }, data: { lastTickAt: null } });
    const next = (await queue.getDelayed()).find((j) =>
      j.id?.startsWith(`repeat:${schedulerId()}:`),
    );
    const tickAt = new Date(Number(next!.id!.split(':').at(-1)));
    // The handler treats a tick older than 90 s as missed; a tick in the future is simply early. Promote it.
    await next!.promote();
    const run = await waitFor(
      () => t.prisma.run.findFirst({ where: { scheduleId: org.scheduleId, tickAt } }),
      10_000,
      'scheduled run',
    );
    expect(run.trigger).toBe('schedule');
    // BullMQ has already queued the following tick.
    await waitFor(
      async () =>
        (await queue.getDelayed()).some(
          (j) => j.id !== next!.id && j.id?.startsWith(`repeat:${schedulerId()}:`),
        ),
      5000,
      'next tick',
    );
  });

  it('rebuilds the timers when Redis loses everything', async () => {
    const redis = queues.connection;
    const keys = await redis.keys(`${queues.prefix}:*`);
    await redis.del(...keys);
    expect(await queues.queue('schedules').getJobScheduler(schedulerId())).toBeUndefined();
    const rebuilt = await waitFor(
      () => queues.queue('schedules').getJobScheduler(schedulerId()),
      10_000,
      'timers rebuilt',
    );
    expect(rebuilt).toMatchObject({ pattern: '0 0 * * *' });
  });

  it('records the ticks that fell while Redis had lost its state, and runs what lost its job', async () => {
    const minute = 60_000;
    await t.prisma.deployment.update({
      where: { id: org.deploymentId },
      data: { missedRunPolicy: 'skip' },
    });
    // Accounted for up to the previous minute: this minute's tick fell while the timers were gone.
    const thisMinute = Math.floor(Date.now() / minute) * minute;
    const everyMinute = await t.prisma.schedule.create({
      data: {
        organizationId: org.orgId,
        deploymentId: org.deploymentId,
        name: 'every minute',
        interval: '* * * * *',
        cron: '* * * * *',
        enabled: true,
        lastTickAt: new Date(thisMinute - minute),
      },
    });
    // A queued run whose queue job goes with Redis (its age is under the sweep's usual minute).
    const queued = await t.prisma.run.create({
      data: {
        organizationId: org.orgId,
        deploymentId: org.deploymentId,
        target: 'daily load',
        trigger: 'manual',
        status: 'queued',
        timeoutSeconds: 60,
      },
    });
    const redis = queues.connection;
    await redis.del(...(await redis.keys(`${queues.prefix}:*`)));
    // The tick is younger than the 90 s after which the housekeeping would count it missed, and
    // the rebuilt timer only fires from the next minute on: only the watchdog's catch-up records it.
    const missed = await waitFor(
      () =>
        t.prisma.run.findFirst({
          where: { scheduleId: everyMinute.id, tickAt: new Date(thisMinute) },
        }),
      10_000,
      'the tick missed while Redis had lost its state',
    );
    expect(missed.status).toBe('skipped');
    expect(missed.statusReason).toMatch(/^missed: Redis had lost its timers at /);
    // The queued run's job is back, and the worker takes it to a final status (the clone fails).
    const ran = await waitFor(
      async () => {
        const r = await t.prisma.run.findUniqueOrThrow({ where: { id: queued.id } });
        return r.status === 'failed' ? r : null;
      },
      15_000,
      'the queued run to run',
    );
    expect(ran.statusReason).toMatch(/clone/);
    await t.prisma.schedule.update({ where: { id: everyMinute.id }, data: { enabled: false } });
  });

  it('records ticks missed while no worker ran, and runs the latest once late when the deployment says so', async () => {
    const scheduler = worker.app.get(SchedulerService);
    const hour = 3600_000;
    const thisHour = Math.floor(Date.now() / hour) * hour;
    // The policy is set before the schedule exists: the worker's own housekeeping may catch up
    // its missed ticks at any moment, and must do so under the policy the test asserts.
    await t.prisma.deployment.update({
      where: { id: org.deploymentId },
      data: { missedRunPolicy: 'run_once' },
    });
    const hourly = await t.prisma.schedule.create({
      data: {
        organizationId: org.orgId,
        deploymentId: org.deploymentId,
        name: 'hourly',
        interval: '@hourly',
        cron: '0 * * * *',
        enabled: true,
        lastTickAt: new Date(thisHour - 4 * hour),
      },
    });
    // A worker comes back and BullMQ hands it a tick long past its time.
    await scheduler.tick(orgId(), hourly.id, new Date(thisHour - hour));
    const runs = await t.prisma.run.findMany({
      where: { scheduleId: hourly.id },
      orderBy: { tickAt: 'asc' },
    });
    expect(runs.length).toBeGreaterThanOrEqual(3);
    const last = runs.at(-1)!;
    for (const missed of runs.slice(0, -1)) {
      expect(missed.status).toBe('skipped');
      expect(missed.statusReason).toMatch(/^missed: no worker was running/);
    }
    expect(last.status).not.toBe('skipped');
    expect(last.waitingReason).toMatch(/^late: missed at/);
    expect(runs.map((r) => r.tickAt!.getTime())).toEqual(
      runs.map((_r, i) => thisHour - (3 - i) * hour).slice(0, runs.length),
    );
    // Catching up again changes nothing: each tick is accounted for once.
    await scheduler.catchUpMissed();
    expect(await t.prisma.run.count({ where: { scheduleId: hourly.id } })).toBe(runs.length);
    await t.prisma.schedule.update({ where: { id: hourly.id }, data: { enabled: false } });
  });

  it('skips a tick while the previous run of the schedule is still going (default policy)', async () => {
    const scheduler = worker.app.get(SchedulerService);
    const s = await t.prisma.schedule.create({
      data: {
        organizationId: org.orgId,
        deploymentId: org.deploymentId,
        name: 'busy',
        interval: '@hourly',
        cron: '0 * * * *',
        enabled: true,
      },
    });
    await t.prisma.deployment.update({
      where: { id: org.deploymentId },
      data: { concurrencyPolicy: 'skip' },
    });
    await t.prisma.run.create({
      data: {
        organizationId: org.orgId,
        deploymentId: org.deploymentId,
        scheduleId: s.id,
        target: 'busy',
        trigger: 'schedule',
        status: 'running',
        timeoutSeconds: 60,
        workerId: worker.app.get(WorkerHeartbeat).workerId,
      },
    });
    const tick = new Date(Date.now() - 1000);
    await scheduler.tick(orgId(), s.id, tick);
    const skipped = await t.prisma.run.findFirstOrThrow({
      where: { scheduleId: s.id, tickAt: tick },
    });
    expect(skipped.status).toBe('skipped');
    expect(skipped.statusReason).toMatch(/previous run of this schedule was still in progress/);
    await t.prisma.run.updateMany({
      where: { scheduleId: s.id, status: 'running' },
      data: { status: 'succeeded' },
    });
  });

  it('fails the runs of a worker that died (local executor) with reason "worker lost"', async () => {
    const orphan = await t.prisma.run.create({
      data: {
        organizationId: org.orgId,
        deploymentId: org.deploymentId,
        target: 'daily load',
        trigger: 'manual',
        status: 'running',
        timeoutSeconds: 60,
        workerId: 'crashed-host:4242',
        executor: 'local',
        executorRef: 'crashed-host:/tmp/nowhere/run-x-00000000',
        startedAt: new Date(),
      },
    });
    await worker.app.get(RunSweep).sweep();
    const after = await waitFor(
      async () => {
        const r = await t.prisma.run.findUniqueOrThrow({ where: { id: orphan.id } });
        return r.status === 'failed' ? r : null;
      },
      10_000,
      'orphaned run to fail',
    );
    expect(after.statusReason).toMatch(/^worker lost/);
  });
});
