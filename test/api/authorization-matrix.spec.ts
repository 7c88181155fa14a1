import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type RoleUsers, type SeededOrg } from '../support/fixtures.js';

type Actor = 'owner' | 'admin' | 'member' | 'viewer' | 'outsider';
type Method = 'get' | 'post' | 'patch' | 'delete';

interface RouteCase {
  method: Method;
  path: (o: SeededOrg) => string;
  body?: (o: SeededOrg) => object;
  /** The least role that may use the route. */
  least: 'viewer' | 'member' | 'admin' | 'owner';
  /** Where the rule is not the role: the last owner cannot leave. */
  exceptions?: Partial<Record<Actor, number>>;
}

const base = (o: SeededOrg) => `/orgs/${o.orgSlug}`;
const proj = (o: SeededOrg) => `${base(o)}/projects/${o.projectSlug}`;
const dep = (o: SeededOrg) => `${proj(o)}/deployments/${o.deploymentSlug}`;
const sched = (o: SeededOrg) => `${dep(o)}/schedules/${encodeURIComponent(o.scheduleName)}`;

/** Every organization-scoped route of the API with a valid request. */
const routes: RouteCase[] = [
  { method: 'get', path: base, least: 'viewer' },
  { method: 'patch', path: base, body: () => ({ name: 'Renamed' }), least: 'admin' },
  { method: 'delete', path: base, least: 'owner' },
  { method: 'get', path: (o) => `${base(o)}/members`, least: 'viewer' },
  {
    method: 'post',
    path: (o) => `${base(o)}/members`,
    body: () => ({ login: 'newcomer', role: 'viewer' }),
    least: 'admin',
  },
  {
    method: 'patch',
    path: (o) => `${base(o)}/members/${o.targetUserId}`,
    body: () => ({ role: 'viewer' }),
    least: 'admin',
  },
  { method: 'delete', path: (o) => `${base(o)}/members/${o.targetUserId}`, least: 'admin' },
  { method: 'delete', path: (o) => `${base(o)}/invitations/${o.invitationId}`, least: 'admin' },
  { method: 'post', path: (o) => `${base(o)}/leave`, least: 'viewer', exceptions: { owner: 409 } },
  { method: 'get', path: (o) => `${base(o)}/audit-events`, least: 'admin' },
  { method: 'get', path: (o) => `${base(o)}/repositories`, least: 'viewer' },
  { method: 'get', path: (o) => `${base(o)}/projects`, least: 'viewer' },
  {
    method: 'post',
    path: (o) => `${base(o)}/projects`,
    body: () => ({ name: 'New project', repository: 'acme/new', root_path: '.' }),
    least: 'admin',
  },
  { method: 'get', path: proj, least: 'viewer' },
  { method: 'patch', path: proj, body: () => ({ root_path: 'meltano' }), least: 'admin' },
  { method: 'delete', path: proj, least: 'admin' },
  { method: 'get', path: (o) => `${proj(o)}/deployments`, least: 'viewer' },
  {
    method: 'post',
    path: (o) => `${proj(o)}/deployments`,
    body: () => ({ name: 'staging', environment: 'dev', branch: 'develop' }),
    least: 'admin',
  },
  { method: 'get', path: dep, least: 'viewer' },
  { method: 'patch', path: dep, body: () => ({ run_timeout_seconds: 600 }), least: 'admin' },
  { method: 'delete', path: dep, least: 'admin' },
  { method: 'get', path: (o) => `${dep(o)}/schedules`, least: 'viewer' },
  { method: 'get', path: sched, least: 'viewer' },
  { method: 'patch', path: sched, body: () => ({ enabled: true }), least: 'member' },
];

export const matrixRoutes = routes;

const rank = { viewer: 0, member: 1, admin: 2, owner: 3 } as const;

function expected(actor: Actor, route: RouteCase): 'ok' | number {
  const least = route.least;
  const exception = route.exceptions?.[actor];
  if (exception) return exception;
  if (actor === 'outsider') return 404;
  return rank[actor] >= rank[least] ? 'ok' : 403;
}

/** Only used to render test names. */
const fakeOrg: SeededOrg = {
  orgId: 'org-id',
  orgSlug: ':org',
  projectSlug: ':project',
  projectId: 'p',
  deploymentSlug: ':deployment',
  deploymentId: 'd',
  scheduleName: ':schedule',
  scheduleId: 's',
  invalidScheduleName: 'broken',
  targetUserId: ':user',
  invitationId: ':invitation',
};

describe('authorization matrix: every route as owner, admin, member, viewer and outsider', () => {
  let t: TestApp;
  let users: RoleUsers;
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
    users = await createRoleUsers(t.prisma);
  });
  afterAll(() => t.close());

  const actors: Actor[] = ['owner', 'admin', 'member', 'viewer', 'outsider'];
  const cases = routes.flatMap((route) =>
    actors.map((actor) => ({ route, actor, want: expected(actor, route) })),
  );

  it.each(
    cases.map((c) => [
      `${c.route.method.toUpperCase()} ${c.route.path(fakeOrg)} as ${c.actor} → ${c.want}`,
      c,
    ]),
  )('%s', async (_name, { route, actor, want }) => {
    // A fresh organization per case, so destructive routes cannot affect other cases.
    const org = await seedOrg(t.prisma, users);
    let req = t.http[route.method](route.path(org)).set('authorization', users[actor].bearer);
    if (route.body) req = req.send(route.body(org));
    const res = await req;
    if (want === 'ok') {
      expect([res.status, res.body]).toEqual([expect.any(Number), expect.anything()]);
      expect(res.status).toBeGreaterThanOrEqual(200);
      expect(res.status).toBeLessThan(300);
    } else {
      expect(res.status).toBe(want);
      expect(res.headers['content-type']).toContain('application/problem+json');
      // Outsiders get exactly what a missing organization gets: no hint that it exists.
      if (want === 404) expect(res.body.detail).toBe('Organization not found');
    }
  });

  it('rejects requests without credentials with 401 on every route', async () => {
    const org = await seedOrg(t.prisma, users);
    for (const route of routes) {
      const res = await t.http[route.method](route.path(org));
      expect(res.status).toBe(401);
    }
  });
});
