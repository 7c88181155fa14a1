import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type SeededOrg } from '../support/fixtures.js';
import { startWorker, type RunningWorker } from '../../worker/worker.js';
import { SchedulerService } from '../../src/schedules/scheduler.service.js';
import type { OrgId } from '../../src/database/org-id.js';

/** Every metric the README lists for the worker. */
const WORKER_METRICS = [
  'schedule_tick_lag_seconds',
  'run_start_latency_seconds',
  'runs_dispatched_total',
  'runs_finished_total',
  'runs_in_flight',
  'deploy_duration_seconds',
  'queue_jobs',
  'queue_job_failures_total',
  'notification_deliveries_total',
  'executor_errors_total',
  'usage_report_lag_seconds',
];

describe('the worker’s Prometheus metrics on its own port', () => {
  let t: TestApp;
  let worker: RunningWorker;
  let org: SeededOrg;

  beforeAll(async () => {
    t = await createTestApp({ METRICS_TOKEN: 'scrape-token-123' });
    org = await seedOrg(t.prisma, await createRoleUsers(t.prisma));
    worker = await startWorker(t.config);
  });
  afterAll(async () => {
    await worker.stop();
    await t.close();
  });

  const scrape = (token = 'scrape-token-123') =>
    fetch(`${worker.metricsUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });

  it('serves every worker metric in Prometheus text, to scrapers presenting the metrics token', async () => {
    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    for (const name of WORKER_METRICS) expect(text).toContain(`# TYPE ${name} `);
    expect(text).toMatch(/^queue_jobs\{queue="runs",state="waiting"\} 0$/m);
    expect(text).toMatch(/^runs_in_flight 0$/m);
    expect(text).toContain('process_resident_memory_bytes');
    // The API's HTTP metrics are not the worker's.
    expect(text).not.toContain('http_request_duration_seconds');
  });

  it('refuses scrapers without the token, and serves nothing else', async () => {
    expect((await scrape('wrong')).status).toBe(401);
    expect((await fetch(`${worker.metricsUrl}/metrics`)).status).toBe(401);
    expect((await fetch(`${worker.metricsUrl}/other`)).status).toBe(404);
    expect((await fetch(`${worker.metricsUrl}/healthz`)).status).toBe(200);
  });

  it('counts tick lag and runs by final status as ticks are handled', async () => {
    await t.prisma.deployment.update({
      where: { id: org.deploymentId },
      data: { deployedCommitSha: 'a'.repeat(40), concurrencyPolicy: 'skip' },
    });
    const schedule = await t.prisma.schedule.update({
      where: { id: org.scheduleId },
      data: { enabled: true, lastTickAt: null },
    });
    // The previous run still goes: the tick is recorded as skipped (a final status).
    await t.prisma.run.create({
      data: {
        organizationId: org.orgId,
        deploymentId: org.deploymentId,
        scheduleId: schedule.id,
        target: schedule.name,
        trigger: 'schedule',
        status: 'running',
        timeoutSeconds: 60,
      },
    });
    const tickAt = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    await worker.app.get(SchedulerService).tick(org.orgId as OrgId, schedule.id, tickAt);
    const text = await (await scrape()).text();
    expect(text).toMatch(/^schedule_tick_lag_seconds_count 1$/m);
    expect(text).toMatch(/^runs_finished_total\{status="skipped"\} 1$/m);
  });
});
