import { randomUUID } from 'node:crypto';
import { QueueService } from '../../src/queue/queue.service.js';
import type { FakeRepository } from '../support/fake-github.js';
import {
  ZERO_SHA,
  installationPayload,
  installationRepositoriesPayload,
  pushPayload,
  repositoryPayload,
  webhookDelivery,
  type InstallationInput,
  type PushCommitInput,
  type RepositoryEventInput,
} from '../support/github-payloads.js';
import {
  createWarehouseDeployment,
  deliverAppWebhook,
  linkInstallation,
  postWebhook,
  startGitHubAppOrg,
  type GitHubAppOrg,
} from '../support/github-app.js';

describe('GitHub App webhooks: grants kept current, deploy on push', () => {
  // Set in beforeAll.
  let { fake, t, http, users, org } = {} as GitHubAppOrg;
  let repo: FakeRepository;
  let other: FakeRepository;
  let projectId: string;
  let deploymentId: string;
  const INSTALLATION = 5201;
  const account = { login: 'acme', id: 501, type: 'Organization' } as const;
  const installation: InstallationInput = { id: INSTALLATION, account };

  const deliver = (event: string, payload: unknown, deliveryId = randomUUID()) =>
    deliverAppWebhook(http, fake, event, payload, deliveryId);

  const server = () => ({ webUrl: fake.url, apiUrl: fake.apiUrl });

  /** An `installation` event of INSTALLATION. */
  const installationEvent = (action: 'suspend' | 'unsuspend' | 'deleted') =>
    deliver('installation', installationPayload({ action, installation, server: server() }));

  /** INSTALLATION's grant of `repo` taken away or given back. */
  const repoGrant = (action: 'added' | 'removed') =>
    deliver(
      'installation_repositories',
      installationRepositoriesPayload({
        action,
        installation,
        repositories: [{ id: repo.id, fullName: repo.fullName }],
        server: server(),
      }),
    );

  /** A `repository` event delivered to INSTALLATION. */
  const repositoryEvent = (event: RepositoryEventInput) =>
    deliver(
      'repository',
      repositoryPayload({ ...event, installationId: INSTALLATION, server: server() }),
    );

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
    ({ fake, t, http, users, org } = await startGitHubAppOrg());
    fake.addInstallation({
      id: INSTALLATION,
      account,
      repositories: ['acme/warehouse', 'acme/other'],
    });
    repo = fake.addRepository('acme/warehouse');
    other = fake.addRepository('acme/other');
    // Linked as the setup callback would (github.spec.ts covers it end to end).
    await linkInstallation(t.prisma, org.orgId, INSTALLATION, [repo, other]);
    ({ projectId, deploymentId } = await createWarehouseDeployment(
      { fake, t, http, users, org },
      { includePaths: ['../shared/*.meltano.yml'] },
    ));
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });

  describe('signatures and replays', () => {
    it('refuses a bad or missing signature with 401', async () => {
      const payload = installationPayload({ action: 'suspend', installation, server: server() });
      const forged = webhookDelivery('installation', payload, 'not-the-secret');
      const res = await postWebhook(http, forged);
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
      await repoGrant('removed').expect(200);
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
      await repoGrant('added').expect(200);
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
      await installationEvent('suspend').expect(200);
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
      await installationEvent('unsuspend').expect(200);
      expect((await project()).repository_access).toBe('granted');
    });

    it('follows a rename and a transfer of the repository', async () => {
      fake.renameRepository('acme/warehouse', 'acme/lakehouse');
      await repositoryEvent({
        action: 'renamed',
        repository: { id: repo.id, fullName: 'acme/lakehouse' },
        previousName: 'warehouse',
      }).expect(200);
      expect(await project()).toMatchObject({
        repository: 'acme/lakehouse',
        repository_access: 'granted',
      });
      const row = await t.prisma.githubRepository.findFirstOrThrow({
        where: { githubRepoId: BigInt(repo.id) },
      });
      expect(row.fullName).toBe('acme/lakehouse');

      fake.renameRepository('acme/lakehouse', 'acme-data/lakehouse');
      await repositoryEvent({
        action: 'transferred',
        repository: { id: repo.id, fullName: 'acme-data/lakehouse' },
        previousOwner: { login: 'acme', id: 501 },
      }).expect(200);
      expect((await project()).repository).toBe('acme-data/lakehouse');
      // Back to its first name for the push tests.
      fake.renameRepository('acme-data/lakehouse', 'acme/warehouse');
      await repositoryEvent({
        action: 'renamed',
        repository: { id: repo.id, fullName: 'acme/warehouse' },
        previousName: 'lakehouse',
      }).expect(200);
      expect((await project()).repository).toBe('acme/warehouse');
    });

    it('marks projects lost when their repository is deleted', async () => {
      const created = await http
        .post(`/orgs/${org.orgSlug}/projects`)
        .set('authorization', users.admin.bearer)
        .send({ name: 'Other', repository: 'acme/other' })
        .expect(201);
      fake.removeRepository('acme/other');
      await repositoryEvent({
        action: 'deleted',
        repository: { id: other.id, fullName: 'acme/other' },
      }).expect(200);
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
    await installationEvent('deleted').expect(200);
    expect((await project()).repository_access).toBe('lost');
    expect(await t.prisma.githubInstallation.count()).toBe(0);
    await deliver(
      'push',
      push('refs/heads/main', [{ id: sha('6'), modified: ['meltano/meltano.yml'] }]),
    ).expect(200);
    expect((await pushDeploys()).map((d) => d.commitSha)).not.toContain(sha('6'));
  });
});
