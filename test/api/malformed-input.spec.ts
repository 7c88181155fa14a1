import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type RoleUsers, type SeededOrg } from '../support/fixtures.js';

type Method = 'post' | 'patch' | 'put' | 'delete' | 'get';
interface BadCase {
  name: string;
  method: Method;
  path: (o: SeededOrg) => string;
  body?: unknown;
  /** Field expected among the errors. */
  field: string;
}

const base = (o: SeededOrg) => `/orgs/${o.orgSlug}`;
const proj = (o: SeededOrg) => `${base(o)}/projects/${o.projectSlug}`;
const dep = (o: SeededOrg) => `${proj(o)}/deployments/${o.deploymentSlug}`;
const sched = (o: SeededOrg) => `${dep(o)}/schedules/${encodeURIComponent(o.scheduleName)}`;

const cases: BadCase[] = [
  { name: 'org without name', method: 'post', path: () => '/orgs', body: {}, field: 'body.name' },
  {
    name: 'org name of symbols',
    method: 'post',
    path: () => '/orgs',
    body: { name: '!!!' },
    field: 'body.name',
  },
  {
    name: 'org name not a string',
    method: 'post',
    path: () => '/orgs',
    body: { name: 42 },
    field: 'body.name',
  },
  {
    name: 'org with unknown field',
    method: 'post',
    path: () => '/orgs',
    body: { name: 'x', plan: 'enterprise' },
    field: 'body.plan',
  },
  {
    name: 'org bad slug',
    method: 'post',
    path: () => '/orgs',
    body: { name: 'x', slug: 'Bad Slug' },
    field: 'body.slug',
  },
  {
    name: 'org body is an array',
    method: 'post',
    path: () => '/orgs',
    body: [1, 2],
    field: 'body',
  },
  { name: 'rename with empty body', method: 'patch', path: base, body: {}, field: 'body' },
  {
    name: 'rename to empty',
    method: 'patch',
    path: base,
    body: { name: '   ' },
    field: 'body.name',
  },
  {
    name: 'timeout too small',
    method: 'patch',
    path: base,
    body: { max_run_timeout_seconds: 1 },
    field: 'body.max_run_timeout_seconds',
  },
  {
    name: 'invite bad login',
    method: 'post',
    path: (o) => `${base(o)}/members`,
    body: { login: 'a b', role: 'member' },
    field: 'body.login',
  },
  {
    name: 'invite bad role',
    method: 'post',
    path: (o) => `${base(o)}/members`,
    body: { login: 'ok', role: 'god' },
    field: 'body.role',
  },
  {
    name: 'role change missing role',
    method: 'patch',
    path: (o) => `${base(o)}/members/${o.targetUserId}`,
    body: {},
    field: 'body.role',
  },
  {
    name: 'member id not a uuid',
    method: 'patch',
    path: (o) => `${base(o)}/members/not-a-uuid`,
    body: { role: 'viewer' },
    field: 'params.userId',
  },
  {
    name: 'invitation id not a uuid',
    method: 'delete',
    path: (o) => `${base(o)}/invitations/123`,
    field: 'params.invitationId',
  },
  {
    name: 'project missing repository',
    method: 'post',
    path: (o) => `${base(o)}/projects`,
    body: { name: 'p2' },
    field: 'body.repository',
  },
  {
    name: 'project root path escapes',
    method: 'post',
    path: (o) => `${base(o)}/projects`,
    body: { name: 'p2', repository: 'a/b', root_path: '../etc' },
    field: 'body.root_path',
  },
  {
    name: 'project absolute root path',
    method: 'post',
    path: (o) => `${base(o)}/projects`,
    body: { name: 'p2', repository: 'a/b', root_path: '/data' },
    field: 'body.root_path',
  },
  {
    name: 'project repository nonsense',
    method: 'post',
    path: (o) => `${base(o)}/projects`,
    body: { name: 'p2', repository: 'not a repo' },
    field: 'body.repository',
  },
  {
    name: 'project unknown field',
    method: 'post',
    path: (o) => `${base(o)}/projects`,
    body: { name: 'p2', repository: 'a/b', branch: 'x' },
    field: 'body.branch',
  },
  {
    name: 'project patch root path',
    method: 'patch',
    path: proj,
    body: { root_path: 'a/../../b' },
    field: 'body.root_path',
  },
  {
    name: 'deployment bad branch',
    method: 'post',
    path: (o) => `${proj(o)}/deployments`,
    body: { name: 'd2', environment: 'prod', branch: 'feature..x' },
    field: 'body.branch',
  },
  {
    name: 'deployment branch with space',
    method: 'post',
    path: (o) => `${proj(o)}/deployments`,
    body: { name: 'd2', environment: 'prod', branch: 'my branch' },
    field: 'body.branch',
  },
  {
    name: 'deployment missing environment',
    method: 'post',
    path: (o) => `${proj(o)}/deployments`,
    body: { name: 'd2', branch: 'main' },
    field: 'body.environment',
  },
  {
    name: 'deployment bad policy',
    method: 'post',
    path: (o) => `${proj(o)}/deployments`,
    body: { name: 'd2', environment: 'prod', branch: 'main', concurrency_policy: 'yolo' },
    field: 'body.concurrency_policy',
  },
  {
    name: 'deployment timeout over org max',
    method: 'post',
    path: (o) => `${proj(o)}/deployments`,
    body: { name: 'd2', environment: 'prod', branch: 'main', run_timeout_seconds: 200000 },
    field: 'body.run_timeout_seconds',
  },
  {
    name: 'deployment name is immutable',
    method: 'patch',
    path: dep,
    body: { name: 'renamed' },
    field: 'body.name',
  },
  {
    name: 'deployment patch wrong type',
    method: 'patch',
    path: dep,
    body: { max_concurrent_runs: 'three' },
    field: 'body.max_concurrent_runs',
  },
  {
    name: 'schedule enabled not boolean',
    method: 'patch',
    path: sched,
    body: { enabled: 'yes' },
    field: 'body.enabled',
  },
  {
    name: 'schedule bad timezone',
    method: 'patch',
    path: sched,
    body: { timezone: 'Mars/Olympus' },
    field: 'body.timezone',
  },
  {
    name: 'schedule unknown field',
    method: 'patch',
    path: sched,
    body: { enabled: true, cron: '* * * * *' },
    field: 'body.cron',
  },
  {
    name: 'secret bad name',
    method: 'put',
    path: (o) => `${proj(o)}/secrets/1BAD-NAME`,
    body: { value: 'x' },
    field: 'params.name',
  },
  {
    name: 'secret reserved name',
    method: 'put',
    path: (o) => `${proj(o)}/secrets/MELTANO_ENVIRONMENT`,
    body: { value: 'x' },
    field: 'params.name',
  },
  {
    name: 'secret without value',
    method: 'put',
    path: (o) => `${proj(o)}/secrets/API_KEY`,
    body: {},
    field: 'body.value',
  },
  {
    name: 'secret value too large',
    method: 'put',
    path: (o) => `${proj(o)}/secrets/API_KEY`,
    body: { value: 'x'.repeat(70_000) },
    field: 'body.value',
  },
  {
    name: 'secret bad kind',
    method: 'put',
    path: (o) => `${dep(o)}/secrets/API_KEY`,
    body: { value: 'x', kind: 'blob' },
    field: 'body.kind',
  },
  {
    name: 'run with neither schedule nor job',
    method: 'post',
    path: (o) => `${dep(o)}/runs`,
    body: {},
    field: 'body.schedule',
  },
  {
    name: 'run with both',
    method: 'post',
    path: (o) => `${dep(o)}/runs`,
    body: { schedule: 'a', job: 'b' },
    field: 'body.schedule',
  },
  {
    name: 'run with unknown field',
    method: 'post',
    path: (o) => `${dep(o)}/runs`,
    body: { job: 'load', force: true },
    field: 'body.force',
  },
  {
    name: 'run id not a uuid',
    method: 'post',
    path: (o) => `${base(o)}/runs/abc/cancel`,
    field: 'params.runId',
  },
  {
    name: 'history bad status',
    method: 'get',
    path: (o) => `${base(o)}/runs?status=exploded`,
    field: 'query.status.0',
  },
  {
    name: 'history bad lookback',
    method: 'get',
    path: (o) => `${base(o)}/runs?lookback=yesterday`,
    field: 'query.lookback',
  },
  {
    name: 'state without value',
    method: 'put',
    path: (o) => `${dep(o)}/state/prod%3Aload`,
    body: { state: {} },
    field: 'body.value',
  },
  {
    name: 'notification bad kind',
    method: 'post',
    path: (o) => `${base(o)}/notifications`,
    body: { kind: 'pager', target: 'x', filters: [{ events: ['run.failed'] }] },
    field: 'body.kind',
  },
  {
    name: 'notification bad webhook url',
    method: 'post',
    path: (o) => `${base(o)}/notifications`,
    body: { kind: 'webhook', target: 'not a url', filters: [{ events: ['run.failed'] }] },
    field: 'body.target',
  },
  {
    name: 'notification bad email',
    method: 'post',
    path: (o) => `${base(o)}/notifications`,
    body: { kind: 'email', target: 'nobody', filters: [{ events: ['run.failed'] }] },
    field: 'body.target',
  },
  {
    name: 'notification unknown event',
    method: 'post',
    path: (o) => `${base(o)}/notifications`,
    body: {
      kind: 'webhook',
      target: 'https://x.example/h',
      filters: [{ events: ['run.exploded'] }],
    },
    field: 'body.filters.0.events.0',
  },
  {
    name: 'token without name',
    method: 'post',
    path: () => '/me/tokens',
    body: { expires_in_days: 3 },
    field: 'body.name',
  },
  {
    name: 'token expiry negative',
    method: 'post',
    path: () => '/me/tokens',
    body: { name: 'x', expires_in_days: -1 },
    field: 'body.expires_in_days',
  },
  {
    name: 'token id not a uuid',
    method: 'delete',
    path: () => '/me/tokens/abc',
    field: 'params.tokenId',
  },
  {
    name: 'page size too big',
    method: 'get',
    path: (o) => `${base(o)}/projects?page_size=1000`,
    field: 'query.page_size',
  },
  {
    name: 'page token forged',
    method: 'get',
    path: (o) => `${base(o)}/projects?page_token=zzz`,
    field: 'query.page_token',
  },
  {
    name: 'upcoming count too big',
    method: 'get',
    path: (o) => `${sched(o)}?num_upcoming=5000`,
    field: 'query.num_upcoming',
  },
];

/** Everything a malformed request could have half-written. */
async function snapshot(t: TestApp): Promise<string> {
  const [orgs, memberships, invitations, projects, deployments, schedules, audit, tokens, ...more] =
    await Promise.all([
      t.prisma.organization.findMany({ orderBy: { id: 'asc' } }),
      t.prisma.membership.findMany({ orderBy: { id: 'asc' } }),
      t.prisma.invitation.findMany({ orderBy: { id: 'asc' } }),
      t.prisma.project.findMany({ orderBy: { id: 'asc' } }),
      t.prisma.deployment.findMany({ orderBy: { id: 'asc' } }),
      t.prisma.schedule.findMany({ orderBy: { id: 'asc' } }),
      t.prisma.auditEvent.count(),
      t.prisma.apiToken.findMany({
        orderBy: { id: 'asc' },
        select: { id: true, revokedAt: true, name: true },
      }),
      t.prisma.secret.findMany({ orderBy: { id: 'asc' } }),
      t.prisma.notificationChannel.findMany({ orderBy: { id: 'asc' } }),
      t.prisma.run.findMany({ orderBy: { id: 'asc' } }),
      t.prisma.meltanoState.findMany({ orderBy: { id: 'asc' } }),
    ]);
  return JSON.stringify(
    { orgs, memberships, invitations, projects, deployments, schedules, audit, tokens, more },
    (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v),
  );
}

describe('malformed input on every mutating route', () => {
  let t: TestApp;
  let users: RoleUsers;
  let org: SeededOrg;
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
    users = await createRoleUsers(t.prisma);
    org = await seedOrg(t.prisma, users);
  });
  afterAll(() => t.close());

  it.each(cases.map((c) => [c.name, c]))('%s → 4xx naming %#', async (_name, c) => {
    const before = await snapshot(t);
    let req = t.http[c.method](c.path(org)).set('authorization', users.owner.bearer);
    if (c.body !== undefined) req = req.send(c.body as object);
    const res = await req;
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.headers['content-type']).toContain('application/problem+json');
    const fields = (res.body.errors ?? []).map((e: { field: string }) => e.field);
    expect(fields).toContain(c.field);
    for (const e of res.body.errors) expect(typeof e.message).toBe('string');
    expect(await snapshot(t)).toBe(before);
  });

  it('refuses a body that is not JSON with a 400 problem, storing nothing', async () => {
    const before = await snapshot(t);
    const res = await t.http
      .post('/orgs')
      .set('authorization', users.owner.bearer)
      .set('content-type', 'application/json')
      .send('{"name": ');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(await snapshot(t)).toBe(before);
  });
});
