import { QueueEvents } from 'bullmq';
import { ModulesContainer } from '@nestjs/core';
import { JobHandlerRegistry } from '../../src/queue/job-handlers.js';
import { jobNames } from '../../src/queue/jobs.js';
import { QueueService } from '../../src/queue/queue.service.js';
import { WorkerRuntime } from '../../worker/worker-runtime.js';
import { startWorker, type RunningWorker } from '../../worker/worker.js';
import { PrismaService } from '../../src/database/prisma.service.js';
import type { AppConfig } from '../../src/config/app-config.js';
import { createProdDeployment } from '../support/fixtures.js';
import { createTestDatabase, testConfig, type TestDatabase } from '../support/test-env.js';

describe('worker', () => {
  let db: TestDatabase;
  let config: AppConfig;
  beforeAll(async () => {
    db = await createTestDatabase();
    config = testConfig(db.url);
  });
  afterAll(() => db.drop());

  it('refuses to start when a declared job type has no handler, naming it', async () => {
    const registry = new JobHandlerRegistry();
    for (const name of jobNames.filter((n) => n !== 'run.execute'))
      registry.register(name, async () => undefined);
    expect(() => registry.assertComplete()).toThrow(/no handler for job type\(s\) run\.execute$/);
    // The runtime checks before it takes any job.
    const queues = new QueueService(testConfig(db.url));
    const runtime = new WorkerRuntime(config, queues, registry);
    await expect(runtime.start()).rejects.toThrow(
      /worker cannot start: no handler for job type\(s\) run\.execute/,
    );
    expect(runtime.running).toBe(false);
    registry.register('run.execute', async () => undefined);
    expect(() => registry.assertComplete()).not.toThrow();
    expect(() => registry.register('run.execute', async () => undefined)).toThrow(
      /already has a handler/,
    );
    await queues.onModuleDestroy();
  });

  describe('running against real Redis and PostgreSQL', () => {
    let worker: RunningWorker;
    beforeAll(async () => {
      worker = await startWorker(config);
    });
    afterAll(() => worker.stop());

    it('loads no HTTP controller: the worker context holds providers only', () => {
      const modules = [...worker.app.get(ModulesContainer).values()];
      const controllers = modules.flatMap((m) => [...m.controllers.keys()].map(String));
      expect(controllers).toEqual([]);
      // …while it does hold the domain modules it serves jobs for.
      expect(modules.map((m) => m.metatype.name)).toEqual(
        expect.arrayContaining(['ProjectsCoreModule', 'DeploysCoreModule', 'RunsWorkerModule']),
      );
    });

    it('processes a job end to end: the sweep deletes log lines past the organization retention', async () => {
      const prisma = worker.app.get(PrismaService);
      const org = await prisma.organization.create({
        data: {
          name: 'Acme',
          slug: 'acme',
          billingAccountNumber: 'MC-TEST-1',
          logRetentionDays: 7,
        },
      });
      const project = await prisma.project.create({
        data: { organizationId: org.id, name: 'p', slug: 'p', repository: 'acme/p' },
      });
      const deployment = await createProdDeployment(prisma, org.id, project.id);
      const run = await prisma.run.create({
        data: {
          organizationId: org.id,
          deploymentId: deployment.id,
          target: 'daily',
          trigger: 'manual',
          timeoutSeconds: 60,
        },
      });
      const day = 24 * 3600 * 1000;
      await prisma.runLogLine.createMany({
        data: [
          {
            organizationId: org.id,
            runId: run.id,
            seq: 1,
            timestamp: new Date(Date.now() - 10 * day),
            line: 'old',
          },
          {
            organizationId: org.id,
            runId: run.id,
            seq: 2,
            timestamp: new Date(Date.now() - day),
            line: 'recent',
          },
        ],
      });
      const queues = worker.app.get(QueueService);
      const events = new QueueEvents('maintenance', {
        connection: queues.createConnection('test-events'),
        prefix: queues.prefix,
      });
      await events.waitUntilReady();
      const job = await queues.queue('maintenance').add('maintenance.sweep', {});
      await job.waitUntilFinished(events, 10_000);
      await events.close();
      const lines = await prisma.runLogLine.findMany({ where: { runId: run.id } });
      expect(lines.map((l) => l.line)).toEqual(['recent']);
    });

    it('fails a job whose payload does not match its schema without retrying it', async () => {
      const queues = worker.app.get(QueueService);
      const events = new QueueEvents('maintenance', {
        connection: queues.createConnection('test-events-2'),
        prefix: queues.prefix,
      });
      await events.waitUntilReady();
      const job = await queues
        .queue('maintenance')
        .add('maintenance.sweep', { unexpected: 'x' }, { attempts: 5 });
      // zod objects strip unknown keys, so send a wrong type instead.
      const bad = await queues
        .queue('maintenance')
        .add('maintenance.sweep', 'not an object', { attempts: 5 });
      await job.waitUntilFinished(events, 10_000);
      await expect(bad.waitUntilFinished(events, 10_000)).rejects.toThrow(/invalid payload/);
      const failed = await queues.queue('maintenance').getJob(bad.id!);
      expect(failed?.attemptsMade).toBe(1);
      await events.close();
    });
  });

  it('drains on stop: a job in hand finishes before the worker exits, and no new job is taken', async () => {
    const queues = new QueueService(testConfig(db.url));
    const registry = new JobHandlerRegistry();
    const finished: string[] = [];
    let releaseJobs!: () => void;
    const released = new Promise<void>((r) => (releaseJobs = r));
    let jobStarted!: () => void;
    const started = new Promise<void>((r) => (jobStarted = r));
    for (const name of jobNames.filter((n) => n !== 'maintenance.sweep'))
      registry.register(name, async () => undefined);
    registry.register('maintenance.sweep', async (_payload, job) => {
      jobStarted();
      await released;
      finished.push(job.id ?? '');
    });
    const runtime = new WorkerRuntime(config, queues, registry);
    await runtime.start(['maintenance']);
    await queues.queue('maintenance').add('maintenance.sweep', {}, { jobId: 'drain-first' });
    await started;
    const stopping = runtime.stop();
    await queues.queue('maintenance').add('maintenance.sweep', {}, { jobId: 'drain-second' });
    setTimeout(releaseJobs, 300);
    await stopping;
    expect(finished).toEqual(['drain-first']);
    expect(await (await queues.queue('maintenance').getJob('drain-second'))?.getState()).toBe(
      'waiting',
    );
    await queues.onModuleDestroy();
  });

  it('holds the shutdown timeout: stop returns while a job in hand never finishes, and hands it back', async () => {
    const shortConfig = testConfig(db.url, { SHUTDOWN_TIMEOUT_MS: '200' });
    const queues = new QueueService(shortConfig);
    const registry = new JobHandlerRegistry();
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let jobStarted!: () => void;
    const started = new Promise<void>((r) => (jobStarted = r));
    let handlerDone = false;
    for (const name of jobNames.filter((n) => n !== 'maintenance.sweep'))
      registry.register(name, async () => undefined);
    registry.register('maintenance.sweep', async () => {
      jobStarted();
      await released; // a run that outlasts the timeout
      handlerDone = true;
    });
    const runtime = new WorkerRuntime(shortConfig, queues, registry);
    await runtime.start(['maintenance']);
    await queues.queue('maintenance').add('maintenance.sweep', {}, { jobId: 'outlasts-timeout' });
    await started;
    // A second close() on a BullMQ worker returns the first one: stop must not wait on it.
    await runtime.stop();
    expect(handlerDone).toBe(false);
    // Handed back unfinished: neither completed nor failed (the next worker takes it once our lock lapses).
    const job = await queues.queue('maintenance').getJob('outlasts-timeout');
    expect(await job?.getState()).toBe('active');
    release();
    for (let i = 0; i < 50 && (await job?.getState()) === 'active'; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(handlerDone).toBe(true);
    await queues.onModuleDestroy();
  });
});
