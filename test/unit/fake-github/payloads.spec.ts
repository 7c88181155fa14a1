import { Webhooks } from '@octokit/webhooks';
import { verify } from '@octokit/webhooks-methods';
import {
  ZERO_SHA,
  installationPayload,
  installationRepositoriesPayload,
  pushPayload,
  repositoryPayload,
  signWebhook,
  webhookDelivery,
  webhookHeaders,
} from '../../support/github-payloads.js';
import { startFakeGitHub, type FakeGitHub } from '../../support/fake-github.js';

const installation = {
  id: 31,
  account: { login: 'acme', id: 701, type: 'Organization' as const },
};
const repository = { id: 8001, fullName: 'acme/data', defaultBranch: 'main' };

describe('GitHub webhook payloads', () => {
  it('signs bodies the way GitHub does (X-Hub-Signature-256)', async () => {
    const body = JSON.stringify({ zen: 'Keep it logically awesome.' });
    const signature = signWebhook('s3cret', body);
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(await verify('s3cret', body, signature)).toBe(true);
    expect(await verify('other', body, signature)).toBe(false);

    const headers = webhookHeaders('push', 'd-1', body, 's3cret');
    expect(headers).toMatchObject({
      'X-GitHub-Event': 'push',
      'X-GitHub-Delivery': 'd-1',
      'X-Hub-Signature-256': signature,
      'Content-Type': 'application/json',
    });
    expect(headers['User-Agent']).toMatch(/^GitHub-Hookshot\//);
  });

  it('builds deliveries that @octokit/webhooks verifies and dispatches', async () => {
    const webhooks = new Webhooks({ secret: 'hook-secret' });
    const seen: string[] = [];
    webhooks.on('installation.created', ({ payload }) => {
      seen.push(`installation.created ${payload.installation.id} ${payload.repositories?.length}`);
    });
    webhooks.on('push', ({ payload }) => {
      seen.push(`push ${payload.ref} ${payload.head_commit?.id}`);
    });
    const created = webhookDelivery(
      'installation',
      installationPayload({ action: 'created', installation, repositories: [repository] }),
      'hook-secret',
    );
    const push = webhookDelivery(
      'push',
      pushPayload({
        repository,
        installationId: 31,
        ref: 'main',
        before: 'a'.repeat(40),
        after: 'b'.repeat(40),
        commits: [{ id: 'b'.repeat(40), modified: ['data/meltano.yml'] }],
      }),
      'hook-secret',
    );
    for (const delivery of [created, push]) {
      await webhooks.verifyAndReceive({
        id: delivery.deliveryId,
        name: delivery.headers['X-GitHub-Event'] as 'push',
        payload: delivery.body,
        signature: delivery.headers['X-Hub-Signature-256']!,
      });
    }
    expect(seen).toEqual(['installation.created 31 1', `push refs/heads/main ${'b'.repeat(40)}`]);
  });

  it('shapes installation and installation_repositories events', () => {
    const suspended = installationPayload({ action: 'suspend', installation });
    expect(suspended).toMatchObject({
      action: 'suspend',
      installation: {
        id: 31,
        account: { login: 'acme', id: 701, type: 'Organization' },
        repository_selection: 'selected',
        target_type: 'Organization',
      },
      sender: { login: 'octocat', type: 'User' },
    });
    expect(suspended.installation.suspended_at).toEqual(expect.any(String));
    expect(
      installationPayload({ action: 'unsuspend', installation }).installation.suspended_at,
    ).toBeNull();
    const deleted = installationPayload({
      action: 'deleted',
      installation,
      repositories: [repository],
    });
    expect(deleted.repositories).toEqual([
      {
        id: 8001,
        node_id: expect.any(String),
        name: 'data',
        full_name: 'acme/data',
        private: true,
      },
    ]);

    const added = installationRepositoriesPayload({
      action: 'added',
      installation,
      repositories: [repository],
    });
    expect(added.repositories_added.map((r) => r.full_name)).toEqual(['acme/data']);
    expect(added.repositories_removed).toEqual([]);
    const removed = installationRepositoriesPayload({
      action: 'removed',
      installation,
      repositories: [repository],
    });
    expect(removed.repositories_removed.map((r) => r.id)).toEqual([8001]);
  });

  it('shapes repository renamed / transferred / deleted events', () => {
    const renamed = repositoryPayload({
      action: 'renamed',
      repository: { ...repository, fullName: 'acme/warehouse' },
      previousName: 'data',
      installationId: 31,
    });
    expect(renamed).toMatchObject({
      action: 'renamed',
      changes: { repository: { name: { from: 'data' } } },
      repository: { id: 8001, name: 'warehouse', full_name: 'acme/warehouse' },
      installation: { id: 31 },
    });
    const transferred = repositoryPayload({
      action: 'transferred',
      repository: { ...repository, fullName: 'globex/data' },
      previousOwner: { login: 'acme', id: 701, type: 'Organization' },
      installationId: 31,
    });
    expect(transferred).toMatchObject({
      changes: { owner: { from: { organization: { login: 'acme', id: 701 } } } },
      repository: { full_name: 'globex/data', owner: { login: 'globex' } },
    });
    const deleted = repositoryPayload({ action: 'deleted', repository, installationId: 31 });
    expect(deleted).toMatchObject({ action: 'deleted', repository: { full_name: 'acme/data' } });
  });

  describe('push payloads from a fake repository', () => {
    let fake: FakeGitHub;
    beforeAll(async () => {
      fake = await startFakeGitHub();
    });
    afterAll(async () => {
      await fake.close();
    });

    it('describes the commits the fake made, with its URLs', async () => {
      const repo = fake.addRepository('acme/data', { defaultBranch: 'main' });
      const first = await repo.commit('main', { 'data/meltano.yml': 'version: 1\n', 'x.txt': 'x' });
      const second = await repo.commit('main', {
        'data/meltano.yml': 'version: 2\n',
        'x.txt': null,
      });
      const changes = await repo.changedFiles(first, second);
      const payload = pushPayload({
        server: fake,
        repository: repo,
        installationId: 31,
        ref: 'refs/heads/main',
        before: first,
        after: second,
        commits: [{ id: second, message: 'Bump', ...changes }],
      });
      expect(payload).toMatchObject({
        ref: 'refs/heads/main',
        before: first,
        after: second,
        created: false,
        deleted: false,
        repository: {
          id: repo.id,
          full_name: 'acme/data',
          default_branch: 'main',
          clone_url: `${fake.url}/acme/data.git`,
        },
        installation: { id: 31 },
        head_commit: {
          id: second,
          message: 'Bump',
          added: [],
          modified: ['data/meltano.yml'],
          removed: ['x.txt'],
        },
      });
      expect(payload.commits).toHaveLength(1);
      expect(typeof payload.repository.pushed_at).toBe('number');

      const created = pushPayload({
        repository: repo,
        installationId: 31,
        ref: 'feature',
        before: ZERO_SHA,
        after: second,
      });
      expect(created).toMatchObject({ created: true, deleted: false, head_commit: null });
      const gone = pushPayload({
        repository: repo,
        installationId: 31,
        ref: 'feature',
        before: second,
        after: ZERO_SHA,
      });
      expect(gone).toMatchObject({ created: false, deleted: true, head_commit: null });
    });
  });
});
