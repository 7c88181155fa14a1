import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type RoleUsers, type SeededOrg } from '../support/fixtures.js';
import { buildOpenApiDocument } from '../../src/app.js';

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
    // Leaving the environment out is fine (a project without environments); a bad name is not.
    name: 'deployment bad environment name',
    method: 'post',
    path: (o) => `${proj(o)}/deployments`,
    body: { name: 'd2', environment: 'not an environment', branch: 'main' },
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

type AnyMethod = 'get' | 'post' | 'patch' | 'put' | 'delete';
interface DocumentedRoute {
  method: AnyMethod;
  template: string;
  pathParams: string[];
  queryParams: string[];
  /** Top-level properties of the JSON request body, when the route takes one. */
  bodyProps: string[];
}

const UNUSED_UUID = '00000000-0000-4000-8000-000000000000';

/** A valid value for every path parameter the OpenAPI document names. */
function pathValues(o: SeededOrg & { notificationId?: string }): Record<string, string> {
  return {
    org: o.orgSlug,
    project: o.projectSlug,
    deployment: o.deploymentSlug,
    schedule: encodeURIComponent(o.scheduleName),
    userId: o.targetUserId,
    invitationId: o.invitationId,
    installation: UNUSED_UUID,
    name: 'API_KEY',
    deployId: o.deployId,
    stateId: encodeURIComponent('prod:load'),
    runId: o.finishedRunId,
    id: o.notificationId ?? UNUSED_UUID,
    tokenId: UNUSED_UUID,
  };
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_m, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`no value for {${key}} in ${template}`);
    return value;
  });
}

interface OpenApiOperation {
  parameters?: { in: string; name: string }[];
  requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
}

function documentedRoutes(document: { paths: Record<string, unknown> }): DocumentedRoute[] {
  return Object.entries(document.paths).flatMap(([template, ops]) =>
    Object.entries(ops as Record<string, OpenApiOperation>).map(([method, op]) => ({
      method: method as AnyMethod,
      template,
      pathParams: (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name),
      queryParams: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
      bodyProps: Object.keys(
        op.requestBody?.content?.['application/json']?.schema?.properties ?? {},
      ),
    })),
  );
}

/** Routes an HTML form posts to: they take form-encoded bodies too. */
const FORM_ROUTES = new Set(['POST /auth/dev-login']);

describe('hostile input on every route of the OpenAPI document (4xx naming the field, nothing stored)', () => {
  let t: TestApp;
  let users: RoleUsers;
  let org: SeededOrg & { notificationId: string };
  let routes: DocumentedRoute[];
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
    users = await createRoleUsers(t.prisma);
    const seeded = await seedOrg(t.prisma, users);
    const channel = await t.http
      .post(`/orgs/${seeded.orgSlug}/notifications`)
      .set('authorization', users.owner.bearer)
      .send({
        kind: 'webhook',
        target: 'https://hooks.example.com/x',
        filters: [{ events: ['run.failed'] }],
      })
      .expect(201);
    org = { ...seeded, notificationId: channel.body.id as string };
    routes = documentedRoutes(buildOpenApiDocument(t.app, t.config));
  });
  afterAll(() => t.close());

  const label = (r: DocumentedRoute) => `${r.method.toUpperCase()} ${r.template}`;
  const send = (r: DocumentedRoute, url: string) =>
    t.http[r.method](url).set('authorization', users.owner.bearer);

  async function expectRefused(
    res: {
      status: number;
      headers: Record<string, string>;
      body: { errors?: { field: string }[] };
    },
    status: number,
    field: string,
    route: string,
  ): Promise<void> {
    const fields = (res.body.errors ?? []).map((e) => e.field);
    expect([route, res.status, res.headers['content-type'], fields]).toEqual([
      route,
      status,
      expect.stringContaining('application/problem+json'),
      expect.arrayContaining([field]),
    ]);
  }

  it('finds the routes it drives', () => {
    expect(routes.filter((r) => r.pathParams.length).length).toBeGreaterThan(50);
    expect(routes.filter((r) => r.method !== 'get').length).toBeGreaterThan(30);
    expect(routes.filter((r) => r.queryParams.includes('page_token')).length).toBeGreaterThan(8);
  });

  it('a NUL or control character in any path parameter → 400 naming path.<name>', async () => {
    const before = await snapshot(t);
    for (const route of routes) {
      for (const param of route.pathParams) {
        for (const bad of ['a%00b', '%0Aa', 'a%7F']) {
          const url = fill(route.template, { ...pathValues(org), [param]: bad });
          await expectRefused(
            await send(route, url),
            400,
            `path.${param}`,
            `${label(route)} ${bad}`,
          );
        }
      }
    }
    expect(await snapshot(t)).toBe(before);
  });

  it('an over-long path parameter → 400 naming path.<name>; past the router’s limit 414 problem+json', async () => {
    const before = await snapshot(t);
    for (const route of routes) {
      for (const param of route.pathParams) {
        const url = fill(route.template, { ...pathValues(org), [param]: 'a'.repeat(600) });
        await expectRefused(await send(route, url), 400, `path.${param}`, label(route));
        const longer = fill(route.template, { ...pathValues(org), [param]: 'a'.repeat(1200) });
        await expectRefused(await send(route, longer), 414, 'path', label(route));
      }
    }
    expect(await snapshot(t)).toBe(before);
  });

  it('a NUL or control character in any query parameter → 400 naming query.<name>', async () => {
    const before = await snapshot(t);
    for (const route of routes) {
      for (const param of route.queryParams) {
        const url = `${fill(route.template, pathValues(org))}?${param}=x%00y`;
        await expectRefused(await send(route, url), 400, `query.${param}`, label(route));
      }
    }
    expect(await snapshot(t)).toBe(before);
  });

  it('a forged page_token (id not a UUID, key not a date) → 400 naming query.page_token on every list', async () => {
    const token = (cursor: unknown) => Buffer.from(JSON.stringify(cursor)).toString('base64url');
    const forged = [
      token({ k: '2026-01-01T00:00:00.000Z', id: 'not-a-uuid' }),
      token({ k: 'yesterday-ish', id: UNUSED_UUID }),
      token({ k: 'a\u0000b', id: UNUSED_UUID }),
      token({ k: 1, id: UNUSED_UUID }),
      token(null),
    ];
    const lists = routes.filter((r) => r.queryParams.includes('page_token'));
    for (const route of lists) {
      for (const pageToken of forged) {
        const url = `${fill(route.template, pathValues(org))}?page_token=${pageToken}`;
        const res = await send(route, url);
        // A name-sorted list takes any string key: only the id and the type make it forged.
        if (res.status === 200) {
          expect(Buffer.from(pageToken, 'base64url').toString()).toContain('yesterday-ish');
          continue;
        }
        await expectRefused(res, 400, 'query.page_token', label(route));
      }
    }
  });

  it('a form-encoded or text body on any JSON route → 415 problem+json, nothing applied', async () => {
    const before = await snapshot(t);
    for (const route of routes.filter((r) => r.method !== 'get' && !FORM_ROUTES.has(label(r)))) {
      const url = fill(route.template, pathValues(org));
      const form = await send(route, url).type('form').send('name=formed&role=owner&value=x');
      await expectRefused(form, 415, 'body', label(route));
      const text = await send(route, url).set('content-type', 'text/plain').send('name=x');
      await expectRefused(text, 415, 'body', label(route));
    }
    expect(await snapshot(t)).toBe(before);
  });

  it('__proto__ / constructor.prototype keys, invalid or empty JSON on any mutating route → 400 naming body', async () => {
    const before = await snapshot(t);
    const bodies = [
      '{"__proto__": {"isAdmin": true}, "name": "x"}',
      '{"constructor": {"prototype": {"isAdmin": true}}, "name": "x"}',
      '{"name": ',
      '',
    ];
    for (const route of routes.filter((r) => r.method !== 'get')) {
      const url = fill(route.template, pathValues(org));
      for (const body of bodies) {
        const res = await send(route, url).set('content-type', 'application/json').send(body);
        await expectRefused(res, 400, 'body', `${label(route)} ${body}`);
      }
    }
    expect(await snapshot(t)).toBe(before);
  });

  it('a NUL character in any body field (or nested key) → 400 naming it', async () => {
    const before = await snapshot(t);
    for (const route of routes.filter((r) => r.bodyProps.length)) {
      const url = fill(route.template, pathValues(org));
      for (const prop of route.bodyProps) {
        const res = await send(route, url).send({ [prop]: 'x\u0000y' });
        await expectRefused(res, 400, `body.${prop}`, label(route));
        const nested = await send(route, url).send({ [prop]: { ok: ['fine', 'x\u0000'] } });
        await expectRefused(nested, 400, `body.${prop}.ok.1`, label(route));
      }
    }
    expect(await snapshot(t)).toBe(before);
  });
});
