/**
 * Creating a deployment reads meltano.yml at the requested branch (a real git repository, as
 * the deploy reads it) and refuses an environment it does not declare before anything exists;
 * when the repository cannot be read, the deployment is created and its deploy reports it.
 */
import supertest from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type RoleUsers, type SeededOrg } from '../support/fixtures.js';
import { LocalGitRepo, sampleMeltanoYml } from '../support/git-repo.js';

const PROBLEM = 'application/problem+json';

describe('deployment creation checks the environment against meltano.yml', () => {
  let t: TestApp;
  let users: RoleUsers;
  let org: SeededOrg;
  let http: supertest.Agent;
  let repo: LocalGitRepo;
  const projects = () => `/orgs/${org.orgSlug}/projects`;
  const create = (project: string, body: Record<string, unknown>) =>
    http
      .post(`${projects()}/${project}/deployments`)
      .set('authorization', users.admin.bearer)
      .send(body);
  const slugs = async (project: string) =>
    (
      (
        await http
          .get(`${projects()}/${project}/deployments`)
          .set('authorization', users.viewer.bearer)
          .expect(200)
      ).body.results as { slug: string }[]
    ).map((d) => d.slug);
  const auditActions = async () =>
    (
      await t.prisma.auditEvent.findMany({
        where: { organizationId: org.orgId, action: 'deployment.create' },
      })
    ).length;
  const addProject = (name: string, repository: string, rootPath?: string) =>
    http
      .post(projects())
      .set('authorization', users.admin.bearer)
      .send({ name, repository, ...(rootPath ? { root_path: rootPath } : {}) })
      .expect(201);

  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
    users = await createRoleUsers(t.prisma);
    org = await seedOrg(t.prisma, users);
    http = supertest.agent(t.app.getHttpServer());
    repo = new LocalGitRepo();
    repo.commit({ 'data/meltano.yml': sampleMeltanoYml });
    // Another branch whose meltano.yml declares its environments in an included file, and one without any.
    repo.commit(
      {
        'data/meltano.yml': 'version: 1\ninclude_paths:\n  - ./envs/*.meltano.yml\n',
        'data/envs/staging.meltano.yml': 'environments:\n  - name: staging\n  - name: qa\n',
      },
      'environments in an included file',
      'split',
    );
    repo.commit({ 'data/meltano.yml': 'version: 1\n' }, 'no environments', 'bare');
    await addProject('Env Check', repo.url, 'data');
  });
  afterAll(async () => {
    await t?.close();
    repo?.remove();
  });

  it('refuses, before creating anything, an environment the branch’s meltano.yml does not declare', async () => {
    const before = await auditActions();
    const res = await create('env-check', {
      name: 'Nope',
      environment: 'nope',
      branch: 'main',
    }).expect(422);
    expect(res.headers['content-type']).toContain(PROBLEM);
    expect(res.body.detail).toBe(
      "data/meltano.yml on branch 'main' has no environment 'nope'; it declares: dev, prod.",
    );
    expect(res.body.errors).toEqual([
      { field: 'body.environment', message: 'must be one of dev, prod' },
    ]);
    // No deployment, deploy or audit event: nothing was created (no other deployment ever read the branch).
    expect(await slugs('env-check')).toEqual([]);
    expect(await t.prisma.deploy.count({ where: { deployment: { name: 'Nope' } } })).toBe(0);
    expect(await auditActions()).toBe(before);
  });

  it('creates a deployment whose environment is declared, and reads the requested branch with its includes', async () => {
    await create('env-check', { name: 'prod', environment: 'prod', branch: 'main' }).expect(201);
    const wrongBranch = await create('env-check', {
      name: 'split-prod',
      environment: 'prod',
      branch: 'split',
    }).expect(422);
    expect(wrongBranch.body.detail).toBe(
      "data/meltano.yml on branch 'split' has no environment 'prod'; it declares: staging, qa.",
    );
    await create('env-check', { name: 'qa', environment: 'qa', branch: 'split' }).expect(201);
    const none = await create('env-check', {
      name: 'bare',
      environment: 'prod',
      branch: 'bare',
    }).expect(422);
    expect(none.body.detail).toBe(
      "data/meltano.yml on branch 'bare' has no environment 'prod'; it declares none (define it, or create the deployment without an environment).",
    );
    expect(none.body.errors).toEqual([
      { field: 'body.environment', message: 'meltano.yml declares no environments' },
    ]);
    // Without an environment there is nothing to check.
    await create('env-check', { name: 'bare', environment: null, branch: 'bare' }).expect(201);
    expect(await slugs('env-check')).toEqual(['bare', 'prod', 'qa']);
  });

  it('creates it as before when the repository cannot be read: the first deploy reports the problem', async () => {
    // A branch that does not exist (yet): the deploy will say it could not clone it.
    await create('env-check', { name: 'later', environment: 'nope', branch: 'later' }).expect(201);
    // A repository that cannot be reached at all.
    await addProject('Gone', `file://${repo.root}/missing.git`);
    const gone = await create('gone', { name: 'prod', environment: 'nope', branch: 'main' }).expect(
      201,
    );
    expect(gone.body).toMatchObject({ environment: 'nope', status: 'new' });
    const deploys = await t.prisma.deploy.findMany({
      where: { deploymentId: gone.body.id },
    });
    expect(deploys).toMatchObject([{ status: 'queued', trigger: 'create' }]);
    // A meltano.yml Meltano would refuse (the deploy names its file and line).
    repo.commit({ 'data/meltano.yml': 'version: 1\nenvironments: [\n' }, 'broken', 'broken');
    await create('env-check', { name: 'broken', environment: 'prod', branch: 'broken' }).expect(
      201,
    );
  });
});
