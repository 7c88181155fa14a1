import { createTestApp, type TestApp } from '../support/test-app.js';
import {
  createProdDeployment,
  createRoleUsers,
  seedOrg,
  type SeededOrg,
} from '../support/fixtures.js';
import { QueueService } from '../../src/queue/queue.service.js';
import { Transactions } from '../../src/database/transactions.js';
import { RunsRepository } from '../../src/runs/runs.repository.js';
import { RunAdmission } from '../../src/runs/run-admission.js';
import { RunQueue } from '../../src/runs/run-queue.js';
import type { OrgId } from '../../src/database/org-id.js';

/** Admission past the limits, many at once, as several workers would (real PostgreSQL). */
describe('run admission under concurrency (real PostgreSQL)', () => {
  let t: TestApp;
  let org: SeededOrg;
  let runs: RunsRepository;
  const admissions = () =>
    // One RunAdmission per "worker": nothing shared in process between them but PostgreSQL.
    new RunAdmission(runs, t.app.get(Transactions), new RunQueue(t.app.get(QueueService)));

  beforeAll(async () => {
    t = await createTestApp();
    org = await seedOrg(t.prisma, await createRoleUsers(t.prisma));
    runs = new RunsRepository(t.prisma);
  });
  afterAll(async () => {
    await t.close();
  });

  async function queuedRuns(deploymentId: string, jobs: string[]) {
    const created = [];
    for (const job of jobs)
      created.push(
        await t.prisma.run.create({
          data: {
            organizationId: org.orgId,
            deploymentId,
            target: job,
            jobName: job,
            trigger: 'api',
            timeoutSeconds: 600,
          },
        }),
      );
    return created;
  }

  it('holds the organization and deployment limits exactly, and runs of one job one at a time', async () => {
    const orgId = org.orgId as OrgId;
    await t.prisma.organization.update({ where: { id: orgId }, data: { maxConcurrentRuns: 5 } });
    await t.prisma.deployment.update({
      where: { id: org.deploymentId },
      data: { maxConcurrentRuns: 3 },
    });
    const other = await createProdDeployment(t.prisma, orgId, org.projectId, {
      slug: 'other',
      name: 'other',
      status: 'ready',
      deployedCommitSha: 'e'.repeat(40),
      maxConcurrentRuns: 10,
    });
    // 8 runs of distinct jobs on the limited deployment, 8 on the other, 2 of one job on the other.
    const limited = await queuedRuns(
      org.deploymentId,
      Array.from({ length: 8 }, (_, i) => `a${i}`),
    );
    const free = await queuedRuns(other.id, [
      ...Array.from({ length: 8 }, (_, i) => `b${i}`),
      'same',
      'same',
    ]);
    const all = [...limited, ...free];
    const workers = [admissions(), admissions(), admissions()];
    const results = await Promise.all(
      all.flatMap((run) =>
        workers.map(async (w) => {
          const withContext = await runs.findWithContext(orgId, run.id);
          return w.admit(orgId, withContext!, { workerId: 'w', executor: 'local' });
        }),
      ),
    );
    const after = await t.prisma.run.findMany({ where: { id: { in: all.map((r) => r.id) } } });
    const started = after.filter((r) => r.status === 'starting');
    // Every admission past the limits is one run starting, and each run starts once.
    expect(results.filter((r) => r.outcome === 'admitted')).toHaveLength(started.length);
    expect(started).toHaveLength(5);
    expect(started.filter((r) => r.deploymentId === org.deploymentId).length).toBeLessThanOrEqual(
      3,
    );
    expect(started.filter((r) => r.jobName === 'same').length).toBeLessThanOrEqual(1);
    for (const result of results)
      if (result.outcome === 'admitted')
        // The admitted run is handed on as it now is (not read again).
        expect(result.run).toMatchObject({ status: 'starting', workerId: 'w', executor: 'local' });
    const waiting = after.filter((r) => r.status === 'queued');
    expect(waiting).toHaveLength(all.length - 5);
    for (const run of waiting) expect(run.waitingReason).toMatch(/^waiting: /);
  });

  it('a run of a job in flight waits for it, saying so, while another job of the deployment starts', async () => {
    const orgId = org.orgId as OrgId;
    await t.prisma.run.updateMany({
      where: { organizationId: orgId, status: { in: ['queued', 'starting'] } },
      data: { status: 'cancelled', finishedAt: new Date() },
    });
    await t.prisma.organization.update({ where: { id: orgId }, data: { maxConcurrentRuns: 10 } });
    const [first, second, third] = await queuedRuns(org.deploymentId, ['load', 'load', 'other']);
    const admission = admissions();
    const admit = async (id: string) =>
      admission.admit(orgId, (await runs.findWithContext(orgId, id))!, {
        workerId: 'w',
        executor: 'local',
      });
    expect((await admit(first!.id)).outcome).toBe('admitted');
    expect((await admit(second!.id)).outcome).toBe('wait');
    expect((await admit(third!.id)).outcome).toBe('admitted');
    const waiting = await t.prisma.run.findUniqueOrThrow({ where: { id: second!.id } });
    expect(waiting).toMatchObject({ status: 'queued' });
    expect(waiting.waitingReason).toBe(
      `waiting: run ${first!.id} of this deployment is writing the Meltano state of job 'load'; Meltano runs one pipeline per state id at a time`,
    );
    // A run taken meanwhile (by another worker, or cancelled) is not admitted again.
    expect((await admit(first!.id)).outcome).toBe('taken');
  });
});
