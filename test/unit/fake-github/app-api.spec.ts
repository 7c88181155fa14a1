import { App } from '@octokit/app';
import { Octokit } from '@octokit/core';
import { startFakeGitHub, type FakeGitHub } from '../../support/fake-github.js';

describe('fake GitHub: App API through @octokit/app', () => {
  let fake: FakeGitHub;
  let app: App;

  beforeAll(async () => {
    fake = await startFakeGitHub();
    fake.addInstallation({
      id: 11,
      account: { login: 'acme', id: 501, type: 'Organization' },
      repositories: ['acme/data', 'acme/ops', 'acme/web'],
    });
    fake.addInstallation({
      id: 12,
      account: { login: 'bob', id: 502, type: 'User' },
      repositories: ['bob/personal'],
    });
    for (const name of ['acme/data', 'acme/ops', 'acme/web', 'acme/secret', 'bob/personal']) {
      fake.addRepository(name);
    }
    app = new App({
      appId: fake.appId,
      privateKey: fake.appPrivateKeyPem,
      Octokit: Octokit.defaults({ baseUrl: fake.apiUrl }),
    });
  });
  afterAll(async () => {
    await fake.close();
  });

  it('authenticates as the App with an RS256 JWT', async () => {
    const { data } = await app.octokit.request('GET /app');
    expect(data).toMatchObject({ id: fake.appId, slug: fake.appSlug });
    const { data: installation } = await app.octokit.request(
      'GET /app/installations/{installation_id}',
      { installation_id: 11 },
    );
    expect(installation).toMatchObject({
      id: 11,
      account: { login: 'acme', id: 501, type: 'Organization' },
      app_id: fake.appId,
      repository_selection: 'selected',
      suspended_at: null,
    });
    const { data: forRepo } = await app.octokit.request('GET /repos/{owner}/{repo}/installation', {
      owner: 'bob',
      repo: 'personal',
    });
    expect(forRepo.id).toBe(12);
    await expect(
      app.octokit.request('GET /app/installations/{installation_id}', { installation_id: 99 }),
    ).rejects.toMatchObject({ status: 404 });
  });

  it('refuses JWTs not signed with the App key, and non-JWT credentials', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const other = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    const impostor = new App({
      appId: fake.appId,
      privateKey: other.privateKey,
      Octokit: Octokit.defaults({ baseUrl: fake.apiUrl }),
    });
    await expect(impostor.octokit.request('GET /app')).rejects.toMatchObject({ status: 401 });
    const wrongId = new App({
      appId: fake.appId + 1,
      privateKey: fake.appPrivateKeyPem,
      Octokit: Octokit.defaults({ baseUrl: fake.apiUrl }),
    });
    await expect(wrongId.octokit.request('GET /app')).rejects.toMatchObject({ status: 401 });
    const res = await fetch(`${fake.apiUrl}/app`, { headers: { Authorization: 'token ghs_x' } });
    expect(res.status).toBe(401);
  });

  it('mints installation tokens and lists the installation repositories', async () => {
    const before = fake.mintedTokens.length;
    const octokit = await app.getInstallationOctokit(11);
    const { data } = await octokit.request('GET /installation/repositories');
    expect(data.total_count).toBe(3);
    expect(data.repositories.map((r) => r.full_name)).toEqual([
      'acme/data',
      'acme/ops',
      'acme/web',
    ]);
    expect(data.repositories[0]).toMatchObject({
      name: 'data',
      private: true,
      default_branch: 'main',
      owner: { login: 'acme', id: 501, type: 'Organization' },
      clone_url: `${fake.url}/acme/data.git`,
    });
    const minted = fake.mintedTokens.slice(before);
    expect(minted).toHaveLength(1);
    expect(minted[0]).toMatchObject({ installationId: 11, repositoryIds: null, revoked: false });
    const ttl = minted[0]!.expiresAt.getTime() - minted[0]!.createdAt.getTime();
    expect(ttl).toBe(3600 * 1000);

    // Pagination (Link header), as app.eachRepository follows it.
    const page2 = await octokit.request('GET /installation/repositories', { per_page: 2, page: 2 });
    expect(page2.data.repositories.map((r) => r.full_name)).toEqual(['acme/web']);
    const page1 = await octokit.request('GET /installation/repositories', { per_page: 2 });
    expect(page1.headers.link).toContain('rel="next"');
    const seen: string[] = [];
    for await (const { repository } of app.eachRepository.iterator({ installationId: 11 })) {
      seen.push(repository.full_name);
    }
    expect(seen).toEqual(['acme/data', 'acme/ops', 'acme/web']);
  });

  it('scopes a token to repositories and answers the REST shape GitHub does', async () => {
    const { data } = await app.octokit.request(
      'POST /app/installations/{installation_id}/access_tokens',
      { installation_id: 11, repositories: ['ops'] },
    );
    expect(data.token).toMatch(/^ghs_/);
    expect(data.expires_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(data.repository_selection).toBe('selected');
    expect(data.permissions).toEqual({ contents: 'read', metadata: 'read' });
    expect(data.repositories?.map((r) => r.full_name)).toEqual(['acme/ops']);
    const opsId = fake.repository('acme/ops')!.id;
    expect(fake.mintedTokens.at(-1)).toMatchObject({
      token: data.token,
      repositoryIds: [opsId],
      repositories: ['acme/ops'],
    });

    const scoped = new Octokit({ baseUrl: fake.apiUrl, auth: data.token });
    const listed = await scoped.request('GET /installation/repositories');
    expect(listed.data.repositories.map((r) => r.full_name)).toEqual(['acme/ops']);
    await expect(
      scoped.request('GET /repos/{owner}/{repo}', { owner: 'acme', repo: 'data' }),
    ).rejects.toMatchObject({ status: 404 });

    const byId = await app.octokit.request(
      'POST /app/installations/{installation_id}/access_tokens',
      { installation_id: 11, repository_ids: [opsId] },
    );
    expect(byId.data.repositories?.map((r) => r.id)).toEqual([opsId]);

    // Repositories the installation cannot reach are refused.
    await expect(
      app.octokit.request('POST /app/installations/{installation_id}/access_tokens', {
        installation_id: 11,
        repositories: ['secret'],
      }),
    ).rejects.toMatchObject({ status: 422 });
    await expect(
      app.octokit.request('POST /app/installations/{installation_id}/access_tokens', {
        installation_id: 11,
        permissions: { contents: 'write' },
      }),
    ).rejects.toMatchObject({ status: 422 });
  });

  it('serves repositories, branches and head commits for installation tokens', async () => {
    const repo = fake.repository('acme/data')!;
    const first = await repo.commit('main', { 'data/meltano.yml': 'version: 1\n' }, 'Add project');
    const second = await repo.commit('main', { 'README.md': '# data\n' });
    const feature = await repo.commit('feature/x', { 'data/meltano.yml': 'version: 2\n' });
    expect(await repo.headSha('main')).toBe(second);
    expect(await repo.headSha('nope')).toBeNull();
    expect((await repo.branches()).sort()).toEqual(['feature/x', 'main']);
    expect(await repo.changedFiles(first, feature)).toEqual({
      added: ['README.md'],
      modified: ['data/meltano.yml'],
      removed: [],
    });

    const octokit = await app.getInstallationOctokit(11);
    const { data: meta } = await octokit.request('GET /repos/{owner}/{repo}', {
      owner: 'acme',
      repo: 'data',
    });
    expect(meta).toMatchObject({ id: repo.id, full_name: 'acme/data', default_branch: 'main' });

    const { data: commit } = await octokit.request('GET /repos/{owner}/{repo}/commits/{ref}', {
      owner: 'acme',
      repo: 'data',
      ref: 'main',
    });
    expect(commit.sha).toBe(second);
    expect(commit.parents.map((p) => p.sha)).toEqual([first]);
    expect(commit.commit.message).toBe('Update README.md');
    expect(commit.files).toEqual([{ filename: 'README.md', status: 'added' }]);

    const { data: sha } = await octokit.request('GET /repos/{owner}/{repo}/commits/{ref}', {
      owner: 'acme',
      repo: 'data',
      ref: 'feature/x',
      mediaType: { format: 'sha' },
    });
    expect(sha).toBe(feature);

    const { data: branch } = await octokit.request('GET /repos/{owner}/{repo}/branches/{branch}', {
      owner: 'acme',
      repo: 'data',
      branch: 'main',
    });
    expect(branch).toMatchObject({ name: 'main', commit: { sha: second }, protected: false });

    const commitOf = (repo: string, ref: string) =>
      octokit.request('GET /repos/{owner}/{repo}/commits/{ref}', { owner: 'acme', repo, ref });
    await expect(commitOf('data', 'no-such-branch')).rejects.toMatchObject({ status: 422 });
    await expect(commitOf('web', 'main')).rejects.toMatchObject({ status: 409 });
    await expect(
      octokit.request('GET /repos/{owner}/{repo}', { owner: 'bob', repo: 'personal' }),
    ).rejects.toMatchObject({ status: 404 });
  });

  it('refuses expired, revoked and suspended-installation tokens', async () => {
    const mint = async () =>
      (
        await app.octokit.request('POST /app/installations/{installation_id}/access_tokens', {
          installation_id: 12,
        })
      ).data.token;
    const get = (token: string) =>
      fetch(`${fake.apiUrl}/installation/repositories`, {
        headers: { Authorization: `token ${token}` },
      });

    const expiring = await mint();
    expect((await get(expiring)).status).toBe(200);
    fake.expireToken(expiring);
    expect((await get(expiring)).status).toBe(401);

    const revoked = await mint();
    const del = await fetch(`${fake.apiUrl}/installation/token`, {
      method: 'DELETE',
      headers: { Authorization: `token ${revoked}` },
    });
    expect(del.status).toBe(204);
    expect((await get(revoked)).status).toBe(401);

    const live = await mint();
    fake.suspendInstallation(12);
    try {
      expect((await get(live)).status).toBe(403);
      await expect(mint()).rejects.toMatchObject({ status: 403 });
      const { data } = await app.octokit.request('GET /app/installations/{installation_id}', {
        installation_id: 12,
      });
      expect(data.suspended_at).not.toBeNull();
    } finally {
      fake.unsuspendInstallation(12);
    }
    expect((await get(live)).status).toBe(200);
  });
});
