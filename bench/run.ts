/**
 * `npm run bench`: throughput and latency of the real stack on this machine,
 * written to bench/RESULTS.md. Machines are shared and noisy: each figure is
 * the median of several rounds, and ratios matter more than absolutes.
 */
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { createApiApp } from '../src/app.js';
import { loadConfig } from '../src/config/app-config.js';
import {
  applyMigrations,
  dropDatabase,
  ensureDatabase,
  withDatabaseName,
} from '../src/database/migrator.js';
import { PrismaService } from '../src/database/prisma.service.js';
import { QueueService } from '../src/queue/queue.service.js';
import { JobHandlerRegistry } from '../src/queue/job-handlers.js';
import { jobNames } from '../src/queue/jobs.js';
import { WorkerRuntime } from '../worker/worker-runtime.js';
import { TOKEN_PREFIX, hashToken, visiblePrefix } from '../src/auth/credentials.js';
import { SchedulerService } from '../src/schedules/scheduler.service.js';
import { ScheduleTimersRepository } from '../src/schedules/schedule-timers.repository.js';
import { SystemRepository } from '../src/database/system.repository.js';
import { RunEvents } from '../src/runs/run-events.js';
import { RunFactory } from '../src/runs/run-factory.js';
import { RunQueue } from '../src/runs/run-queue.js';
import { RunsRepository } from '../src/runs/runs.repository.js';
import { BillingGate } from '../src/billing/billing-gate.js';
import { BillingRepository } from '../src/billing/billing.repository.js';
import { UsageLedgerRepository } from '../src/billing/usage-ledger.repository.js';

const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const round = (x: number, digits = 0): number => Number(x.toFixed(digits));

async function http(url: string, headers: Record<string, string>, seconds: number) {
  const result = await autocannon({ url, connections: 50, duration: seconds, headers });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.non2xx,
  };
}

async function main(): Promise<void> {
  const server = process.env.BENCH_DATABASE_URL ?? 'postgresql://root@127.0.0.1:5432/postgres';
  const dbUrl = withDatabaseName(server, `mc_bench_${randomBytes(3).toString('hex')}`);
  await ensureDatabase(dbUrl);
  await applyMigrations(dbUrl);
  const config = loadConfig({
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: dbUrl,
    REDIS_PREFIX: `mcbench_${randomBytes(3).toString('hex')}`,
    RATE_LIMIT_PER_MINUTE: '100000000',
    WORKER_CONCURRENCY: '50',
  });
  const lines: string[] = [];
  const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
  const seconds = Number(process.env.BENCH_SECONDS ?? 5);
  try {
    // --- HTTP -----------------------------------------------------------------
    const app = await createApiApp(config);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = await app.getUrl();
    const prisma = app.get(PrismaService);
    const user = await prisma.user.create({ data: { login: 'bench' } });
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    await prisma.apiToken.create({
      data: {
        userId: user.id,
        name: 'bench',
        prefix: visiblePrefix(token),
        tokenHash: hashToken(token),
      },
    });
    const org = await prisma.organization.create({
      data: { name: 'Bench', slug: 'bench', billingAccountNumber: 'MC-BENCH' },
    });
    await prisma.membership.create({
      data: { organizationId: org.id, userId: user.id, role: 'owner' },
    });
    for (let i = 0; i < 60; i++) {
      await prisma.project.create({
        data: {
          organizationId: org.id,
          name: `p${i}`,
          slug: `p-${String(i).padStart(3, '0')}`,
          repository: 'acme/x',
        },
      });
    }
    const auth = { authorization: `Bearer ${token}` };
    const healthz = [];
    const projects = [];
    for (let r = 0; r < rounds; r++) {
      healthz.push(await http(`${base}/healthz`, {}, seconds));
      projects.push(await http(`${base}/orgs/bench/projects?page_size=50`, auth, seconds));
    }
    const rssAfterLoad = process.memoryUsage().rss;
    lines.push(
      '## HTTP (Fastify adapter, 50 connections, loopback, load generator in the same process)',
      '',
      '| route | req/s (median) | p50 ms | p99 ms | errors |',
      '| --- | --- | --- | --- | --- |',
      `| GET /healthz | ${round(median(healthz.map((h) => h.rps)))} | ${median(healthz.map((h) => h.p50))} | ${median(healthz.map((h) => h.p99))} | ${healthz.reduce((a, h) => a + h.errors, 0)} |`,
      `| GET /orgs/:org/projects (token auth, rate limit in Redis, org access, 50 rows) | ${round(median(projects.map((h) => h.rps)))} | ${median(projects.map((h) => h.p50))} | ${median(projects.map((h) => h.p99))} | ${projects.reduce((a, h) => a + h.errors, 0)} |`,
      '',
      `Process RSS after the HTTP rounds (API + load generator): ${round(rssAfterLoad / 1024 / 1024)} MB.`,
      '',
    );

    // --- Queue ------------------------------------------------------------------
    const queues = app.get(QueueService);
    const registry = new JobHandlerRegistry();
    let done = 0;
    for (const name of jobNames) registry.register(name, async () => void done++);
    const runtime = new WorkerRuntime(config, queues, registry);
    await runtime.start(['maintenance']);
    const jobs = 5000;
    const rates: number[] = [];
    for (let r = 0; r < rounds; r++) {
      done = 0;
      const started = Date.now();
      const batch = Array.from({ length: jobs }, () => ({
        name: 'maintenance.sweep',
        data: {},
        opts: { removeOnComplete: true },
      }));
      await queues.queue('maintenance').addBulk(batch);
      while (done < jobs) await new Promise((resolve) => setTimeout(resolve, 20));
      rates.push(jobs / ((Date.now() - started) / 1000));
    }
    await runtime.stop();
    lines.push(
      '## Queue (BullMQ through the job registry: payload validated with zod on take, concurrency 50)',
      '',
      `${jobs} jobs from enqueue to completion: **${round(median(rates))} jobs/s** (median of ${rounds}).`,
      '',
    );

    // --- Scheduler ----------------------------------------------------------------
    const project = await prisma.project.findFirstOrThrow({ where: { organizationId: org.id } });
    const deployment = await prisma.deployment.create({
      data: {
        organizationId: org.id,
        projectId: project.id,
        name: 'd',
        slug: 'd',
        environment: 'prod',
        branch: 'main',
        deployedCommitSha: 'a'.repeat(40),
      },
    });
    const scheduleCount = Number(process.env.BENCH_SCHEDULES ?? 2000);
    await prisma.schedule.createMany({
      data: Array.from({ length: scheduleCount }, (_, i) => ({
        organizationId: org.id,
        deploymentId: deployment.id,
        name: `s${i}`,
        interval: '@daily',
        cron: '0 0 * * *',
        enabled: true,
      })),
    });
    const billingGate = new BillingGate(
      config,
      new BillingRepository(prisma),
      new UsageLedgerRepository(prisma),
    );
    const runs = new RunsRepository(prisma);
    const system = new SystemRepository(prisma);
    const scheduler = new SchedulerService(
      system,
      new ScheduleTimersRepository(prisma),
      runs,
      new RunFactory(runs),
      new RunQueue(queues),
      queues,
      new RunEvents(runs),
      billingGate,
    );
    let t0 = Date.now();
    await scheduler.reconcile();
    const reconcileMs = Date.now() - t0;
    t0 = Date.now();
    await scheduler.reconcile();
    const reconcileAgainMs = Date.now() - t0;
    const schedules = (await system.schedulesAcrossTenants(deployment.id)).slice(0, 1000);
    const tick = new Date();
    t0 = Date.now();
    for (let i = 0; i < schedules.length; i += 50) {
      await Promise.all(
        schedules.slice(i, i + 50).map((s) => scheduler.tick(s.organizationId, s.id, tick, tick)),
      );
    }
    const tickMs = Date.now() - t0;
    const memory = await queues.connection.info('memory');
    const usedMemory = /used_memory_human:(\S+)/.exec(memory)?.[1] ?? '?';
    lines.push(
      '## Scheduler',
      '',
      `| what | time |`,
      `| --- | --- |`,
      `| reconcile ${scheduleCount} enabled schedules into BullMQ job schedulers (empty Redis) | ${reconcileMs} ms |`,
      `| reconcile again (nothing changes) | ${reconcileAgainMs} ms |`,
      `| ${schedules.length} ticks at the same minute → ${schedules.length} runs created and queued (50 at a time) | ${tickMs} ms (${round((schedules.length / tickMs) * 1000)} ticks/s) |`,
      '',
      `Redis used_memory after all of the above: ${usedMemory}.`,
      '',
    );
    await app.close();
  } finally {
    await dropDatabase(dbUrl);
  }
  const header = [
    '# Benchmarks',
    '',
    `Measured ${new Date().toISOString().slice(0, 10)} by \`npm run bench\` on ${cpus().length} cores (${cpus()[0]?.model ?? 'cpu'}), ${round(totalmem() / 2 ** 30)} GiB,`,
    `Node ${process.version}, PostgreSQL and Redis on the same machine. Medians of ${rounds} rounds of ${seconds} s; the machine is shared, so compare ratios.`,
    '',
  ];
  const out = [...header, ...lines].join('\n');
  writeFileSync(path.resolve('bench/RESULTS.md'), out);
  console.log(out);
  process.exit(0);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
