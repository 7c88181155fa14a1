import supertest from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type RoleUsers, type SeededOrg } from '../support/fixtures.js';

/**
 * Issue 15 (dashboard): the reads the dashboard needs in one request each —
 * schedule health per deployment, who started a run, names in the audit log.
 */
describe('dashboard reads', () => {
  let t: TestApp;
  let users: RoleUsers;
  let org: SeededOrg;
  let http: supertest.Agent;
  const D = () =>
    `/orgs/${org.orgSlug}/projects/${org.projectSlug}/deployments/${org.deploymentSlug}`;
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
    users = await createRoleUsers(t.prisma);
    org = await seedOrg(t.prisma, users);
    http = supertest.agent(t.app.getHttpServer());
  });
  afterAll(() => t.close());

  /** `count` runs of the schedule, one an hour back from `from`, statuses cycling through `statuses`. */
  async function runsOf(scheduleId: string, statuses: string[], count: number, from: Date) {
    const data = Array.from({ length: count }, (_, i) => {
      const queuedAt = new Date(from.getTime() - i * 3_600_000);
      return {
        organizationId: org.orgId,
        deploymentId: org.deploymentId,
        scheduleId,
        target: 'hourly',
        trigger: 'schedule' as const,
        status: statuses[i % statuses.length] as 'succeeded',
        timeoutSeconds: 3600,
        queuedAt,
        tickAt: queuedAt,
        pipelineStartedAt: new Date(queuedAt.getTime() + 5_000),
        finishedAt: new Date(queuedAt.getTime() + 65_000),
      };
    });
    await t.prisma.run.createMany({ data });
  }

  it('gives each schedule its latest runs, success rate, last and next run in one request', async () => {
    const hourly = await t.prisma.schedule.create({
      data: {
        organizationId: org.orgId,
        deploymentId: org.deploymentId,
        name: 'hourly',
        interval: '@hourly',
        cron: '0 * * * *',
        enabled: true,
      },
    });
    const latest = new Date(Date.now() - 60_000);
    // Newest first: failed, then succeeded ×3, cycling — 40 runs, only the latest 30 count.
    await runsOf(hourly.id, ['failed', 'succeeded', 'succeeded', 'succeeded'], 40, latest);
    // A run of the same schedule in another organization's data never shows (tenancy).
    const other = await seedOrg(t.prisma, await createRoleUsers(t.prisma));
    await t.prisma.run.create({
      data: {
        organizationId: other.orgId,
        deploymentId: other.deploymentId,
        scheduleId: other.scheduleId,
        target: 'daily load',
        trigger: 'schedule',
        status: 'failed',
        timeoutSeconds: 60,
      },
    });

    const res = await http
      .get(`${D()}/schedule-health`)
      .set('authorization', users.viewer.bearer)
      .expect(200);
    const byName = new Map(
      (res.body.results as { name: string }[]).map((r) => [r.name, r as Record<string, unknown>]),
    );
    expect([...byName.keys()]).toEqual(['broken', 'daily load', 'hourly']);
    const h = byName.get('hourly')!;
    const runs = h.runs as { status: string; queued_at: string; duration_seconds: number }[];
    expect(runs).toHaveLength(30);
    expect(runs[0]).toMatchObject({ status: 'failed', duration_seconds: 60 });
    expect(runs[0]!.queued_at).toBe(latest.toISOString());
    // 30 latest: 8 failed (indexes 0, 4, …, 28), 22 succeeded.
    expect(h).toMatchObject({
      enabled: true,
      failing: true,
      last_status: 'failed',
      last_run_at: latest.toISOString(),
      counted_runs: 30,
    });
    expect(h.success_rate).toBeCloseTo(22 / 30, 6);
    expect(Date.parse(h.next_run_at as string)).toBeGreaterThan(Date.now());
    expect(new Date(h.next_run_at as string).getUTCMinutes()).toBe(0);

    // The seeded daily load: one succeeded run, disabled, so no next run; not failing.
    expect(byName.get('daily load')).toMatchObject({
      enabled: false,
      next_run_at: null,
      counted_runs: 1,
      success_rate: 1,
      failing: false,
    });
    // A schedule that never ran: no rate, not failing.
    expect(byName.get('broken')).toMatchObject({
      valid: false,
      runs: [],
      success_rate: null,
      failing: false,
      last_run_at: null,
    });

    const fewer = await http
      .get(`${D()}/schedule-health?runs=5`)
      .set('authorization', users.viewer.bearer)
      .expect(200);
    const five = (fewer.body.results as { name: string; runs: unknown[]; success_rate: number }[])
      .filter((r) => r.name === 'hourly')
      .at(0)!;
    expect(five.runs).toHaveLength(5);
    // failed, succeeded ×3, failed.
    expect(five.success_rate).toBeCloseTo(3 / 5, 6);
  });

  it('does not count cancelled, skipped or unfinished runs in the success rate', async () => {
    const s = await t.prisma.schedule.create({
      data: {
        organizationId: org.orgId,
        deploymentId: org.deploymentId,
        name: 'mixed',
        interval: '@daily',
        cron: '0 0 * * *',
      },
    });
    await runsOf(
      s.id,
      ['running', 'skipped', 'cancelled', 'timed_out', 'succeeded'],
      5,
      new Date(),
    );
    const res = await http
      .get(`${D()}/schedule-health`)
      .set('authorization', users.viewer.bearer)
      .expect(200);
    const mixed = (res.body.results as Record<string, unknown>[]).find((r) => r.name === 'mixed');
    expect(mixed).toMatchObject({ last_status: 'running', counted_runs: 2, failing: true });
    expect(mixed!.success_rate).toBe(0.5);
  });

  it('refuses a bad runs count naming the field, and outsiders get 404', async () => {
    const bad = await http
      .get(`${D()}/schedule-health?runs=500`)
      .set('authorization', users.viewer.bearer)
      .expect(400);
    expect(bad.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(bad.body.errors[0].field).toBe('query.runs');
    await http
      .get(`${D()}/schedule-health`)
      .set('authorization', users.outsider.bearer)
      .expect(404);
  });

  it('says who started a run (API token, CLI, retry) in the run, the list and the retry response', async () => {
    const created = await http
      .post(`${D()}/runs`)
      .set('authorization', users.member.bearer)
      .set('user-agent', 'curl/8.5.0')
      .send({ job: 'load' })
      .expect(201);
    expect(created.body).toMatchObject({
      trigger: 'api',
      triggered_by: { login: users.member.login, name: users.member.login },
    });
    // The same token from the meltano-cloud CLI (its User-Agent): trigger cli.
    const fromCli = await http
      .post(`${D()}/runs`)
      .set('authorization', users.member.bearer)
      .set('user-agent', 'meltano-cloud-cli/0.1.0')
      .send({ job: 'load' })
      .expect(201);
    expect(fromCli.body).toMatchObject({
      trigger: 'cli',
      triggered_by: { login: users.member.login, name: users.member.login },
    });
    const one = await http
      .get(`/orgs/${org.orgSlug}/runs/${created.body.id}`)
      .set('authorization', users.viewer.bearer)
      .expect(200);
    expect(one.body.triggered_by).toEqual({ login: users.member.login, name: users.member.login });
    const list = await http
      .get(`/orgs/${org.orgSlug}/runs?page_size=250`)
      .set('authorization', users.viewer.bearer)
      .expect(200);
    const rows = list.body.results as { id: string; triggered_by: unknown }[];
    expect(rows.find((r) => r.id === created.body.id)?.triggered_by).toEqual({
      login: users.member.login,
      name: users.member.login,
    });
    // A tick has nobody behind it.
    expect(rows.find((r) => r.id === org.finishedRunId)?.triggered_by).toBeNull();

    const retried = await http
      .post(`/orgs/${org.orgSlug}/runs/${org.finishedRunId}/retry`)
      .set('authorization', users.admin.bearer)
      .expect(201);
    expect(retried.body).toMatchObject({
      trigger: 'retry',
      triggered_by: { login: users.admin.login },
    });
  });

  it('names actors and resources in the audit log, also once a resource is deleted', async () => {
    await t.prisma.user.update({ where: { id: users.admin.id }, data: { name: 'Ada Admin' } });
    await http
      .patch(`${D()}/schedules/daily%20load`)
      .set('authorization', users.admin.bearer)
      .send({ enabled: true })
      .expect(200);
    await http
      .put(`/orgs/${org.orgSlug}/projects/${org.projectSlug}/secrets/GONE_SOON`)
      .set('authorization', users.admin.bearer)
      .send({ value: 'x-value-1' })
      .expect((r) => expect([200, 201]).toContain(r.status));
    await http
      .delete(`/orgs/${org.orgSlug}/projects/${org.projectSlug}/secrets/GONE_SOON`)
      .set('authorization', users.admin.bearer)
      .expect(204);
    await t.prisma.deployment.update({
      where: { id: org.deploymentId },
      data: { name: 'production' },
    });

    const res = await http
      .get(`/orgs/${org.orgSlug}/audit-events?page_size=50`)
      .set('authorization', users.owner.bearer)
      .expect(200);
    const events = res.body.results as Record<string, unknown>[];
    const byAction = (a: string) => events.find((e) => e.action === a);
    expect(byAction('schedule.enable')).toMatchObject({
      actor: users.admin.login,
      actor_name: 'Ada Admin',
      resource_type: 'schedule',
      // Looked up now: the deployment's new name.
      resource_name: 'production / daily load',
    });
    expect(byAction('run.start')).toMatchObject({
      actor: users.member.login,
      resource_name: 'production / load',
    });
    // The secret row is gone: the name the event recorded.
    expect(byAction('secret.delete')).toMatchObject({ resource_name: 'GONE_SOON' });
  });
});
