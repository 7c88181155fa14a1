import supertest from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type RoleUsers, type SeededOrg } from '../support/fixtures.js';

describe('projects, deployments and schedules', () => {
  let t: TestApp;
  let users: RoleUsers;
  let org: SeededOrg;
  let http: supertest.Agent;
  const owner = () => users.owner.bearer;
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
    users = await createRoleUsers(t.prisma);
    org = await seedOrg(t.prisma, users);
    http = supertest.agent(t.app.getHttpServer());
  });
  afterAll(() => t.close());

  it('creates projects with slugged unique names and normalised root paths', async () => {
    const res = await http
      .post(`/orgs/${org.orgSlug}/projects`)
      .set('authorization', owner())
      .send({ name: 'Marketing Data', repository: 'acme/marketing', root_path: './meltano/' })
      .expect(201);
    expect(res.body).toMatchObject({
      slug: 'marketing-data',
      root_path: 'meltano',
      repository: 'acme/marketing',
    });
    const dup = await http
      .post(`/orgs/${org.orgSlug}/projects`)
      .set('authorization', owner())
      .send({ name: 'marketing   data', repository: 'acme/other' });
    expect(dup.status).toBe(409);
    expect(dup.body.errors).toEqual([{ field: 'body.name', message: '"marketing-data" is taken' }]);
    const byDefault = await http
      .post(`/orgs/${org.orgSlug}/projects`)
      .set('authorization', owner())
      .send({ name: 'Local', repository: '/srv/git/local-project' })
      .expect(201);
    expect(byDefault.body.root_path).toBe('.');
  });

  it('paginates with cursors and filters by name prefix', async () => {
    for (const name of ['Ops A', 'Ops B', 'Ops C', 'Ops D', 'Ops E']) {
      await http
        .post(`/orgs/${org.orgSlug}/projects`)
        .set('authorization', owner())
        .send({ name, repository: 'acme/ops' })
        .expect(201);
    }
    const seen: string[] = [];
    let token: string | null = null;
    do {
      const q: string = `/orgs/${org.orgSlug}/projects?name_prefix=ops&page_size=2${token ? `&page_token=${token}` : ''}`;
      const page = await http.get(q).set('authorization', users.viewer.bearer).expect(200);
      expect(page.body.results.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.results.map((p: { slug: string }) => p.slug));
      token = page.body.pagination.next_page_token;
    } while (token);
    expect(seen).toEqual(['ops-a', 'ops-b', 'ops-c', 'ops-d', 'ops-e']);
  });

  it('keeps tenants apart: another organization’s project is not found, even by id', async () => {
    const other = await seedOrg(t.prisma, await createRoleUsers(t.prisma));
    await http
      .get(`/orgs/${org.orgSlug}/projects/${other.projectId}`)
      .set('authorization', owner())
      .expect(404);
    await http
      .get(`/orgs/${org.orgSlug}/projects/${org.projectSlug}/deployments/${other.deploymentId}`)
      .set('authorization', owner())
      .expect(404);
  });

  it('creates deployments, edits environment and branch, but never the name', async () => {
    const base = `/orgs/${org.orgSlug}/projects/${org.projectSlug}/deployments`;
    const created = await http
      .post(base)
      .set('authorization', owner())
      .send({
        name: 'Staging',
        environment: 'staging',
        branch: 'develop',
        concurrency_policy: 'queue',
      })
      .expect(201);
    expect(created.body).toMatchObject({
      slug: 'staging',
      environment: 'staging',
      branch: 'develop',
      concurrency_policy: 'queue',
      status: 'new',
    });
    const updated = await http
      .patch(`${base}/staging`)
      .set('authorization', owner())
      .send({ branch: 'release/2.0', environment: 'prod' })
      .expect(200);
    expect(updated.body).toMatchObject({
      slug: 'staging',
      branch: 'release/2.0',
      environment: 'prod',
    });
    const filtered = await http
      .get(`${base}?status=ready`)
      .set('authorization', owner())
      .expect(200);
    expect(filtered.body.results.map((d: { slug: string }) => d.slug)).toEqual(['prod']);
  });

  it('lets a deployment name its own plugin image, pinned, and clear it; bad references are 400 naming the field', async () => {
    const base = `/orgs/${org.orgSlug}/projects/${org.projectSlug}/deployments`;
    const created = await http
      .post(base)
      .set('authorization', owner())
      .send({ name: 'Imaged', environment: 'prod', branch: 'main' })
      .expect(201);
    expect(created.body.plugin_image).toBeNull();
    const image = 'ghcr.io/acme/analytics-meltano:2026.12.01';
    const set = await http
      .patch(`${base}/imaged`)
      .set('authorization', owner())
      .send({ plugin_image: image })
      .expect(200);
    expect(set.body.plugin_image).toBe(image);
    expect((await http.get(`${base}/imaged`).set('authorization', owner())).body.plugin_image).toBe(
      image,
    );
    for (const [bad, message] of [
      ['ghcr.io/acme/analytics-meltano', /tag or a digest/],
      ['GHCR.io/Acme/Meltano:1', /container image reference/],
      ['acme/meltano:1 ; rm -rf /', /container image reference/],
      ['', /container image reference/],
    ] as const) {
      const refused = await http
        .patch(`${base}/imaged`)
        .set('authorization', owner())
        .send({ plugin_image: bad })
        .expect(400);
      expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(refused.body.errors).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            field: 'body.plugin_image',
            message: expect.stringMatching(message),
          }),
        ]),
      );
    }
    const cleared = await http
      .patch(`${base}/imaged`)
      .set('authorization', owner())
      .send({ plugin_image: null })
      .expect(200);
    expect(cleared.body.plugin_image).toBeNull();
    const withImage = await http
      .post(base)
      .set('authorization', owner())
      .send({
        name: 'Imaged Two',
        environment: 'prod',
        branch: 'main',
        plugin_image: `${image}@sha256:${'b'.repeat(64)}`,
      })
      .expect(201);
    expect(withImage.body.plugin_image).toBe(`${image}@sha256:${'b'.repeat(64)}`);
  });

  it('shows a schedule’s next fire times in its timezone and its runs per day', async () => {
    const path = `/orgs/${org.orgSlug}/projects/${org.projectSlug}/deployments/${org.deploymentSlug}/schedules/${encodeURIComponent(org.scheduleName)}`;
    await http
      .patch(path)
      .set('authorization', users.member.bearer)
      .send({ timezone: 'America/New_York' })
      .expect(200);
    const res = await http
      .get(`${path}?num_upcoming=3`)
      .set('authorization', users.viewer.bearer)
      .expect(200);
    expect(res.body).toMatchObject({
      name: 'daily load',
      cron: '0 0 * * *',
      timezone: 'America/New_York',
      runs_per_day: 1,
      enabled: false,
    });
    expect(res.body.upcoming).toHaveLength(3);
    for (const iso of res.body.upcoming as string[]) {
      const hourInNewYork = new Intl.DateTimeFormat('en-US', {
        timeZone: 'America/New_York',
        hour: 'numeric',
        hourCycle: 'h23',
      }).format(new Date(iso));
      expect(Number(hourInNewYork)).toBe(0);
    }
    const list = await http
      .get(
        `/orgs/${org.orgSlug}/projects/${org.projectSlug}/deployments/${org.deploymentSlug}/schedules`,
      )
      .set('authorization', users.viewer.bearer)
      .expect(200);
    expect(
      list.body.results.map((s: { name: string; valid: boolean }) => [s.name, s.valid]),
    ).toEqual([
      // As meltano.yml lists them.
      ['daily load', true],
      ['broken', false],
    ]);
  });

  it('enables a valid schedule per deployment and refuses an invalid one with its reason', async () => {
    const base = `/orgs/${org.orgSlug}/projects/${org.projectSlug}/deployments/${org.deploymentSlug}/schedules`;
    const on = await http
      .patch(`${base}/${encodeURIComponent('daily load')}`)
      .set('authorization', users.member.bearer)
      .send({ enabled: true })
      .expect(200);
    expect(on.body.enabled).toBe(true);
    const broken = await http
      .patch(`${base}/broken`)
      .set('authorization', users.member.bearer)
      .send({ enabled: true });
    expect(broken.status).toBe(409);
    expect(broken.body.detail).toContain('6 fields');
    expect(
      (
        await t.prisma.schedule.findFirstOrThrow({
          where: { name: 'broken', deploymentId: org.deploymentId },
        })
      ).enabled,
    ).toBe(false);
  });

  it('deleting a deployment disables its schedules and cancels its queued runs', async () => {
    const fresh = await seedOrg(t.prisma, users);
    await t.prisma.schedule.updateMany({
      where: { deploymentId: fresh.deploymentId },
      data: { enabled: true },
    });
    const queued = await t.prisma.run.create({
      data: {
        organizationId: fresh.orgId,
        deploymentId: fresh.deploymentId,
        target: 'daily load',
        trigger: 'schedule',
        timeoutSeconds: 60,
      },
    });
    const running = await t.prisma.run.create({
      data: {
        organizationId: fresh.orgId,
        deploymentId: fresh.deploymentId,
        target: 'daily load',
        trigger: 'manual',
        status: 'running',
        timeoutSeconds: 60,
      },
    });
    const path = `/orgs/${fresh.orgSlug}/projects/${fresh.projectSlug}/deployments/${fresh.deploymentSlug}`;
    const refused = await http.delete(path).set('authorization', owner());
    expect(refused.status).toBe(409);
    // Refused as a whole: nothing half-done.
    expect((await t.prisma.run.findUniqueOrThrow({ where: { id: queued.id } })).status).toBe(
      'queued',
    );
    await t.prisma.run.update({ where: { id: running.id }, data: { status: 'failed' } });
    await http.delete(path).set('authorization', owner()).expect(204);
    expect(await t.prisma.deployment.count({ where: { id: fresh.deploymentId } })).toBe(0);
    const audit = await t.prisma.auditEvent.findFirst({
      where: { organizationId: fresh.orgId, action: 'deployment.delete' },
    });
    expect(audit?.actorLogin).toBe(users.owner.login);
  });
});
