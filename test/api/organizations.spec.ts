import supertest from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createUserWithToken, type TestUser } from '../support/fixtures.js';

describe('organizations, members and roles', () => {
  let t: TestApp;
  let alice: TestUser;
  let bob: TestUser;
  let api: supertest.Agent;
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
    alice = await createUserWithToken(t.prisma, 'alice');
    bob = await createUserWithToken(t.prisma, 'bob');
    api = supertest.agent(t.app.getHttpServer());
  });
  afterAll(() => t.close());

  const as = (u: TestUser) => ({
    get: (p: string) => api.get(p).set('authorization', u.bearer),
    post: (p: string, b?: object) => api.post(p).set('authorization', u.bearer).send(b),
    patch: (p: string, b?: object) => api.patch(p).set('authorization', u.bearer).send(b),
    delete: (p: string) => api.delete(p).set('authorization', u.bearer),
  });

  it('creates an organization with its creator as owner and a unique billing account number', async () => {
    const a = await as(alice).post('/orgs', { name: 'Acme Data' }).expect(201);
    expect(a.body).toMatchObject({ name: 'Acme Data', slug: 'acme-data', role: 'owner' });
    expect(a.body.billing_account_number).toMatch(/^MC-\d{10}$/);
    const b = await as(bob).post('/orgs', { name: 'Bob Co' }).expect(201);
    expect(b.body.billing_account_number).not.toBe(a.body.billing_account_number);
    const dup = await as(bob).post('/orgs', { name: 'acme data' });
    expect(dup.status).toBe(409);
    expect(dup.body.errors[0].field).toBe('body.slug');
    const mine = await as(alice).get('/orgs').expect(200);
    expect(mine.body.results.map((o: { slug: string }) => o.slug)).toEqual(['acme-data']);
  });

  it('invites by GitHub login: existing users join, others get an invitation accepted at sign-in', async () => {
    await as(alice).post('/orgs/acme-data/members', { login: 'bob', role: 'viewer' }).expect(201);
    const invited = await as(alice)
      .post('/orgs/acme-data/members', { login: 'Carol-Dev', role: 'member' })
      .expect(201);
    expect(invited.body.invitation).toMatchObject({ login: 'carol-dev', role: 'member' });
    // Carol signs in for the first time (development sign-in stands in for GitHub here).
    const carol = supertest.agent(t.app.getHttpServer());
    await carol.post('/auth/dev-login').send({ login: 'carol-dev' }).expect(200);
    const orgs = await carol.get('/orgs').expect(200);
    expect(orgs.body.results).toEqual([
      expect.objectContaining({ slug: 'acme-data', role: 'member' }),
    ]);
    const members = await as(alice).get('/orgs/acme-data/members').expect(200);
    expect(
      members.body.results
        .map((m: { login: string; role: string }) => `${m.login}:${m.role}`)
        .sort(),
    ).toEqual(['alice:owner', 'bob:viewer', 'carol-dev:member']);
    expect(members.body.invitations).toEqual([]);
  });

  it('enforces roles: viewers read, admins manage members but cannot create owners', async () => {
    await as(bob).patch('/orgs/acme-data', { name: 'Nope' }).expect(403);
    const bobId = bob.id;
    await as(alice).patch(`/orgs/acme-data/members/${bobId}`, { role: 'admin' }).expect(200);
    await as(bob).patch('/orgs/acme-data', { name: 'Acme Analytics' }).expect(200);
    const carol = await t.prisma.user.findUniqueOrThrow({ where: { login: 'carol-dev' } });
    const grant = await as(bob).patch(`/orgs/acme-data/members/${carol.id}`, { role: 'owner' });
    expect(grant.status).toBe(403);
    const alice_ = await t.prisma.user.findUniqueOrThrow({ where: { login: 'alice' } });
    await as(bob).delete(`/orgs/acme-data/members/${alice_.id}`).expect(403);
  });

  it('the last owner can neither leave nor be demoted; with a second owner they can', async () => {
    const left = await as(alice).post('/orgs/acme-data/leave');
    expect(left.status).toBe(409);
    expect(left.body.detail).toMatch(/last owner/);
    const demote = await as(alice).patch(`/orgs/acme-data/members/${alice.id}`, { role: 'admin' });
    expect(demote.status).toBe(409);
    await as(alice).patch(`/orgs/acme-data/members/${bob.id}`, { role: 'owner' }).expect(200);
    await as(alice).post('/orgs/acme-data/leave').expect(204);
    await as(alice).get('/orgs/acme-data').expect(404);
  });

  it('records every change as an audit event readable by admins', async () => {
    const events = await as(bob).get('/orgs/acme-data/audit-events?page_size=3').expect(200);
    expect(events.body.results).toHaveLength(3);
    expect(events.body.pagination.next_page_token).toEqual(expect.any(String));
    const all: { action: string; actor: string; ip: string | null }[] = [...events.body.results];
    let token = events.body.pagination.next_page_token as string | null;
    while (token) {
      const page = await as(bob)
        .get(`/orgs/acme-data/audit-events?page_size=3&page_token=${token}`)
        .expect(200);
      all.push(...page.body.results);
      token = page.body.pagination.next_page_token;
    }
    expect(all.map((e) => e.action)).toEqual([
      'member.leave',
      'member.role_change',
      'organization.rename',
      'member.role_change',
      'member.invite',
      'member.add',
      'organization.create',
    ]);
    expect(all.every((e) => e.ip)).toBe(true);
    expect(all.at(-1)?.actor).toBe('alice');
  });

  it('deletes an organization only as owner and only without running work', async () => {
    const org = await t.prisma.organization.findUniqueOrThrow({ where: { slug: 'acme-data' } });
    const project = await t.prisma.project.create({
      data: { organizationId: org.id, name: 'p', slug: 'p', repository: 'a/b' },
    });
    const dep = await t.prisma.deployment.create({
      data: {
        organizationId: org.id,
        projectId: project.id,
        name: 'd',
        slug: 'd',
        environment: 'e',
        branch: 'main',
      },
    });
    const run = await t.prisma.run.create({
      data: {
        organizationId: org.id,
        deploymentId: dep.id,
        target: 'x',
        trigger: 'manual',
        status: 'running',
        timeoutSeconds: 60,
      },
    });
    const refused = await as(bob).delete('/orgs/acme-data');
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/1 run/);
    await t.prisma.run.update({ where: { id: run.id }, data: { status: 'succeeded' } });
    await as(bob).delete('/orgs/acme-data').expect(204);
    expect(await t.prisma.project.count({ where: { organizationId: org.id } })).toBe(0);
  });
});
