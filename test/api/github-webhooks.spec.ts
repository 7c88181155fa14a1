import { randomUUID } from 'node:crypto';
import supertest from 'supertest';
import { QueueService } from '../../src/queue/queue.service.js';
import { startFakeGitHub, type FakeGitHub, type FakeRepository } from '../support/fake-github.js';
import {
  ZERO_SHA,
  installationPayload,
  installationRepositoriesPayload,
  pushPayload,
  repositoryPayload,
  webhookDelivery,
  type InstallationInput,
  type PushCommitInput,
} from '../support/github-payloads.js';
import { createRoleUsers, seedOrg, type RoleUsers, type SeededOrg } from '../support/fixtures.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const githubAppEnv = (fake: FakeGitHub): Record<string, string> => ({
  GITHUB_APP_ID: String(fake.appId),
  GITHUB_APP_SLUG: fake.appSlug,
  GITHUB_APP_PRIVATE_KEY: fake.appPrivateKeyPem,
  GITHUB_APP_WEBHOOK_SECRET: fake.webhookSecret,
  GITHUB_WEB_URL: fake.url,
  GITHUB_API_URL: fake.apiUrl,
  GITHUB_OAUTH_CLIENT_ID: fake.clientId,
  GITHUB_OAUTH_CLIENT_SECRET: fake.clientSecret,
});

describe('GitHub App webhooks: grants kept current, deploy on push', () => {
  let fake: FakeGitHub;
  let t: TestApp;
  let http: supertest.Agent;
  let users: RoleUsers;
  let org: SeededOrg;
  let repo: FakeRepository;
  let other: FakeRepository;
  let projectId: string;
  let deploymentId: string;
  const INSTALLATION = 5201;
  const account = { login: 'acme', id: 501, type: 'Organization' } as const;
  const installation: InstallationInput = { id: INSTALLATION, account };

  function deliver(event: string, payload: unknown, deliveryId = randomUUID()) {
    const delivery = webhookDelivery(event, payload, fake.webhookSecret, deliveryId, {
      targetId: fake.appId,
    });
    return http.post('/github/webhooks').set(delivery.headers).send(delivery.body);
  }

  const server = () => ({ webUrl: fake.url, apiUrl: fake.apiUrl });

  async function project() {
    const res = await http
      .get(`/orgs/${org.orgSlug}/projects/${projectId}`)
      .set('authorization', users.viewer.bearer)
      .expect(200);
    return res.body as { repository: string; repository_access: string };
  }

  const pushDeploys = () =>
    t.prisma.deploy.findMany({
      where: { deploymentId, trigger: 'push' },
      orderBy: { createdAt: 'asc' },
    });

  function push(ref: string, commits: PushCommitInput[], extra: { forced?: boolean } = {}) {
    const after = commits.at(-1)?.id ?? randomUUID().replace(/-/g, '').padEnd(40, '0');
    return pushPayload({
      repository: { id: repo.id, fullName: repo.fullName },
      installationId: INSTALLATION,
      ref,
      before: 'a'.repeat(40),
      after,
      commits,
      server: server(),
      ...extra,
    });
  }

  const sha = (c: string) => c.repeat(40).slice(0, 40);

  beforeAll(async () => {
    fake = await startFakeGitHub();
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000', ...githubAppEnv(fake) });
    http = supertest.agent(t.app.getHttpServer());
    users = await createRoleUsers(t.prisma);
    org = await seedOrg(t.prisma, users);
    fake.addInstallation({
      id: INSTALLATION,
      account,
      repositories: ['acme/warehouse', 'acme/other'],
    });
    repo = fake.addRepository('acme/warehouse');
    other = fake.addRepository('acme/other');
    // Linked as the setup callback would (github.spec.ts covers it end to end).
    const linked = await t.prisma.githubInstallation.create({
      data: {
        organizationId: org.orgId,
        installationId: BigInt(INSTALLATION),
        accountLogin: 'acme',
        accountType: 'Organization',
      },
    });
    for (const r of [repo, other]) {
      await t.prisma.githubRepository.create({
        data: {
          organizationId: org.orgId,
          installationId: linked.id,
          githubRepoId: BigInt(r.id),
          fullName: r.fullName,
          defaultBranch: 'main',
        },
      });
    }
    const created = await http
      .post(`/orgs/${org.orgSlug}/projects`)
      .set('authorization', users.admin.bearer)
      .send({ name: 'Warehouse', repository: 'acme/warehouse', root_path: 'meltano' })
      .expect(201);
    projectId = created.body.id;
    const deployment = await t.prisma.deployment.create({
      data: {
        organizationId: org.orgId,
        projectId,
        name: 'prod',
        slug: 'prod',
        environment: 'prod',
        branch: 'main',
        status: 'ready',
        includePaths: ['../shared/*.meltano.yml'],
      },
    });
    deploymentId = deployment.id;
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });

  describe('signatures and replays', () => {
    it('refuses a bad or missing signature with 401', async () => {
      const payload = installationPayload({ action: 'suspend', installation, server: server() });
      const forged = webhookDelivery('installation', payload, 'not-the-secret');
      const res = await http.post('/github/webhooks').set(forged.headers).send(forged.body);
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.body.detail).toMatch(/X-Hub-Signature-256/);

      const good = webhookDelivery('installation', payload, fake.webhookSecret);
      const { 'X-Hub-Signature-256': _dropped, ...unsigned } = good.headers;
      await http.post('/github/webhooks').set(unsigned).send(good.body).expect(401);
      // The body changed after signing.
      await http
        .post('/github/webhooks')
        .set(good.headers)
        .send(good.body.replace('"suspend"', '"unsuspend"'))
        .expect(401);
      expect((await project()).repository_access).toBe('granted');
      expect(await t.prisma.githubWebhookDelivery.count()).toBe(0);
    });

    it('refuses a replayed delivery id with 409', async () => {
      const deliveryId = randomUUID();
      const payload = { zen: 'Design for failure.', hook_id: 1 };
      await deliver('ping', payload, deliveryId).expect(200);
      const replay = await deliver('ping', payload, deliveryId);
      expect(replay.status).toBe(409);
      expect(replay.body.detail).toMatch(/already received/);
    });

    it('acknowledges events of installations not linked to any organization', async () => {
      const res = await deliver(
        'installation',
        installationPayload({
          action: 'created',
          installation: { id: 999_999, account: { login: 'stranger', id: 77 } },
          server: server(),
        }),
      ).expect(200);
      expect(res.body.result).toMatch(/not linked/);
      expect(await t.prisma.githubInstallation.count()).toBe(1);
    });
  });

  describe('grants', () => {
    it('marks the project lost when its repository is removed, granted when added back', async () => {
      // A project from before the App was configured: linked by name once its repository is granted.
      const legacy = await t.prisma.project.create({
        data: {
          organizationId: org.orgId,
          name: 'Legacy',
          slug: 'legacy',
          repository: 'ACME/warehouse',
        },
      });
      fake.revoke(INSTALLATION, 'acme/warehouse');
      await deliver(
        'installation_repositories',
        installationRepositoriesPayload({
          action: 'removed',
          installation,
          repositories: [{ id: repo.id, fullName: repo.fullName }],
          server: server(),
        }),
      ).expect(200);
      expect((await project()).repository_access).toBe('lost');
      const repos = await http
        .get(`/orgs/${org.orgSlug}/repositories`)
        .set('authorization', users.viewer.bearer)
        .expect(200);
      expect(repos.body.results.map((r: { full_name: string }) => r.full_name)).toEqual([
        'acme/other',
      ]);
      // No deploy on push while access is lost.
      await deliver(
        'push',
        push('refs/heads/main', [{ id: sha('1'), modified: ['meltano/meltano.yml'] }]),
      ).expect(200);
      expect(await pushDeploys()).toHaveLength(0);

      fake.grant(INSTALLATION, 'acme/warehouse');
      await deliver(
        'installation_repositories',
        installationRepositoriesPayload({
          action: 'added',
          installation,
          repositories: [{ id: repo.id, fullName: repo.fullName }],
          server: server(),
        }),
      ).expect(200);
      expect((await project()).repository_access).toBe('granted');
      const linked = await t.prisma.project.findUniqueOrThrow({ where: { id: legacy.id } });
      expect(linked).toMatchObject({ repository: 'acme/warehouse', repositoryAccess: 'granted' });
      expect(linked.githubRepositoryId).not.toBeNull();
      await t.prisma.project.delete({ where: { id: legacy.id } });
      const audit = await t.prisma.auditEvent.findMany({
        where: { organizationId: org.orgId, action: { startsWith: 'github.repositories.' } },
        orderBy: { createdAt: 'asc' },
      });
      expect(audit.map((a) => [a.action, a.actorLogin])).toEqual([
        ['github.repositories.removed', 'system'],
        ['github.repositories.added', 'system'],
      ]);
    });

    it('follows suspension and unsuspension of the installation', async () => {
      fake.suspendInstallation(INSTALLATION);
      await deliver(
        'installation',
        installationPayload({ action: 'suspend', installation, server: server() }),
      ).expect(200);
      expect((await project()).repository_access).toBe('lost');
      const list = await http
        .get(`/orgs/${org.orgSlug}/github/installations`)
        .set('authorization', users.viewer.bearer)
        .expect(200);
      expect(list.body.results[0]).toMatchObject({ suspended: true });
      await http
        .get(`/orgs/${org.orgSlug}/repositories`)
        .set('authorization', users.viewer.bearer)
        .expect(200, { results: [] });

      fake.unsuspendInstallation(INSTALLATION);
      await deliver(
        'installation',
        installationPayload({ action: 'unsuspend', installation, server: server() }),
      ).expect(200);
      expect((await project()).repository_access).toBe('granted');
    });

    it('follows a rename and a transfer of the repository', async () => {
      fake.renameRepository('acme/warehouse', 'acme/lakehouse');
      await deliver(
        'repository',
        repositoryPayload({
          action: 'renamed',
          repository: { id: repo.id, fullName: 'acme/lakehouse' },
          previousName: 'warehouse',
          installationId: INSTALLATION,
          server: server(),
        }),
      ).expect(200);
      expect(await project()).toMatchObject({
        repository: 'acme/lakehouse',
        repository_access: 'granted',
      });
      const row = await t.prisma.githubRepository.findFirstOrThrow({
        where: { githubRepoId: BigInt(repo.id) },
      });
      expect(row.fullName).toBe('acme/lakehouse');

      fake.renameRepository('acme/lakehouse', 'acme-data/lakehouse');
      await deliver(
        'repository',
        repositoryPayload({
          action: 'transferred',
          repository: { id: repo.id, fullName: 'acme-data/lakehouse' },
          previousOwner: { login: 'acme', id: 501 },
          installationId: INSTALLATION,
          server: server(),
        }),
      ).expect(200);
      expect((await project()).repository).toBe('acme-data/lakehouse');
      // Back to its first name for the push tests.
      fake.renameRepository('acme-data/lakehouse', 'acme/warehouse');
      await deliver(
        'repository',
        repositoryPayload({
          action: 'renamed',
          repository: { id: repo.id, fullName: 'acme/warehouse' },
          previousName: 'lakehouse',
          installationId: INSTALLATION,
          server: server(),
        }),
      ).expect(200);
      expect((await project()).repository).toBe('acme/warehouse');
    });

    it('marks projects lost when their repository is deleted', async () => {
      const created = await http
        .post(`/orgs/${org.orgSlug}/projects`)
        .set('authorization', users.admin.bearer)
        .send({ name: 'Other', repository: 'acme/other' })
        .expect(201);
      fake.removeRepository('acme/other');
      await deliver(
        'repository',
        repositoryPayload({
          action: 'deleted',
          repository: { id: other.id, fullName: 'acme/other' },
          installationId: INSTALLATION,
          server: server(),
        }),
      ).expect(200);
      const res = await http
        .get(`/orgs/${org.orgSlug}/projects/${created.body.id}`)
        .set('authorization', users.viewer.bearer)
        .expect(200);
      expect(res.body.repository_access).toBe('lost');
      expect((await project()).repository_access).toBe('granted');
    });
  });

  describe('push', () => {
    it('deploys when the push touches the project’s root path', async () => {
      const head = sha('b');
      const res = await deliver(
        'push',
        push('refs/heads/main', [
          { id: sha('c'), modified: ['README.md'] },
          { id: head, added: ['meltano/extract/tap.meltano.yml'] },
        ]),
      ).expect(200);
      expect(res.body.deploys).toHaveLength(1);
      const deploys = await pushDeploys();
      expect(deploys).toEqual([
        expect.objectContaining({
          trigger: 'push',
          commitSha: head,
          branch: 'main',
          status: 'queued',
          triggeredById: null,
        }),
      ]);
      const job = await t.app.get(QueueService).queue('deploys').getJob(`deploy-${deploys[0]!.id}`);
      expect(job?.name).toBe('deploy.execute');
      expect(job?.data).toEqual({ organizationId: org.orgId, deployId: deploys[0]!.id });
    });

    it('deploys when the push changes a file the project includes from outside its root', async () => {
      await deliver(
        'push',
        push('refs/heads/main', [{ id: sha('d'), removed: ['shared/jobs.meltano.yml'] }]),
      ).expect(200);
      expect((await pushDeploys()).map((d) => d.commitSha)).toContain(sha('d'));
    });

    it('does not deploy for pushes touching nothing of the project', async () => {
      const before = (await pushDeploys()).length;
      const res = await deliver(
        'push',
        push('refs/heads/main', [
          { id: sha('e'), modified: ['docs/index.md', 'meltano.yml'] },
          { id: sha('f'), added: ['meltanoX/meltano.yml'] },
        ]),
      ).expect(200);
      expect(res.body.result).toBe('push: nothing to deploy');
      expect(await pushDeploys()).toHaveLength(before);
    });

    it('does not deploy for pushes to another branch, tags or branch deletions', async () => {
      const before = (await pushDeploys()).length;
      await deliver(
        'push',
        push('refs/heads/feature', [{ id: sha('1'), modified: ['meltano/meltano.yml'] }]),
      ).expect(200);
      await deliver(
        'push',
        push('refs/tags/v1', [{ id: sha('2'), modified: ['meltano/meltano.yml'] }]),
      ).expect(200);
      const deletion = pushPayload({
        repository: { id: repo.id, fullName: repo.fullName },
        installationId: INSTALLATION,
        ref: 'refs/heads/main',
        before: sha('3'),
        after: ZERO_SHA,
        server: server(),
      });
      const res = await deliver('push', deletion).expect(200);
      expect(res.body.result).toMatch(/branch deleted/);
      expect(await pushDeploys()).toHaveLength(before);
    });

    it('deploys when the payload cannot say what changed (forced, no commit list)', async () => {
      const before = (await pushDeploys()).length;
      await deliver(
        'push',
        push('refs/heads/main', [{ id: sha('4'), modified: ['docs/x.md'] }], { forced: true }),
      ).expect(200);
      await deliver('push', push('refs/heads/main', [])).expect(200);
      const deploys = await pushDeploys();
      expect(deploys).toHaveLength(before + 2);
      // Only the newest stays queued: the older one is superseded.
      expect(deploys.filter((d) => d.status === 'queued')).toHaveLength(1);
    });

    it('refuses a payload without what the event needs, without recording the delivery', async () => {
      const deliveryId = randomUUID();
      const bad = { ref: 'refs/heads/main', after: sha('5') };
      const res = await deliver('push', bad, deliveryId).expect(400);
      expect(res.body.errors).toEqual(
        expect.arrayContaining([{ field: 'body.repository', message: 'is required' }]),
      );
      expect(await t.prisma.githubWebhookDelivery.count({ where: { deliveryId } })).toBe(0);
    });
  });

  it('unlinks the installation when it is deleted on GitHub', async () => {
    fake.removeInstallation(INSTALLATION);
    await deliver(
      'installation',
      installationPayload({ action: 'deleted', installation, server: server() }),
    ).expect(200);
    expect((await project()).repository_access).toBe('lost');
    expect(await t.prisma.githubInstallation.count()).toBe(0);
    await deliver(
      'push',
      push('refs/heads/main', [{ id: sha('6'), modified: ['meltano/meltano.yml'] }]),
    ).expect(200);
    expect((await pushDeploys()).map((d) => d.commitSha)).not.toContain(sha('6'));
  });
});
