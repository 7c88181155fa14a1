import { randomUUID } from 'node:crypto';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import supertest from 'supertest';
import { createApiApp } from '../../src/app.js';
import { createRoleUsers, seedOrg, type RoleUsers, type SeededOrg } from '../support/fixtures.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/**
 * The authenticated hot path (issue 13): credentials and memberships are cached per API
 * process, yet a revoke, a sign-out or a membership change made through one process is
 * refused by every other one at once; the rate limit still counts every request; runs page
 * by keyset without losing or repeating a run.
 */
describe('the authenticated hot path across two API processes', () => {
  let t: TestApp;
  let other: NestFastifyApplication;
  let a: supertest.Agent;
  let b: supertest.Agent;
  let users: RoleUsers;
  let org: SeededOrg;

  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
    // A second API process: the same database and Redis, caches of its own.
    other = await createApiApp(t.config);
    await other.init();
    await other.getHttpAdapter().getInstance().ready();
    a = supertest.agent(t.app.getHttpServer());
    b = supertest.agent(other.getHttpServer());
    users = await createRoleUsers(t.prisma);
    org = await seedOrg(t.prisma, users);
  });
  afterAll(async () => {
    await other.close();
    await t.close();
  });

  it('refuses a token revoked through the other process at once', async () => {
    const created = await a
      .post('/me/tokens')
      .set('authorization', users.viewer.bearer)
      .send({ name: 'laptop' })
      .expect(201);
    const token = created.body.token as string;
    // The second process validates (and remembers) the new token.
    await b.get('/me').set('authorization', `Bearer ${token}`).expect(200);
    await b.get('/me').set('authorization', `Bearer ${token}`).expect(200);
    await a
      .delete(`/me/tokens/${created.body.id as string}`)
      .set('authorization', users.viewer.bearer)
      .expect(204);
    const refused = await b.get('/me').set('authorization', `Bearer ${token}`).expect(401);
    expect(refused.body.detail).toBe('The API token is invalid, expired or revoked.');
    await a.get('/me').set('authorization', `Bearer ${token}`).expect(401);
  });

  it('refuses the token a CLI logged out with (DELETE /me/token) in the other process at once', async () => {
    const token = (
      await a
        .post('/me/tokens')
        .set('authorization', users.member.bearer)
        .send({ name: 'cli' })
        .expect(201)
    ).body.token as string;
    await b.get(`/orgs/${org.orgSlug}`).set('authorization', `Bearer ${token}`).expect(200);
    await a.delete('/me/token').set('authorization', `Bearer ${token}`).expect(204);
    await b.get(`/orgs/${org.orgSlug}`).set('authorization', `Bearer ${token}`).expect(401);
  });

  it('refuses a session signed out through the other process at once', async () => {
    const signIn = await supertest(t.app.getHttpServer())
      .post('/auth/dev-login')
      .send({ login: `browser-${randomUUID().slice(0, 6)}` })
      .expect(200);
    const { csrf_token, user } = signIn.body as { csrf_token: string; user: { login: string } };
    const setCookie = ([] as string[]).concat(signIn.headers['set-cookie'] ?? []);
    const sessionCookie = setCookie.find((c) => c.startsWith('mc_session='))?.split(';')[0] ?? '';
    expect(sessionCookie).not.toBe('');
    const me = await b.get('/me').set('cookie', sessionCookie).expect(200);
    expect(me.body.user.login).toBe(user.login);
    await supertest(t.app.getHttpServer())
      .post('/auth/logout')
      .set('cookie', sessionCookie)
      .set('x-csrf-token', csrf_token)
      .expect(204);
    await b.get('/me').set('cookie', sessionCookie).expect(401);
  });

  it('applies a role change and a removal made through the other process at once', async () => {
    const adminBearer = users.admin.bearer;
    // The admin reads members and audit events through the second process (remembered there).
    await b.get(`/orgs/${org.orgSlug}/members`).set('authorization', adminBearer).expect(200);
    await b.get(`/orgs/${org.orgSlug}/audit-events`).set('authorization', adminBearer).expect(200);
    // The owner makes them a viewer through the first one: audit events need admin.
    await a
      .patch(`/orgs/${org.orgSlug}/members/${users.admin.id}`)
      .set('authorization', users.owner.bearer)
      .send({ role: 'viewer' })
      .expect(200);
    await b.get(`/orgs/${org.orgSlug}/audit-events`).set('authorization', adminBearer).expect(403);
    await b.get(`/orgs/${org.orgSlug}/members`).set('authorization', adminBearer).expect(200);
    // Then removes them: the organization is gone for them (404), at once, over there too.
    await a
      .delete(`/orgs/${org.orgSlug}/members/${users.admin.id}`)
      .set('authorization', users.owner.bearer)
      .expect(204);
    await b.get(`/orgs/${org.orgSlug}/members`).set('authorization', adminBearer).expect(404);
  });

  it('records when a token was last used', async () => {
    const before = await t.prisma.apiToken.findFirstOrThrow({
      where: { userId: users.outsider.id },
    });
    expect(before.lastUsedAt).toBeNull();
    await b.get('/me').set('authorization', users.outsider.bearer).expect(200);
    const listed = await a.get('/me/tokens').set('authorization', users.outsider.bearer);
    const used = (listed.body.results ?? listed.body) as { last_used_at: string | null }[];
    expect(used[0]?.last_used_at).not.toBeNull();
  });

  it('pages through runs sharing one queued time without losing or repeating one', async () => {
    const queuedAt = new Date('2026-11-30T12:00:00.000Z');
    const ids = Array.from({ length: 7 }, () => randomUUID());
    await t.prisma.run.createMany({
      data: ids.map((id) => ({
        id,
        organizationId: org.orgId,
        deploymentId: org.deploymentId,
        target: 'tie',
        jobName: 'tie',
        trigger: 'api' as const,
        status: 'succeeded' as const,
        timeoutSeconds: 60,
        queuedAt,
      })),
    });
    const seen: string[] = [];
    let token: string | null = null;
    do {
      const page: supertest.Response = await b
        .get(`/orgs/${org.orgSlug}/runs`)
        .query({ schedule: 'tie', page_size: 3, ...(token ? { page_token: token } : {}) })
        .set('authorization', users.viewer.bearer)
        .expect(200);
      const body = page.body as {
        results: { id: string; queued_at: string }[];
        pagination: { next_page_token: string | null };
      };
      seen.push(...body.results.map((r) => r.id));
      token = body.pagination.next_page_token;
    } while (token);
    // Newest first, ties by id (descending): each run once.
    expect(seen).toEqual([...ids].sort().reverse());
  });
});

describe('the rate limit on the hot path', () => {
  let t: TestApp;
  let users: RoleUsers;
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '4' });
    users = await createRoleUsers(t.prisma);
  });
  afterAll(() => t.close());

  it('still counts every request of a remembered token', async () => {
    const api = supertest(t.app.getHttpServer());
    const statuses: number[] = [];
    const remaining: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await api.get('/me').set('authorization', users.viewer.bearer);
      statuses.push(res.status);
      remaining.push(String(res.headers['x-ratelimit-remaining']));
    }
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);
    expect(remaining.slice(0, 4)).toEqual(['3', '2', '1', '0']);
  });
});
