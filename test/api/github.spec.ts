import type { FakeGitHubUser } from '../support/fake-github.js';
import { seedOrg } from '../support/fixtures.js';
import { startGitHubAppOrg, type GitHubAppOrg } from '../support/github-app.js';

describe('GitHub App: install flow, granted repositories, projects', () => {
  // Set in beforeAll.
  let { fake, t, http, users, org } = {} as GitHubAppOrg;
  let ghAdmin: FakeGitHubUser;
  let ghStranger: FakeGitHubUser;
  const INSTALLATION = 4101;

  /** What GitHub's "request user authorization during installation" hands the setup URL. */
  async function userCode(user: FakeGitHubUser): Promise<string> {
    fake.signInAs(user);
    const res = await fetch(
      `${fake.url}/login/oauth/authorize?client_id=${fake.clientId}&redirect_uri=${encodeURIComponent(
        'http://127.0.0.1/github/setup',
      )}`,
      { redirect: 'manual' },
    );
    const code = new URL(res.headers.get('location')!).searchParams.get('code');
    expect(code).toBeTruthy();
    return code!;
  }

  async function installState(bearer: string): Promise<string> {
    const res = await http
      .get(`/orgs/${org.orgSlug}/github/install`)
      .set('authorization', bearer)
      .expect(302);
    const location = new URL(res.headers.location as string);
    expect(`${location.origin}${location.pathname}`).toBe(
      `${fake.url}/apps/${fake.appSlug}/installations/new`,
    );
    return location.searchParams.get('state')!;
  }

  const setupUrl = (params: Record<string, string | number>) =>
    `/github/setup?${new URLSearchParams(
      Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])),
    ).toString()}`;

  /** The admin reaching the setup URL for INSTALLATION with the code GitHub gave `user`. */
  const setup = async (
    status: number,
    params: { state?: string; setup_action?: string },
    user = ghAdmin,
  ) =>
    http
      .get(
        setupUrl({
          installation_id: INSTALLATION,
          setup_action: 'install',
          ...params,
          code: await userCode(user),
        }),
      )
      .set('authorization', users.admin.bearer)
      .expect(status);

  beforeAll(async () => {
    ({ fake, t, http, users, org } = await startGitHubAppOrg({
      github: { clientId: 'Iv1.app-client', clientSecret: 'app-client-secret' },
    }));
    ghAdmin = { id: 8101, login: users.admin.login };
    ghStranger = { id: 8102, login: 'someone-else' };
    // The admin signed in with GitHub: the setup checks the code is theirs.
    await t.prisma.user.update({ where: { id: users.admin.id }, data: { githubId: 8101n } });
    fake.addInstallation({
      id: INSTALLATION,
      account: { login: 'acme', id: 501, type: 'Organization' },
      repositories: ['acme/data', 'acme/ops'],
      admins: [users.admin.login, users.owner.login],
    });
    for (const name of ['acme/data', 'acme/ops', 'acme/secret']) fake.addRepository(name);
  });
  afterAll(async () => {
    await t.close();
    await fake.close();
  });

  it('sends admins to the App’s installation page with a signed state; members may not', async () => {
    const state = await installState(users.admin.bearer);
    expect(state).toMatch(/^[\w-]+\.[\w-]+$/);
    await http
      .get(`/orgs/${org.orgSlug}/github/install`)
      .set('authorization', users.member.bearer)
      .expect(403);
    await http
      .get(`/orgs/${org.orgSlug}/github/install`)
      .set('authorization', users.outsider.bearer)
      .expect(404);
  });

  it('refuses setups it cannot verify: bad state, another user’s state, no code, non-admin code', async () => {
    const state = await installState(users.admin.bearer);
    const tampered = await http
      .get(setupUrl({ installation_id: INSTALLATION, setup_action: 'install', state: `${state}x` }))
      .set('authorization', users.admin.bearer)
      .expect(400);
    expect(tampered.body.errors).toEqual([
      { field: 'query.state', message: 'is invalid or expired' },
    ]);

    const ownersState = await installState(users.owner.bearer);
    const foreign = await setup(403, { state: ownersState });
    expect(foreign.body.detail).toMatch(/started by another user/);

    const noCode = await http
      .get(setupUrl({ installation_id: INSTALLATION, setup_action: 'install', state }))
      .set('authorization', users.admin.bearer)
      .expect(403);
    expect(noCode.body.detail).toMatch(/Request user authorization \(OAuth\) during installation/);

    // A GitHub user who cannot administer the installation (and is not the signed-in user).
    const wrongUser = await setup(403, { state }, ghStranger);
    expect(wrongUser.body.detail).toMatch(/signed in to GitHub as someone-else/);

    // The signed-in member is not an admin of the organization any more.
    await t.prisma.membership.updateMany({
      where: { organizationId: org.orgId, userId: users.admin.id },
      data: { role: 'member' },
    });
    const demoted = await setup(403, { state });
    expect(demoted.body.detail).toMatch(/Only admins/);
    await t.prisma.membership.updateMany({
      where: { organizationId: org.orgId, userId: users.admin.id },
      data: { role: 'admin' },
    });
    expect(await t.prisma.githubInstallation.count()).toBe(0);
  });

  it('refuses a GitHub user who cannot administer the installation', async () => {
    // The admin's own GitHub account, no longer an admin of the installation on GitHub.
    fake.installation(INSTALLATION)!.admins = [users.owner.login];
    try {
      const state = await installState(users.admin.bearer);
      const res = await setup(403, { state });
      expect(res.body.detail).toMatch(/cannot administer installation 4101/);
    } finally {
      fake.installation(INSTALLATION)!.admins = [users.admin.login, users.owner.login];
    }
  });

  it('links the installation and syncs its repositories from the API', async () => {
    const state = await installState(users.admin.bearer);
    const res = await setup(200, { state });
    expect(res.body).toMatchObject({
      installation_id: INSTALLATION,
      account_login: 'acme',
      account_type: 'Organization',
      suspended: false,
      granted_repositories: 2,
    });
    const rows = await t.prisma.githubRepository.findMany({ orderBy: { fullName: 'asc' } });
    expect(rows.map((r) => [r.fullName, Number(r.githubRepoId), r.revokedAt])).toEqual([
      ['acme/data', fake.repository('acme/data')!.id, null],
      ['acme/ops', fake.repository('acme/ops')!.id, null],
    ]);
    const audit = await t.prisma.auditEvent.findFirst({
      where: { organizationId: org.orgId, action: 'github.installation.link' },
    });
    expect(audit).toMatchObject({
      actorUserId: users.admin.id,
      resourceType: 'github_installation',
    });
    // Installation tokens are not kept anywhere.
    const minted = fake.mintedTokens.map((m) => m.token);
    expect(minted.length).toBeGreaterThan(0);
    const dump = JSON.stringify(
      await t.prisma.auditEvent.findMany({ where: { organizationId: org.orgId } }),
    );
    for (const token of minted) expect(dump).not.toContain(token);

    const list = await http
      .get(`/orgs/${org.orgSlug}/github/installations`)
      .set('authorization', users.viewer.bearer)
      .expect(200);
    expect(list.body.results).toEqual([
      expect.objectContaining({ installation_id: INSTALLATION, granted_repositories: 2 }),
    ]);
  });

  it('re-runs the setup when repository access changes on GitHub (no state, browser redirect)', async () => {
    fake.grant(INSTALLATION, 'acme/secret');
    const res = await http
      .get(
        setupUrl({
          installation_id: INSTALLATION,
          setup_action: 'update',
          code: await userCode(ghAdmin),
        }),
      )
      .set('authorization', users.admin.bearer)
      .set('accept', 'text/html,application/xhtml+xml')
      .expect(302);
    expect(res.headers.location).toBe('/');
    fake.revoke(INSTALLATION, 'acme/secret');
    await setup(200, { setup_action: 'update' });
    const secret = await t.prisma.githubRepository.findFirst({
      where: { fullName: 'acme/secret' },
    });
    expect(secret?.revokedAt).toBeInstanceOf(Date);
  });

  it('lists granted repositories for the project form', async () => {
    const res = await http
      .get(`/orgs/${org.orgSlug}/repositories`)
      .set('authorization', users.viewer.bearer)
      .expect(200);
    expect(res.body.results).toEqual([
      { full_name: 'acme/data', default_branch: 'main', private: true },
      { full_name: 'acme/ops', default_branch: 'main', private: true },
    ]);
  });

  it('creates projects only on granted repositories', async () => {
    const refused = await http
      .post(`/orgs/${org.orgSlug}/projects`)
      .set('authorization', users.admin.bearer)
      .send({ name: 'Secret', repository: 'acme/secret' })
      .expect(422);
    expect(refused.body.errors).toEqual([
      { field: 'body.repository', message: expect.stringMatching(/not granted.*install/) },
    ]);
    const url = await http
      .post(`/orgs/${org.orgSlug}/projects`)
      .set('authorization', users.admin.bearer)
      .send({ name: 'Local', repository: '/srv/git/local' })
      .expect(400);
    expect(url.body.errors[0].field).toBe('body.repository');

    const created = await http
      .post(`/orgs/${org.orgSlug}/projects`)
      .set('authorization', users.admin.bearer)
      .send({ name: 'Data', repository: 'ACME/Data', root_path: 'meltano' })
      .expect(201);
    expect(created.body).toMatchObject({ repository: 'acme/data', repository_access: 'granted' });
    const row = await t.prisma.project.findUniqueOrThrow({ where: { id: created.body.id } });
    const grant = await t.prisma.githubRepository.findFirstOrThrow({
      where: { fullName: 'acme/data' },
    });
    expect(row.githubRepositoryId).toBe(grant.id);

    // Moving it to an ungranted repository is refused the same way.
    await http
      .patch(`/orgs/${org.orgSlug}/projects/${created.body.id}`)
      .set('authorization', users.admin.bearer)
      .send({ repository: 'acme/secret' })
      .expect(422);
  });

  it('refuses to link an installation already linked to another organization', async () => {
    const other = await seedOrg(t.prisma, users);
    const res = await http
      .get(`/orgs/${other.orgSlug}/github/install`)
      .set('authorization', users.admin.bearer)
      .expect(302);
    const state = new URL(res.headers.location as string).searchParams.get('state')!;
    const conflict = await setup(409, { state });
    expect(conflict.body.detail).toMatch(/already linked to another organization/);
  });

  it('unlinks an installation (admin): its projects lose access', async () => {
    const list = await http
      .get(`/orgs/${org.orgSlug}/github/installations`)
      .set('authorization', users.admin.bearer)
      .expect(200);
    const id = list.body.results[0].id as string;
    await http
      .delete(`/orgs/${org.orgSlug}/github/installations/${id}`)
      .set('authorization', users.member.bearer)
      .expect(403);
    await http
      .delete(`/orgs/${org.orgSlug}/github/installations/${INSTALLATION}`)
      .set('authorization', users.admin.bearer)
      .expect(204);
    const project = await http
      .get(`/orgs/${org.orgSlug}/projects/data`)
      .set('authorization', users.viewer.bearer)
      .expect(200);
    expect(project.body.repository_access).toBe('lost');
    await http
      .get(`/orgs/${org.orgSlug}/repositories`)
      .set('authorization', users.viewer.bearer)
      .expect(200, { results: [] });

    // Linking it again restores the project's access.
    const state = await installState(users.admin.bearer);
    await setup(200, { state });
    const again = await http
      .get(`/orgs/${org.orgSlug}/projects/data`)
      .set('authorization', users.viewer.bearer)
      .expect(200);
    expect(again.body).toMatchObject({ repository: 'acme/data', repository_access: 'granted' });
  });
});
