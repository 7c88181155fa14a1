import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type SeededOrg } from '../support/fixtures.js';
import { QueueService } from '../../src/queue/queue.service.js';
import { SchedulerService } from '../../src/schedules/scheduler.service.js';
import { SystemRepository } from '../../src/database/system.repository.js';
import { ScheduleTimersRepository } from '../../src/schedules/schedule-timers.repository.js';
import { RunsRepository } from '../../src/runs/runs.repository.js';
import { RunFactory } from '../../src/runs/run-factory.js';
import { RunQueue } from '../../src/runs/run-queue.js';
import { RunEvents } from '../../src/runs/run-events.js';
import { BillingGate } from '../../src/billing/billing-gate.js';
import type { OrgId } from '../../src/database/org-id.js';

/** A run queue that fails its first `failures` bulk adds: a worker that died between insert and enqueue. */
class FailingRunQueue extends RunQueue {
  constructor(
    queues: QueueService,
    private failures: number,
  ) {
    super(queues);
  }
  override async enqueueMany(
    runs: readonly { orgId: OrgId; runId: string; delayMs: number }[],
  ): Promise<void> {
    if (this.failures-- > 0) throw new Error('worker lost mid-batch');
    await super.enqueueMany(runs);
  }
}

describe('schedule ticks handled in batches (real PostgreSQL and Redis)', () => {
  let t: TestApp;
  let orgs: SeededOrg[];
  let queues: QueueService;
  const minute = 60_000;

  /** The worker's scheduler, built over the test process's database and queues (one per "worker"). */
  function scheduler(runQueue?: RunQueue): SchedulerService {
    const runs = new RunsRepository(t.prisma);
    return new SchedulerService(
      new SystemRepository(t.prisma),
      new ScheduleTimersRepository(t.prisma),
      runs,
      new RunFactory(runs),
      runQueue ?? new RunQueue(queues),
      queues,
      new RunEvents(runs),
      t.app.get(BillingGate),
    );
  }

  async function everyMinuteSchedules(org: SeededOrg, count: number, prefix: string) {
    await t.prisma.schedule.createMany({
      data: Array.from({ length: count }, (_, i) => ({
        organizationId: org.orgId,
        deploymentId: org.deploymentId,
        name: `${prefix}-${i}`,
        interval: '* * * * *',
        cron: '* * * * *',
        enabled: true,
      })),
    });
    return t.prisma.schedule.findMany({
      where: { deploymentId: org.deploymentId, name: { startsWith: `${prefix}-` } },
    });
  }

  async function runJobExists(runId: string): Promise<boolean> {
    return Boolean(await queues.queue('runs').getJob(`run-${runId}`));
  }

  beforeAll(async () => {
    t = await createTestApp();
    const users = await createRoleUsers(t.prisma);
    orgs = [await seedOrg(t.prisma, users), await seedOrg(t.prisma, users)];
    queues = t.app.get(QueueService);
  });
  afterAll(async () => {
    await t.close();
  });

  it('several workers handling the same ticks of many schedules at once: exactly one run per tick, each queued', async () => {
    const a = await everyMinuteSchedules(orgs[0]!, 150, 'many');
    const b = await everyMinuteSchedules(orgs[1]!, 150, 'many');
    const tickAt = new Date(Math.floor(Date.now() / minute) * minute);
    const workers = [scheduler(), scheduler(), scheduler()];
    // Every tick delivered to every worker (redeliveries), interleaved.
    await Promise.all(
      [...a, ...b].flatMap((s) =>
        workers.map((w) => w.tick(s.organizationId as OrgId, s.id, tickAt)),
      ),
    );
    const runs = await t.prisma.run.findMany({
      where: { scheduleId: { in: [...a, ...b].map((s) => s.id) } },
    });
    expect(runs).toHaveLength(300);
    expect(new Set(runs.map((r) => r.scheduleId)).size).toBe(300);
    for (const run of runs) {
      expect(run).toMatchObject({ status: 'queued', trigger: 'schedule', tickAt });
      const schedule = [...a, ...b].find((s) => s.id === run.scheduleId)!;
      expect(run.organizationId).toBe(schedule.organizationId);
    }
    const jobs = await Promise.all(runs.map((r) => runJobExists(r.id)));
    expect(jobs.every(Boolean)).toBe(true);
    // The schedules have accounted for the tick: a later redelivery creates nothing.
    await workers[0]!.tick(a[0]!.organizationId as OrgId, a[0]!.id, tickAt);
    expect(await t.prisma.run.count({ where: { scheduleId: a[0]!.id } })).toBe(1);
  });

  it('a tick naming another organization than its schedule’s creates nothing', async () => {
    const [s] = await everyMinuteSchedules(orgs[0]!, 1, 'cross');
    const tickAt = new Date(Math.floor(Date.now() / minute) * minute);
    await scheduler().tick(orgs[1]!.orgId as OrgId, s!.id, tickAt);
    expect(await t.prisma.run.count({ where: { scheduleId: s!.id } })).toBe(0);
  });

  it('reads the schedules of a batch as Prisma reads them, and moves their last tick forward only', async () => {
    const schedules = await everyMinuteSchedules(orgs[0]!, 3, 'read');
    const system = new SystemRepository(t.prisma);
    const earlier = new Date('2026-01-01T00:00:00Z');
    const later = new Date('2026-01-01T00:05:00Z');
    await t.prisma.schedule.update({
      where: { id: schedules[2]!.id },
      data: { lastTickAt: later, env: [['A', '1']], offsetSeconds: 7, archivedAt: earlier },
    });
    await system.advanceSchedulesAcrossTenants(
      schedules.map((s) => ({ scheduleId: s.id, tickAt: earlier })),
    );
    const read = await system.tickSchedulesAcrossTenants(
      schedules.map((s) => ({ organizationId: orgs[0]!.orgId as OrgId, scheduleId: s.id })),
    );
    const byPrisma = await t.prisma.schedule.findMany({
      where: { id: { in: schedules.map((s) => s.id) } },
      include: { deployment: { include: { organization: true } } },
    });
    const byId = (xs: { id: string }[]) => [...xs].sort((a, b) => a.id.localeCompare(b.id));
    expect(byId(read)).toEqual(byId(byPrisma));
    // Advanced to the tick, except the one already past it (never moved back).
    expect(byPrisma.map((s) => s.lastTickAt?.toISOString()).sort()).toEqual([
      earlier.toISOString(),
      earlier.toISOString(),
      later.toISOString(),
    ]);
  });

  it('reads a run with its deployment, project, organization and schedule as Prisma does', async () => {
    const [s] = await everyMinuteSchedules(orgs[1]!, 1, 'context');
    const tickAt = new Date(Math.floor(Date.now() / minute) * minute);
    await scheduler().tick(orgs[1]!.orgId as OrgId, s!.id, tickAt);
    const ofTick = await t.prisma.run.findFirstOrThrow({ where: { scheduleId: s!.id } });
    const manual = await t.prisma.run.create({
      data: {
        organizationId: orgs[1]!.orgId,
        deploymentId: orgs[1]!.deploymentId,
        target: 'load',
        jobName: 'load',
        trigger: 'api',
        timeoutSeconds: 60,
        stateIds: ['dev:tap-a-to-target-b'],
      },
    });
    const runs = new RunsRepository(t.prisma);
    for (const run of [ofTick, manual]) {
      const byPrisma = await t.prisma.run.findUniqueOrThrow({
        where: { id: run.id },
        include: { deployment: { include: { project: true, organization: true } }, schedule: true },
      });
      expect(await runs.findWithContext(orgs[1]!.orgId as OrgId, run.id)).toEqual(byPrisma);
    }
    expect((await runs.findWithContext(orgs[1]!.orgId as OrgId, manual.id))?.schedule).toBeNull();
    // Another organization's run is not found.
    expect(await runs.findWithContext(orgs[0]!.orgId as OrgId, manual.id)).toBeNull();
  });

  it('a worker dying between the insert and the enqueue loses no run: the retried tick enqueues it', async () => {
    const schedules = await everyMinuteSchedules(orgs[0]!, 20, 'dies');
    const tickAt = new Date(Math.floor(Date.now() / minute) * minute);
    const dying = scheduler(new FailingRunQueue(queues, 1));
    const ticks = schedules.map((s) =>
      dying.tick(s.organizationId as OrgId, s.id, tickAt).then(
        () => 'ok',
        (err: Error) => err.message,
      ),
    );
    // The whole batch fails, so every tick's job would be retried by the queue.
    expect(new Set(await Promise.all(ticks))).toEqual(new Set(['worker lost mid-batch']));
    const recorded = await t.prisma.run.findMany({
      where: { scheduleId: { in: schedules.map((s) => s.id) } },
    });
    expect(recorded).toHaveLength(20);
    expect((await Promise.all(recorded.map((r) => runJobExists(r.id)))).some(Boolean)).toBe(false);
    // The schedules did not account for the tick, so the retry (on another worker) handles it.
    const retry = scheduler();
    await Promise.all(schedules.map((s) => retry.tick(s.organizationId as OrgId, s.id, tickAt)));
    const after = await t.prisma.run.findMany({
      where: { scheduleId: { in: schedules.map((s) => s.id) } },
    });
    expect(after.map((r) => r.id).sort()).toEqual(recorded.map((r) => r.id).sort());
    expect((await Promise.all(after.map((r) => runJobExists(r.id)))).every(Boolean)).toBe(true);
  });

  it('records missed ticks and skips a tick whose previous run still goes, in the same batch as normal ticks', async () => {
    const org = orgs[1]!;
    const before = await t.prisma.deployment.findUniqueOrThrow({ where: { id: org.deploymentId } });
    await t.prisma.deployment.update({
      where: { id: org.deploymentId },
      data: { concurrencyPolicy: 'skip', missedRunPolicy: 'skip' },
    });
    try {
      const [busy, late, normal] = await everyMinuteSchedules(org, 3, 'mixed');
      const tickAt = new Date(Math.floor(Date.now() / minute) * minute);
      await t.prisma.run.create({
        data: {
          organizationId: org.orgId,
          deploymentId: org.deploymentId,
          scheduleId: busy!.id,
          target: busy!.name,
          trigger: 'schedule',
          status: 'running',
          timeoutSeconds: 60,
        },
      });
      // `late` was accounted for up to five minutes before this tick, which reaches the worker 3 minutes late.
      await t.prisma.schedule.update({
        where: { id: late!.id },
        data: { lastTickAt: new Date(tickAt.getTime() - 5 * minute) },
      });
      const s = scheduler();
      const now = new Date(tickAt.getTime() + 3 * minute);
      await Promise.all([
        s.tick(org.orgId as OrgId, busy!.id, tickAt),
        s.tick(org.orgId as OrgId, late!.id, tickAt, now),
        s.tick(org.orgId as OrgId, normal!.id, tickAt),
      ]);
      const busyRuns = await t.prisma.run.findMany({ where: { scheduleId: busy!.id, tickAt } });
      expect(busyRuns).toEqual([
        expect.objectContaining({
          status: 'skipped',
          statusReason: 'skipped: the previous run of this schedule was still in progress',
        }),
      ]);
      const missed = await t.prisma.run.findMany({
        where: { scheduleId: late!.id },
        orderBy: { tickAt: 'asc' },
      });
      // Every tick after the last accounted one and older than 90 s at `now` is recorded as missed:
      // from four minutes before this tick to the one after it.
      expect(missed.map((r) => r.tickAt!.getTime() - tickAt.getTime())).toEqual(
        [-4, -3, -2, -1, 0, 1].map((m) => m * minute),
      );
      expect(new Set(missed.map((r) => r.status))).toEqual(new Set(['skipped']));
      expect(missed[0]!.statusReason).toMatch(/^missed: no worker was running at /);
      expect(await t.prisma.run.findMany({ where: { scheduleId: normal!.id } })).toEqual([
        expect.objectContaining({ status: 'queued', tickAt }),
      ]);
    } finally {
      await t.prisma.deployment.update({
        where: { id: org.deploymentId },
        data: {
          concurrencyPolicy: before.concurrencyPolicy,
          missedRunPolicy: before.missedRunPolicy,
        },
      });
    }
  });
});
