import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type SeededOrg } from '../support/fixtures.js';
import { waitFor } from '../support/git-repo.js';
import { startWorker } from '../../worker/worker.js';
import { QueueService } from '../../src/queue/queue.service.js';
import { SchedulerService } from '../../src/schedules/scheduler.service.js';
import { nextFireTimes } from '../../src/schedules/interval.js';
import { SystemRepository } from '../../src/database/system.repository.js';
import { ScheduleTimersRepository } from '../../src/schedules/schedule-timers.repository.js';
import { RunsRepository } from '../../src/runs/runs.repository.js';
import { RunFactory } from '../../src/runs/run-factory.js';
import { RunQueue } from '../../src/runs/run-queue.js';
import { RunEvents } from '../../src/runs/run-events.js';
import { BillingGate } from '../../src/billing/billing-gate.js';

/**
 * A full reconcile of many schedules at once (more than the upserts it keeps in flight): every
 * enabled schedule gets BullMQ's own job scheduler, a second reconcile changes nothing, and the
 * timers it made fire through BullMQ into runs.
 */
describe('reconcile of many schedules (real PostgreSQL and Redis)', () => {
  let t: TestApp;
  let org: SeededOrg;
  let queues: QueueService;
  const COUNT = 1_500;

  /** The worker's scheduler, built over the test process's database and queues. */
  function scheduler(): SchedulerService {
    const runs = new RunsRepository(t.prisma);
    return new SchedulerService(
      new SystemRepository(t.prisma),
      new ScheduleTimersRepository(t.prisma),
      runs,
      new RunFactory(runs),
      new RunQueue(queues),
      queues,
      new RunEvents(runs),
      t.app.get(BillingGate),
    );
  }

  beforeAll(async () => {
    t = await createTestApp({ GIT_BIN: 'false' });
    org = await seedOrg(t.prisma, await createRoleUsers(t.prisma));
    await t.prisma.deployment.update({
      where: { id: org.deploymentId },
      data: { deployedCommitSha: 'a'.repeat(40) },
    });
    await t.prisma.schedule.createMany({
      data: Array.from({ length: COUNT }, (_, i) => ({
        organizationId: org.orgId,
        deploymentId: org.deploymentId,
        name: `many-${i}`,
        interval: i % 2 ? '0 0 * * *' : '30 6 * * 1',
        cron: i % 2 ? '0 0 * * *' : '30 6 * * 1',
        timezone: i % 3 ? 'UTC' : 'Europe/Berlin',
        enabled: true,
      })),
    });
    queues = t.app.get(QueueService);
  });
  afterAll(async () => {
    await t.close();
  });

  const manySchedules = () =>
    t.prisma.schedule.findMany({
      where: { deploymentId: org.deploymentId, name: { startsWith: 'many-' } },
    });

  it('gives every enabled schedule its timer, on its cron and time zone, due at its next fire; a second reconcile changes nothing', async () => {
    const reconciler = scheduler();
    const schedules = await manySchedules();
    const first = await reconciler.reconcile();
    // The seeded schedules, plus those of seedOrg that fire on a timer.
    expect(first.upserted).toBeGreaterThanOrEqual(COUNT);
    expect(first.removed).toBe(0);
    const queue = queues.queue('schedules');
    const timers = new Map(
      (await queue.getJobSchedulers(0, -1)).map((timer) => [timer.key, timer] as const),
    );
    const delayed = new Map(
      (await queue.getDelayed(0, -1)).map((job) => [job.id ?? '', job] as const),
    );
    const now = new Date();
    for (const s of schedules) {
      const timer = timers.get(`schedule:${s.id}`);
      expect(timer).toMatchObject({ pattern: s.cron, tz: s.timezone });
      const next = nextFireTimes(s.cron!, s.timezone, now, 1)[0]!.getTime();
      expect(timer?.next).toBe(next);
      // BullMQ's own layout: the next tick waits as the delayed job `repeat:<scheduler>:<millis>`.
      expect(delayed.get(`repeat:schedule:${s.id}:${next}`)?.data).toEqual({
        organizationId: org.orgId,
        scheduleId: s.id,
      });
    }
    const delayedCount = delayed.size;

    const second = await reconciler.reconcile();
    expect(second).toEqual({ upserted: 0, removed: 0 });
    expect((await queue.getJobSchedulers(0, -1)).length).toBe(timers.size);
    expect(await queue.getDelayedCount()).toBe(delayedCount);

    // One schedule moved to another cron, one disabled: only they change.
    const [moved, disabled] = schedules;
    await t.prisma.schedule.update({ where: { id: moved!.id }, data: { cron: '15 3 * * *' } });
    await t.prisma.schedule.update({ where: { id: disabled!.id }, data: { enabled: false } });
    expect(await reconciler.reconcile()).toEqual({ upserted: 1, removed: 1 });
    expect(await queue.getJobScheduler(`schedule:${moved!.id}`)).toMatchObject({
      pattern: '15 3 * * *',
    });
    expect(await queue.getJobScheduler(`schedule:${disabled!.id}`)).toBeUndefined();
    expect(await queue.getDelayedCount()).toBe(delayedCount - 1);
  });

  it('a timer made by the reconcile fires through BullMQ into its run, and BullMQ queues its next tick', async () => {
    const [, , s] = await manySchedules();
    const queue = queues.queue('schedules');
    const next = await queue.getJob(
      `repeat:schedule:${s!.id}:${(await queue.getJobScheduler(`schedule:${s!.id}`))!.next}`,
    );
    expect(next).toBeDefined();
    const tickAt = new Date(Number(next!.id!.split(':').at(-1)));
    const worker = await startWorker(t.config);
    try {
      // The tick is due at midnight (or Monday): bring it forward; the worker takes it as an early tick.
      await next!.promote();
      const run = await waitFor(
        () => t.prisma.run.findFirst({ where: { scheduleId: s!.id, tickAt } }),
        15_000,
        'the run of the tick',
      );
      expect(run).toMatchObject({ trigger: 'schedule', status: expect.any(String) });
      const following = nextFireTimes(s!.cron!, s!.timezone, tickAt, 1)[0]!.getTime();
      await waitFor(
        () => queue.getJob(`repeat:schedule:${s!.id}:${following}`),
        10_000,
        'the next tick',
      );
    } finally {
      await worker.stop();
    }
  });
});
