import { randomUUID } from 'node:crypto';
import { startWorker, type RunningWorker } from '../../worker/worker.js';
import type { FakeRepository } from '../support/fake-github.js';
import { pushPayload, webhookDelivery } from '../support/github-payloads.js';
import {
  createWarehouseProject,
  linkInstallation,
  postWebhook,
  settledDeploy,
  startGitHubAppOrg,
  type GitHubAppOrg,
} from '../support/github-app.js';

const MELTANO_YML = `version: 1
default_environment: dev
environments:
  - name: dev
  - name: prod
plugins:
  extractors:
    - name: tap-github
  loaders:
    - name: target-postgres
jobs:
  - name: load
    tasks:
      - tap-github target-postgres
schedules:
  - name: daily-load
    interval: '@daily'
    job: load
  - name: hourly-elt
    interval: '0 * * * *'
    extractor: tap-github
    loader: target-postgres
    transform: skip
  - name: staging-only
    interval: '@hourly'
    job: load
    annotations:
      meltano.cloud:
        environments: [staging]
`;

describe('deploys from a GitHub App repository, end to end through the worker', () => {
  // Set in beforeAll.
  let { fake, t, http, users, org } = {} as GitHubAppOrg;
  let worker: RunningWorker;
  let repo: FakeRepository;
  let base: string;
  const INSTALLATION = 6301;

  const settled = (deployId: string) => settledDeploy(t.prisma, deployId, 25_000);

  const schedules = async () =>
    (
      await http
        .get(`${base}/deployments/prod/schedules`)
        .set('authorization', users.viewer.bearer)
        .expect(200)
    ).body.results as { name: string; interval: string; archived: boolean }[];

  beforeAll(async () => {
    ({ fake, t, http, users, org } = await startGitHubAppOrg());
    worker = await startWorker(t.config);
    fake.addInstallation({
      id: INSTALLATION,
      account: { login: 'acme', id: 501, type: 'Organization' },
      repositories: ['acme/warehouse', 'acme/neighbour'],
    });
    repo = fake.addRepository('acme/warehouse');
    fake.addRepository('acme/neighbour');
    await repo.commit('main', { 'meltano/meltano.yml': MELTANO_YML, 'README.md': '# warehouse\n' });
    await linkInstallation(t.prisma, org.orgId, INSTALLATION, [repo]);
    await createWarehouseProject({ fake, t, http, users, org });
    base = `/orgs/${org.orgSlug}/projects/warehouse`;
  }, 60_000);
  afterAll(async () => {
    await worker?.stop();
    await t.close();
    await fake.close();
  });

  it('clones with a token scoped to the one repository, reads meltano.yml and syncs schedules', async () => {
    await http
      .post(`${base}/deployments`)
      .set('authorization', users.admin.bearer)
      .send({ name: 'prod', environment: 'prod', branch: 'main' })
      .expect(201);
    const [queued] = await t.prisma.deploy.findMany({
      where: { organizationId: org.orgId, NOT: { id: org.deployId } },
    });
    const deploy = await settled(queued!.id);
    expect(deploy).toMatchObject({
      status: 'succeeded',
      trigger: 'create',
      commitSha: await repo.headSha('main'),
    });

    const minted = fake.mintedTokens.at(-1)!;
    expect(minted).toMatchObject({
      installationId: INSTALLATION,
      repositoryIds: [repo.id],
      repositories: ['acme/warehouse'],
      permissions: { contents: 'read' },
    });
    const attempts = fake.cloneAttempts.filter((a) => a.credentials);
    expect(attempts.length).toBeGreaterThan(0);
    expect(attempts.every((a) => a.repo === 'acme/warehouse' && a.authorized)).toBe(true);
    expect(attempts[0]).toMatchObject({ installationId: INSTALLATION, reason: null });
    // The token appears nowhere in what was stored.
    const stored = JSON.stringify(
      await t.prisma.deploy.findMany({ include: { deployment: true } }),
      (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v),
    );
    expect(stored).not.toContain(minted.token);

    const synced = await schedules();
    expect(synced.map((s) => [s.name, s.interval]).sort()).toEqual([
      ['daily-load', '@daily'],
      ['hourly-elt', '0 * * * *'],
    ]);
    const deployment = await http
      .get(`${base}/deployments/prod`)
      .set('authorization', users.viewer.bearer)
      .expect(200);
    expect(deployment.body).toMatchObject({
      status: 'ready',
      deployed_commit_sha: deploy.commitSha,
    });
  });

  it('reads meltano.yml with a scoped installation token before creating a deployment, and refuses an undeclared environment', async () => {
    const tokensBefore = fake.mintedTokens.length;
    const clonesBefore = fake.cloneAttempts.length;
    const refused = await http
      .post(`${base}/deployments`)
      .set('authorization', users.admin.bearer)
      .send({ name: 'staging', environment: 'staging', branch: 'main' })
      .expect(422);
    expect(refused.body.detail).toBe(
      "meltano/meltano.yml on branch 'main' has no environment 'staging'; it declares: dev, prod.",
    );
    expect(refused.body.errors).toEqual([
      { field: 'body.environment', message: 'must be one of dev, prod' },
    ]);
    expect(fake.mintedTokens.slice(tokensBefore)).toMatchObject([
      { installationId: INSTALLATION, repositories: ['acme/warehouse'] },
    ]);
    const clones = fake.cloneAttempts.slice(clonesBefore).filter((a) => a.credentials);
    expect(clones.length).toBeGreaterThan(0);
    expect(clones.every((a) => a.repo === 'acme/warehouse' && a.authorized)).toBe(true);
    expect(
      await t.prisma.deployment.count({ where: { organizationId: org.orgId, name: 'staging' } }),
    ).toBe(0);
  });

  it('deploys on a push that touches the project', async () => {
    const before = (await repo.headSha('main'))!;
    const after = await repo.commit('main', {
      'meltano/meltano.yml': MELTANO_YML.replace("interval: '@daily'", "interval: '@weekly'"),
    });
    const changed = await repo.changedFiles(before, after);
    const delivery = webhookDelivery(
      'push',
      pushPayload({
        repository: { id: repo.id, fullName: repo.fullName },
        installationId: INSTALLATION,
        ref: 'refs/heads/main',
        before,
        after,
        commits: [{ id: after, ...changed }],
        server: { webUrl: fake.url, apiUrl: fake.apiUrl },
      }),
      fake.webhookSecret,
      randomUUID(),
    );
    const res = await postWebhook(http, delivery).expect(200);
    expect(res.body.deploys).toHaveLength(1);
    const deploy = await settled(res.body.deploys[0]);
    expect(deploy).toMatchObject({ status: 'succeeded', trigger: 'push', commitSha: after });
    expect((await schedules()).find((s) => s.name === 'daily-load')?.interval).toBe('@weekly');
  });

  it('fails a redeploy with a reason the user can act on once the grant is revoked', async () => {
    // Revoked on GitHub; the webhook has not arrived (or was lost): the token is refused.
    fake.revoke(INSTALLATION, 'acme/warehouse');
    const tokensBefore = fake.mintedTokens.length;
    const clonesBefore = fake.cloneAttempts.length;
    const queued = await http
      .post(`${base}/deployments/prod/deploys`)
      .set('authorization', users.admin.bearer)
      .expect(201);
    const deploy = await settled(queued.body.id);
    expect(deploy.status).toBe('failed');
    expect(deploy.message).toMatch(
      /The GitHub App installation on acme no longer grants access to acme\/warehouse/,
    );
    const project = await http.get(base).set('authorization', users.viewer.bearer).expect(200);
    expect(project.body.repository_access).toBe('lost');
    const deployment = await http
      .get(`${base}/deployments/prod`)
      .set('authorization', users.viewer.bearer)
      .expect(200);
    // It keeps running its last good commit, and says why the new deploy failed.
    expect(deployment.body.status).toBe('ready');
    expect(deployment.body.status_message).toMatch(/Deploy failed: .*no longer grants access/);
    // GitHub minted no token, so no clone was attempted.
    expect(fake.mintedTokens).toHaveLength(tokensBefore);
    expect(fake.cloneAttempts).toHaveLength(clonesBefore);

    // Once granted again (webhook), a redeploy works.
    fake.grant(INSTALLATION, 'acme/warehouse');
    const added = webhookDelivery(
      'installation_repositories',
      {
        action: 'added',
        installation: { id: INSTALLATION, account: { login: 'acme', type: 'Organization' } },
        repositories_added: [{ id: repo.id, full_name: repo.fullName, private: true }],
        repositories_removed: [],
      },
      fake.webhookSecret,
    );
    await postWebhook(http, added).expect(200);
    const again = await http
      .post(`${base}/deployments/prod/deploys`)
      .set('authorization', users.admin.bearer)
      .expect(201);
    expect((await settled(again.body.id)).status).toBe('succeeded');
    await http
      .get(base)
      .set('authorization', users.viewer.bearer)
      .expect(200)
      .expect((r) => expect(r.body.repository_access).toBe('granted'));
  });

  it('creates a deployment as before when the grant is gone; its first deploy says so', async () => {
    fake.revoke(INSTALLATION, 'acme/warehouse');
    const created = await http
      .post(`${base}/deployments`)
      .set('authorization', users.admin.bearer)
      .send({ name: 'later', environment: 'staging', branch: 'main' })
      .expect(201);
    const [queued] = await t.prisma.deploy.findMany({ where: { deploymentId: created.body.id } });
    const deploy = await settled(queued!.id);
    expect(deploy.status).toBe('failed');
    expect(deploy.message).toMatch(
      /The GitHub App installation on acme no longer grants access to acme\/warehouse/,
    );
  });
});
