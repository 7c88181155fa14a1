import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type RoleUsers, type SeededOrg } from '../support/fixtures.js';
import { buildOpenApiDocument } from '../../src/app.js';

type Actor = 'owner' | 'admin' | 'member' | 'viewer' | 'outsider';
type Method = 'get' | 'post' | 'patch' | 'put' | 'delete';
type Least = 'viewer' | 'member' | 'admin' | 'owner';

interface Ids extends SeededOrg {
  notificationId: string;
}

interface RouteCase {
  method: Method;
  /** The route as the OpenAPI document names it. */
  template: string;
  body?: object;
  least: Least;
  /** What a permitted caller gets when it is not a 2xx (e.g. an integration not configured here). */
  permitted?: number;
  /** Where the rule is not the role alone: the last owner cannot leave. */
  exceptions?: Partial<Record<Actor, number>>;
  quiesce?: boolean;
}

const P = '/orgs/{org}/projects/{project}';
const D = `${P}/deployments/{deployment}`;

/** Every organization-scoped route with a valid request, and the least role that may use it. */
const routes: RouteCase[] = [
  { method: 'get', template: '/orgs/{org}', least: 'viewer' },
  { method: 'patch', template: '/orgs/{org}', body: { name: 'Renamed' }, least: 'admin' },
  // Deleting an organization is refused while runs are queued (covered elsewhere): end the seeded one first.
  { method: 'delete', template: '/orgs/{org}', least: 'owner', quiesce: true },
  { method: 'get', template: '/orgs/{org}/members', least: 'viewer' },
  {
    method: 'post',
    template: '/orgs/{org}/members',
    body: { login: 'newcomer', role: 'viewer' },
    least: 'admin',
  },
  {
    method: 'patch',
    template: '/orgs/{org}/members/{userId}',
    body: { role: 'viewer' },
    least: 'admin',
  },
  { method: 'delete', template: '/orgs/{org}/members/{userId}', least: 'admin' },
  { method: 'delete', template: '/orgs/{org}/invitations/{invitationId}', least: 'admin' },
  { method: 'post', template: '/orgs/{org}/leave', least: 'viewer', exceptions: { owner: 409 } },
  { method: 'get', template: '/orgs/{org}/audit-events', least: 'admin' },
  { method: 'get', template: '/orgs/{org}/repositories', least: 'viewer' },
  // No GitHub App is configured in this test: permitted callers are told so (404), others are refused first.
  { method: 'get', template: '/orgs/{org}/github/install', least: 'admin', permitted: 404 },
  { method: 'get', template: '/orgs/{org}/github/installations', least: 'viewer' },
  {
    method: 'delete',
    template: '/orgs/{org}/github/installations/{installation}',
    least: 'admin',
    permitted: 404,
  },
  { method: 'get', template: '/orgs/{org}/projects', least: 'viewer' },
  {
    method: 'post',
    template: '/orgs/{org}/projects',
    body: { name: 'New project', repository: 'acme/new' },
    least: 'admin',
  },
  { method: 'get', template: P, least: 'viewer' },
  { method: 'patch', template: P, body: { root_path: 'meltano' }, least: 'admin' },
  { method: 'delete', template: P, least: 'admin' },
  { method: 'get', template: `${P}/secrets`, least: 'viewer' },
  { method: 'get', template: `${P}/secrets/{name}`, least: 'viewer' },
  { method: 'put', template: `${P}/secrets/{name}`, body: { value: 'v4lue-new' }, least: 'admin' },
  { method: 'delete', template: `${P}/secrets/{name}`, least: 'admin' },
  { method: 'get', template: `${P}/deployments`, least: 'viewer' },
  {
    method: 'post',
    template: `${P}/deployments`,
    body: { name: 'staging', environment: 'dev', branch: 'develop' },
    least: 'admin',
  },
  { method: 'get', template: D, least: 'viewer' },
  { method: 'patch', template: D, body: { run_timeout_seconds: 600 }, least: 'admin' },
  { method: 'delete', template: D, least: 'admin' },
  { method: 'get', template: `${D}/deploys`, least: 'viewer' },
  { method: 'post', template: `${D}/deploys`, least: 'admin' },
  { method: 'get', template: `${D}/deploys/{deployId}`, least: 'viewer' },
  { method: 'post', template: `${D}/runs`, body: { job: 'load' }, least: 'member' },
  { method: 'get', template: `${D}/schedules`, least: 'viewer' },
  { method: 'get', template: `${D}/schedules/{schedule}`, least: 'viewer' },
  { method: 'get', template: `${D}/schedule-health`, least: 'viewer' },
  {
    method: 'patch',
    template: `${D}/schedules/{schedule}`,
    body: { enabled: true },
    least: 'member',
  },
  { method: 'get', template: `${D}/secrets`, least: 'viewer' },
  { method: 'get', template: `${D}/secrets/{name}`, least: 'viewer' },
  {
    method: 'put',
    template: `${D}/secrets/{name}`,
    body: { value: 'override-v4lue' },
    least: 'admin',
  },
  { method: 'delete', template: `${D}/secrets/{name}`, least: 'admin' },
  { method: 'get', template: `${D}/state`, least: 'viewer' },
  { method: 'get', template: `${D}/state/{stateId}`, least: 'viewer' },
  {
    method: 'put',
    template: `${D}/state/{stateId}`,
    body: { value: { singer_state: {} } },
    least: 'admin',
  },
  { method: 'delete', template: `${D}/state/{stateId}`, least: 'admin' },
  { method: 'get', template: '/orgs/{org}/runs', least: 'viewer' },
  { method: 'get', template: '/orgs/{org}/runs/{runId}', least: 'viewer' },
  { method: 'post', template: '/orgs/{org}/runs/{runId}/cancel', least: 'member' },
  { method: 'post', template: '/orgs/{org}/runs/{runId}/retry', least: 'member' },
  { method: 'get', template: '/orgs/{org}/runs/{runId}/logs', least: 'viewer' },
  { method: 'get', template: '/orgs/{org}/runs/{runId}/logs/stream', least: 'viewer' },
  { method: 'get', template: '/orgs/{org}/notifications', least: 'viewer' },
  {
    method: 'post',
    template: '/orgs/{org}/notifications',
    body: {
      kind: 'webhook',
      target: 'https://hooks.example.com/mc',
      filters: [{ events: ['run.failed'] }],
    },
    least: 'admin',
  },
  { method: 'get', template: '/orgs/{org}/notifications/{id}', least: 'viewer' },
  {
    method: 'patch',
    template: '/orgs/{org}/notifications/{id}',
    body: { active: false },
    least: 'admin',
  },
  { method: 'delete', template: '/orgs/{org}/notifications/{id}', least: 'admin' },
  { method: 'get', template: '/orgs/{org}/notifications/{id}/deliveries', least: 'viewer' },
  { method: 'post', template: '/orgs/{org}/notifications/{id}/test', least: 'admin' },
  // Billing (issue 11): reads for everyone in the organization, writes owner-only; no Stripe here (404).
  { method: 'get', template: '/orgs/{org}/billing', least: 'viewer' },
  {
    method: 'patch',
    template: '/orgs/{org}/billing',
    body: { spend_cap_cents: 5000 },
    least: 'owner',
  },
  { method: 'post', template: '/orgs/{org}/billing/checkout', least: 'owner', permitted: 404 },
  { method: 'post', template: '/orgs/{org}/billing/portal', least: 'owner', permitted: 404 },
  { method: 'get', template: '/orgs/{org}/usage', least: 'viewer' },
];

const rank = { viewer: 0, member: 1, admin: 2, owner: 3 } as const;

function expected(actor: Actor, route: RouteCase): 'ok' | number {
  const exception = route.exceptions?.[actor];
  if (exception) return exception;
  if (actor === 'outsider') return 404;
  if (rank[actor] < rank[route.least]) return 403;
  return route.permitted ?? 'ok';
}

function pathOf(template: string, ids: Ids, runId: string): string {
  const values: Record<string, string> = {
    org: ids.orgSlug,
    project: ids.projectSlug,
    deployment: ids.deploymentSlug,
    schedule: encodeURIComponent(ids.scheduleName),
    userId: ids.targetUserId,
    invitationId: ids.invitationId,
    installation: '00000000-0000-4000-8000-000000000000',
    name: 'WAREHOUSE_PASSWORD',
    deployId: ids.deployId,
    stateId: encodeURIComponent('prod:load'),
    runId,
    id: ids.notificationId,
  };
  return template.replace(/\{(\w+)\}/g, (_m, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`no value for {${key}} in ${template}`);
    return value;
  });
}

describe('authorization matrix: every organization route as owner, admin, member, viewer and outsider', () => {
  let t: TestApp;
  let users: RoleUsers;
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
    users = await createRoleUsers(t.prisma);
  });
  afterAll(() => t.close());

  /** A fresh organization per case, so destructive routes cannot affect other cases. */
  async function seed(): Promise<Ids> {
    const org = await seedOrg(t.prisma, users);
    const owner = (m: 'put' | 'post', url: string, body: object) =>
      t.http[m](url).set('authorization', users.owner.bearer).send(body);
    const base = `/orgs/${org.orgSlug}/projects/${org.projectSlug}`;
    await owner('put', `${base}/secrets/WAREHOUSE_PASSWORD`, { value: 'hunter2-secret' }).expect(
      201,
    );
    await owner('put', `${base}/deployments/${org.deploymentSlug}/secrets/WAREHOUSE_PASSWORD`, {
      value: 'override-secret',
    }).expect(201);
    const channel = await owner('post', `/orgs/${org.orgSlug}/notifications`, {
      kind: 'webhook',
      target: 'https://hooks.example.com/seed',
      filters: [{ events: ['run.failed'] }],
    }).expect(201);
    return { ...org, notificationId: channel.body.id as string };
  }

  it('covers every organization route of the OpenAPI document', () => {
    const document = buildOpenApiDocument(t.app, t.config);
    const documented = Object.entries(document.paths)
      .filter(([path]) => path.startsWith('/orgs/{org}'))
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    const tested = routes.map((r) => `${r.method.toUpperCase()} ${r.template}`).sort();
    expect(tested).toEqual(documented);
  });

  const actors: Actor[] = ['owner', 'admin', 'member', 'viewer', 'outsider'];
  const cases = routes.flatMap((route) =>
    actors.map((actor) => ({ route, actor, want: expected(actor, route) })),
  );

  it.each(
    cases.map((c) => [
      `${c.route.method.toUpperCase()} ${c.route.template} as ${c.actor} → ${c.want}`,
      c,
    ]),
  )('%s', async (_name, { route, actor, want }) => {
    const ids = await seed();
    if (route.quiesce)
      await t.prisma.run.updateMany({
        where: { organizationId: ids.orgId, status: 'queued' },
        data: { status: 'cancelled' },
      });
    // Cancel needs a run that has not ended; retry one that has.
    const runId = route.template.endsWith('/cancel') ? ids.queuedRunId : ids.finishedRunId;
    let req = t.http[route.method](pathOf(route.template, ids, runId)).set(
      'authorization',
      users[actor].bearer,
    );
    if (route.body) req = req.send(route.body);
    const res = await req;
    if (want === 'ok') {
      expect(res.status).toBeGreaterThanOrEqual(200);
      expect(res.status).toBeLessThan(300);
    } else {
      expect(res.status).toBe(want);
      expect(res.headers['content-type']).toContain('application/problem+json');
      // Outsiders get exactly what a missing organization gets: no hint that it exists.
      if (actor === 'outsider') expect(res.body.detail).toBe('Organization not found');
    }
  });

  it('rejects requests without credentials with 401 on every route', async () => {
    const ids = await seed();
    for (const route of routes) {
      const res = await t.http[route.method](pathOf(route.template, ids, ids.finishedRunId));
      expect(res.status).toBe(401);
    }
  });
});
