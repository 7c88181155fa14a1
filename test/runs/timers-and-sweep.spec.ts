import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type RoleUsers, type SeededOrg } from '../support/fixtures.js';
import { waitFor } from '../support/git-repo.js';
import { startWorker, type RunningWorker } from '../../worker/worker.js';
import { QueueService } from '../../src/queue/queue.service.js';

/**
 * What a user notices of the timers and the sweep, through the public paths
 * only (the API, the queue, the real worker): enabling a schedule arms its
 * BullMQ job scheduler and disabling removes it; the housekeeping sweep
 * leaves alone the runs of a worker that is still alive.
 */
describe('schedule timers follow the API; the sweep spares live workers', () => {
  let t: TestApp;
  let worker: RunningWorker;
  let users: RoleUsers;
  let org: SeededOrg;
  let queues: QueueService;
  const scheduleUrl = () =>
    `/orgs/${org.orgSlug}/projects/${org.projectSlug}/deployments/${org.deploymentSlug}/schedules/${org.scheduleName}`;
  const timer = () => queues.queue('schedules').getJobScheduler(`schedule:${org.scheduleId}`);

  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000', GIT_BIN: 'false' });
    users = await createRoleUsers(t.prisma);
    org = await seedOrg(t.prisma, users);
    await t.prisma.deployment.update({
      where: { id: org.deploymentId },
      data: { deployedCommitSha: 'a'.repeat(40) },
    });
    worker = await startWorker(t.config, undefined, { watchdogMs: 60_000 });
    queues = worker.app.get(QueueService);
  });
  afterAll(async () => {
    await worker.stop();
    await t.close();
  });

  it('enabling a schedule through the API adds its job scheduler; disabling removes it', async () => {
    expect(await timer()).toBeUndefined();
    await t.http
      .patch(scheduleUrl())
      .set('Authorization', users.member.bearer)
      .send({ enabled: true })
      .expect(200);
    const armed = await waitFor(async () => (await timer()) ?? null, 10_000);
    expect(armed).toMatchObject({ pattern: '0 0 * * *' });
    await t.http
      .patch(scheduleUrl())
      .set('Authorization', users.member.bearer)
      .send({ enabled: false })
      .expect(200);
    await waitFor(async () => ((await timer()) === undefined ? true : null), 10_000);
    expect(await timer()).toBeUndefined();
  });

  it('the sweep leaves a live worker’s running run alone and fails a dead worker’s local run', async () => {
    const alive = `alive-${Date.now()}`;
    await queues.connection.set(
      `${queues.prefix}:worker:${alive}`,
      new Date().toISOString(),
      'EX',
      120,
    );
    const base = {
      organizationId: org.orgId,
      deploymentId: org.deploymentId,
      target: org.scheduleName,
      trigger: 'manual' as const,
      status: 'running' as const,
      executor: 'local',
      commitSha: 'a'.repeat(40),
      timeoutSeconds: 3600,
      admittedAt: new Date(),
      startedAt: new Date(),
    };
    const live = await t.prisma.run.create({ data: { ...base, workerId: alive } });
    const dead = await t.prisma.run.create({ data: { ...base, workerId: `gone-${Date.now()}` } });
    await queues.enqueue('maintenance.sweep', {});
    const ended = await waitFor(async () => {
      const row = await t.prisma.run.findUnique({ where: { id: dead.id } });
      return row && row.status !== 'running' ? row : null;
    }, 15_000);
    expect(ended.status).toBe('failed');
    const untouched = await t.prisma.run.findUniqueOrThrow({ where: { id: live.id } });
    expect(untouched).toMatchObject({ status: 'running', workerId: alive, finishedAt: null });
  });
});
