import { randomUUID } from 'node:crypto';
import type { FakeRepository } from '../support/fake-github.js';
import { pushPayload } from '../support/github-payloads.js';
import { createRoleUsers, seedOrg } from '../support/fixtures.js';
import {
  createWarehouseDeployment,
  deliverAppWebhook,
  linkInstallation,
  startGitHubAppOrg,
  type GitHubAppOrg,
} from '../support/github-app.js';

/** Issue 14, web security: replayed pushes and installation-id probing. */

describe('issue 14: GitHub webhooks and installation setup give nothing away and repeat nothing', () => {
  // Set in beforeAll.
  let { fake, t, http, users, org } = {} as GitHubAppOrg;
  let repo: FakeRepository;
  let deploymentId: string;
  const INSTALLATION = 7301;
  const OTHER_INSTALLATION = 7302;
  const UNLINKED_INSTALLATION = 7303;
  const sha = (c: string) => c.repeat(40).slice(0, 40);

  const deliver = (event: string, payload: unknown, deliveryId = randomUUID()) =>
    deliverAppWebhook(http, fake, event, payload, deliveryId);
  const push = (after: string) =>
    pushPayload({
      repository: { id: repo.id, fullName: repo.fullName },
      installationId: INSTALLATION,
      ref: 'refs/heads/main',
      before: 'a'.repeat(40),
      after,
      commits: [{ id: after, modified: ['meltano/meltano.yml'] }],
      server: { webUrl: fake.url, apiUrl: fake.apiUrl },
    });
  const pushDeploys = () =>
    t.prisma.deploy.findMany({
      where: { deploymentId, trigger: 'push' },
      orderBy: { createdAt: 'asc' },
    });

  beforeAll(async () => {
    ({ fake, t, http, users, org } = await startGitHubAppOrg());
    const account = { login: 'acme', id: 501, type: 'Organization' } as const;
    fake.addInstallation({ id: INSTALLATION, account, repositories: ['acme/warehouse'] });
    fake.addInstallation({
      id: OTHER_INSTALLATION,
      account: { login: 'elsewhere', id: 502, type: 'Organization' },
      repositories: [],
    });
    fake.addInstallation({
      id: UNLINKED_INSTALLATION,
      account: { login: 'nobody', id: 503, type: 'Organization' },
      repositories: [],
    });
    repo = fake.addRepository('acme/warehouse');
    await linkInstallation(t.prisma, org.orgId, INSTALLATION, [repo]);
    ({ deploymentId } = await createWarehouseDeployment({ fake, t, http, users, org }));
    // Another organization has the other installation linked.
    const other = await seedOrg(t.prisma, await createRoleUsers(t.prisma));
    await linkInstallation(t.prisma, other.orgId, OTHER_INSTALLATION, [], 'elsewhere');
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });

  it('a signed push re-sent under a new X-GitHub-Delivery queues no second deploy', async () => {
    const payload = push(sha('e'));
    const first = await deliver('push', payload).expect(200);
    expect(first.body.deploys).toHaveLength(1);
    for (let i = 0; i < 3; i++) {
      const again = await deliver('push', payload).expect(200);
      expect(again.body.deploys).toEqual([]);
      expect(again.body.result).toBe('push: nothing to deploy');
    }
    const deploys = await pushDeploys();
    expect(deploys.map((d) => [d.commitSha, d.status])).toEqual([[sha('e'), 'queued']]);
  });

  it('a push of the commit the deployment already runs is a no-op; a new head deploys', async () => {
    await t.prisma.deploy.updateMany({ where: { deploymentId }, data: { status: 'succeeded' } });
    await t.prisma.deployment.update({
      where: { id: deploymentId },
      data: { deployedCommitSha: sha('e') },
    });
    const replay = await deliver('push', push(sha('e'))).expect(200);
    expect(replay.body.deploys).toEqual([]);
    const next = await deliver('push', push(sha('f'))).expect(200);
    expect(next.body.deploys).toHaveLength(1);
    expect((await pushDeploys()).map((d) => d.commitSha)).toEqual([sha('e'), sha('f')]);
  });

  it('"installation not linked" and "linked to another organization" get the same answer', async () => {
    const answer = async (installationId: number) => {
      const res = await http
        .get(`/github/setup?installation_id=${installationId}&setup_action=update`)
        .set('authorization', users.owner.bearer);
      const { request_id: _id, instance: _instance, ...rest } = res.body as Record<string, unknown>;
      return { status: res.status, type: res.headers['content-type'], body: rest };
    };
    const unlinked = await answer(UNLINKED_INSTALLATION);
    const linkedElsewhere = await answer(OTHER_INSTALLATION);
    const unknown = await answer(987654);
    expect(unlinked.status).toBe(400);
    expect(unlinked.type).toContain('application/problem+json');
    expect(linkedElsewhere).toEqual(unlinked);
    expect(unknown).toEqual(unlinked);
    expect(await t.prisma.githubInstallation.count()).toBe(2);
  });
});
