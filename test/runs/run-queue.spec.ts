import { randomUUID } from 'node:crypto';
import { QueueService } from '../../src/queue/queue.service.js';
import { RunQueue } from '../../src/runs/run-queue.js';
import { orgIdFromJob } from '../../src/database/org-id.js';
import { testConfig } from '../support/test-env.js';

/** The one way runs reach the worker, against real Redis: one `run.execute` job per run, whoever enqueues it. */
describe('RunQueue (real Redis)', () => {
  // No database is touched: the queue only needs Redis.
  const queues = new QueueService(testConfig('postgresql://unused@127.0.0.1:1/unused'));
  const runQueue = new RunQueue(queues);
  const orgId = orgIdFromJob({ organizationId: randomUUID() });
  const jobsOf = async (runId: string) =>
    (await queues.queue('runs').getJobs(['waiting', 'delayed', 'active', 'prioritized'])).filter(
      (j) => j.data.runId === runId,
    );

  afterAll(async () => {
    await queues.queue('runs').obliterate({ force: true });
    await queues.onModuleDestroy();
  });

  it('enqueueing the same run twice leaves exactly one job, with the run’s id', async () => {
    const runId = randomUUID();
    await runQueue.enqueue(orgId, runId);
    await runQueue.enqueue(orgId, runId);
    const jobs = await jobsOf(runId);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.id).toBe(`run-${runId}`);
    expect(jobs[0]!.data).toEqual({ organizationId: orgId, runId });
  });

  it('a delayed run enqueued again (the sweep, a second tick) stays one delayed job; waking it runs it now', async () => {
    const runId = randomUUID();
    await runQueue.enqueue(orgId, runId, 60_000);
    await runQueue.enqueue(orgId, runId);
    const [job, ...others] = await jobsOf(runId);
    expect(others).toHaveLength(0);
    expect(await job!.getState()).toBe('delayed');
    await runQueue.wake(orgId, runId);
    expect(await job!.getState()).toBe('waiting');
    expect(await jobsOf(runId)).toHaveLength(1);
  });

  it('waking a run whose job was lost enqueues it', async () => {
    const runId = randomUUID();
    await runQueue.wake(orgId, runId);
    expect(await jobsOf(runId)).toHaveLength(1);
  });
});
