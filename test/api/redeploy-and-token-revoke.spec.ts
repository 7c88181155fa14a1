/**
 * The two API additions the CLI needs: redeploy modes on `POST …/deploys`
 * (the deploy runner's side is exercised end to end by test/cli/cloud-parity.spec.ts)
 * and `DELETE /me/token` (the CLI's logout).
 */
import supertest from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app.js';
import {
  createRoleUsers,
  createUserWithToken,
  seedOrg,
  type RoleUsers,
  type SeededOrg,
} from '../support/fixtures.js';

describe('redeploy modes and revoking the current token', () => {
  let t: TestApp;
  let users: RoleUsers;
  let org: SeededOrg;
  let http: supertest.Agent;
  let deploys: string;
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
    users = await createRoleUsers(t.prisma);
    org = await seedOrg(t.prisma, users);
    http = supertest.agent(t.app.getHttpServer());
    await http
      .post(`/orgs/${org.orgSlug}/projects`)
      .set('authorization', users.owner.bearer)
      .send({ name: 'Redeploys', repository: '/srv/git/nowhere' })
      .expect(201);
    await http
      .post(`/orgs/${org.orgSlug}/projects/redeploys/deployments`)
      .set('authorization', users.owner.bearer)
      .send({ name: 'prod', environment: 'prod', branch: 'main' })
      .expect(201);
    deploys = `/orgs/${org.orgSlug}/projects/redeploys/deployments/prod/deploys`;
  });
  afterAll(() => t.close());

  it('queues a redeploy without a body (as before), and with only_if_changed', async () => {
    const plain = await http.post(deploys).set('authorization', users.owner.bearer).expect(201);
    expect(plain.body).toMatchObject({ trigger: 'manual', status: 'queued', commit_sha: null });
    const onlyIfChanged = await http
      .post(deploys)
      .set('authorization', users.admin.bearer)
      .send({ only_if_changed: true })
      .expect(201);
    expect(onlyIfChanged.body).toMatchObject({ trigger: 'manual', status: 'queued' });
    const audit = await t.prisma.auditEvent.findFirst({
      where: { action: 'deployment.deploy' },
      orderBy: { createdAt: 'desc' },
    });
    expect(audit?.details).toMatchObject({ only_if_changed: true });
  });

  it('refuses to preserve the git hash of a deployment that never deployed, and unknown fields', async () => {
    const never = await http
      .post(deploys)
      .set('authorization', users.owner.bearer)
      .send({ commit: 'deployed' })
      .expect(409);
    expect(never.body.detail).toBe(
      'Deployment prod has no deployed commit yet; redeploy the branch head instead.',
    );
    const bad = await http
      .post(deploys)
      .set('authorization', users.owner.bearer)
      .send({ commit: 'yesterday', force: true })
      .expect(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'body.commit',
      'body.force',
    ]);
    await http
      .post(deploys)
      .set('authorization', users.member.bearer)
      .send({ commit: 'branch_head' })
      .expect(403);
  });

  it('DELETE /me/token revokes the token making the request; a browser session is told to sign out', async () => {
    const leaving = await createUserWithToken(t.prisma, 'leaving-user');
    await http.get('/me').set('authorization', leaving.bearer).expect(200);
    await http.delete('/me/token').set('authorization', leaving.bearer).expect(204);
    const after = await http.get('/me').set('authorization', leaving.bearer).expect(401);
    expect(after.body.detail).toBe('The API token is invalid, expired or revoked.');

    const browser = supertest.agent(t.app.getHttpServer());
    await browser.post('/auth/dev-login').send({ login: 'browser-only' }).expect(200);
    const csrf = ((await browser.get('/me').expect(200)).body as { csrf_token: string }).csrf_token;
    const session = await browser.delete('/me/token').set('x-csrf-token', csrf).expect(409);
    expect(session.body.detail).toContain('not authenticated by an API token');
  });
});
