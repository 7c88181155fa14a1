import { Writable } from 'node:stream';
import supertest from 'supertest';
import { createApiApp } from '../../src/app.js';
import { createRootLogger } from '../../src/common/logger.js';
import { CONTENT_SECURITY_POLICY } from '../../src/common/security-headers.js';
import type { FakeGitHub } from '../support/fake-github.js';
import { startGitHubTestApp } from '../support/github-app.js';
import {
  createRoleUsers,
  createUserWithToken,
  seedOrg,
  type RoleUsers,
  type SeededOrg,
} from '../support/fixtures.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createTestDatabase, testConfig } from '../support/test-env.js';

/** Issue 14: every case of "Bad input gets a 4xx problem+json naming the field" and "Web security". */

interface Res {
  status: number;
  headers: Record<string, string>;
  body: { errors?: { field: string; message: string }[]; detail?: string };
  text: string;
}

function expectProblem(res: Res, status: number, field?: string): void {
  const fields = (res.body.errors ?? []).map((e) => e.field);
  expect({ status: res.status, type: res.headers['content-type'] }).toEqual({
    status,
    type: expect.stringContaining('application/problem+json'),
  });
  if (field) expect(fields).toContain(field);
  for (const e of res.body.errors ?? []) expect(typeof e.message).toBe('string');
}

/** Rows a refused request could have written. */
async function stored(t: TestApp): Promise<string> {
  const [orgs, memberships, projects, deployments, tokens, secrets, runs, states, deploys] =
    await Promise.all([
      t.prisma.organization.findMany({ orderBy: { id: 'asc' } }),
      t.prisma.membership.findMany({ orderBy: { id: 'asc' } }),
      t.prisma.project.findMany({ orderBy: { id: 'asc' } }),
      t.prisma.deployment.findMany({ orderBy: { id: 'asc' } }),
      t.prisma.apiToken.findMany({ orderBy: { id: 'asc' }, select: { id: true, name: true } }),
      t.prisma.secret.findMany({ orderBy: { id: 'asc' } }),
      t.prisma.run.findMany({ orderBy: { id: 'asc' } }),
      t.prisma.meltanoState.findMany({ orderBy: { id: 'asc' } }),
      t.prisma.deploy.findMany({ orderBy: { id: 'asc' } }),
    ]);
  return JSON.stringify(
    { orgs, memberships, projects, deployments, tokens, secrets, runs, states, deploys },
    (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v),
  );
}

const cursor = (c: unknown) => Buffer.from(JSON.stringify(c)).toString('base64url');

describe('issue 14: bad input gets a 4xx problem+json naming the field, nothing stored', () => {
  let t: TestApp;
  let users: RoleUsers;
  let org: SeededOrg;
  let owner: string;
  const dep = () =>
    `/orgs/${org.orgSlug}/projects/${org.projectSlug}/deployments/${org.deploymentSlug}`;
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
    users = await createRoleUsers(t.prisma);
    org = await seedOrg(t.prisma, users);
    owner = users.owner.bearer;
  });
  afterAll(() => t.close());

  it('a NUL byte in a path parameter (org, schedule name, state id, secret name) → 400 naming path.<name>', async () => {
    const before = await stored(t);
    const cases: [string, 'get' | 'put' | 'patch' | 'delete', string, object?][] = [
      ['path.org', 'get', '/orgs/%00/projects'],
      ['path.org', 'get', '/orgs/a%00b'],
      ['path.schedule', 'patch', `${dep()}/schedules/daily%00load`, { enabled: true }],
      ['path.stateId', 'put', `${dep()}/state/prod%00load`, { value: { a: 1 } }],
      ['path.stateId', 'get', `${dep()}/state/%00`],
      ['path.stateId', 'delete', `${dep()}/state/prod%3Aload%00`],
      ['path.name', 'put', `${dep()}/secrets/API%00KEY`, { value: 'x' }],
      ['path.runId', 'get', `/orgs/${org.orgSlug}/runs/%00`],
    ];
    for (const [field, method, url, body] of cases) {
      let req = t.http[method](url).set('authorization', owner);
      if (body) req = req.send(body);
      expectProblem(await req, 400, field);
    }
    expect(await stored(t)).toBe(before);
  });

  it('a NUL byte inside body strings (root_path, token name, state values) → 400 naming the field', async () => {
    const before = await stored(t);
    expectProblem(
      await t.http
        .post(`/orgs/${org.orgSlug}/projects`)
        .set('authorization', owner)
        .send({ name: 'p-nul', repository: 'acme/x', root_path: 'data\u0000' }),
      400,
      'body.root_path',
    );
    expectProblem(
      await t.http.post('/me/tokens').set('authorization', owner).send({ name: 'ci\u0000' }),
      400,
      'body.name',
    );
    expectProblem(
      await t.http
        .put(`${dep()}/state/prod:nul`)
        .set('authorization', owner)
        .send({ value: { singer_state: { bookmark: 'a\u0000b' } } }),
      400,
      'body.value.singer_state.bookmark',
    );
    expectProblem(
      await t.http
        .put(`${dep()}/state/prod:nul`)
        .set('authorization', owner)
        .send({ value: { 'key\u0000': 1 } }),
      400,
      'body.value.key\\u0000',
    );
    expect(await stored(t)).toBe(before);
  });

  it('a hand-made page_token (id not a UUID, key not a date) → 400 naming query.page_token', async () => {
    const lists = [
      `/orgs/${org.orgSlug}/runs`,
      `/orgs/${org.orgSlug}/projects`,
      `/orgs/${org.orgSlug}/audit-events`,
      `${dep()}/deploys`,
      `/orgs/${org.orgSlug}/notifications`,
    ];
    for (const list of lists) {
      const notUuid = cursor({ k: '2026-01-01T00:00:00.000Z', id: '1 OR 1=1' });
      expectProblem(
        await t.http.get(`${list}?page_token=${notUuid}`).set('authorization', owner),
        400,
        'query.page_token',
      );
    }
    for (const list of lists.filter((l) => !l.endsWith('/projects'))) {
      const notDate = cursor({ k: 'not a date', id: '00000000-0000-4000-8000-000000000000' });
      expectProblem(
        await t.http.get(`${list}?page_token=${notDate}`).set('authorization', owner),
        400,
        'query.page_token',
      );
    }
  });

  it('after_seq=999999999999 → 400 on run logs and on the log stream, which answers', async () => {
    const logs = `/orgs/${org.orgSlug}/runs/${org.finishedRunId}/logs`;
    expectProblem(
      await t.http.get(`${logs}?after_seq=999999999999`).set('authorization', owner),
      400,
      'query.after_seq',
    );
    expectProblem(
      await t.http
        .get(`${logs}/stream?after_seq=999999999999`)
        .set('authorization', owner)
        .timeout(5000),
      400,
      'query.after_seq',
    );
    // The largest accepted value still gets an answer: no lines, then the end of the finished run.
    const stream = await t.http
      .get(`${logs}/stream?after_seq=2147483647`)
      .set('authorization', owner)
      .buffer(true)
      .parse((res, done) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => done(null, text));
      })
      .timeout(10_000);
    expect(stream.status).toBe(200);
    expect(String(stream.body)).toContain('event: end');
    expect(String(stream.body)).not.toContain('event: line');
    const page = await t.http.get(`${logs}?after_seq=2147483647`).set('authorization', owner);
    expect(page.status).toBe(200);
    expect(page.body.lines).toEqual([]);
  });

  it('GET/POST /auth/cli with an invalid or 8,000-character callback → 400, unauthenticated', async () => {
    const long = `http://127.0.0.1:5000/${'a'.repeat(8000)}`;
    for (const callback of ['abc', long, 'http://', '']) {
      const q = new URLSearchParams({ callback, state: 'cli-state-123' }).toString();
      expectProblem(await t.http.get(`/auth/cli?${q}`), 400, 'query.callback');
      expectProblem(
        await t.http
          .post('/auth/cli')
          .type('form')
          .send({ callback, state: 'cli-state-123', csrf_token: 'x' }),
        400,
        'body.callback',
      );
    }
  });

  it('a state value nested 3,000 levels → 400; a 1 MB state string is refused; 200 KiB is stored', async () => {
    const before = await stored(t);
    let deep: unknown = 'bottom';
    for (let i = 0; i < 3000; i++) deep = { nested: deep };
    expectProblem(
      await t.http
        .put(`${dep()}/state/prod:deep`)
        .set('authorization', owner)
        .send({ value: deep }),
      400,
      'body.value',
    );
    // Deeper than any parser recursion would survive, as raw JSON.
    const arrays = `{"value":{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;
    expectProblem(
      await t.http
        .put(`${dep()}/state/prod:deep`)
        .set('authorization', owner)
        .set('content-type', 'application/json')
        .send(arrays),
      400,
      'body.value',
    );
    const big = await t.http
      .put(`${dep()}/state/prod:big`)
      .set('authorization', owner)
      .send({ value: { singer_state: 'x'.repeat(1_000_000) } });
    expect([400, 413]).toContain(big.status);
    expect(big.headers['content-type']).toContain('application/problem+json');
    expect((big.body.errors ?? []).map((e: { field: string }) => e.field)).toContain(
      big.status === 400 ? 'body.value' : 'body',
    );
    expect(await stored(t)).toBe(before);
    await t.http
      .put(`${dep()}/state/prod:fits`)
      .set('authorization', owner)
      .send({ value: { singer_state: 'x'.repeat(200 * 1024) } })
      .expect(200);
  });

  it('a dev sign-in return_to with \\n, \\r\\n, \\x0b, \\x0c or full-width dots redirects on the site, never 500', async () => {
    for (const returnTo of [
      '/a\nb',
      '/a\r\nSet-Cookie: x=1',
      '/\x0b/evil.com',
      '/\x0c/evil.com',
      '/．．/evil.com',
      '//evil。com',
      '/\uff0e\uff0e/\uff0e\uff0e/x',
    ]) {
      const res = await t.http
        .post('/auth/dev-login')
        .type('form')
        .send({ login: 'return-tester', return_to: returnTo });
      expect([returnTo, res.status]).toEqual([returnTo, 303]);
      const location = String(res.headers.location);
      expect(new URL(location, 'http://app.test').origin).toBe('http://app.test');
      expect(location).toMatch(/^\/(?![/\\])/);
      // Percent-encoded ASCII only: a valid Location header whatever was asked for.
      expect(location).toMatch(/^[\x21-\x7e]+$/);
    }
  });

  it('form-encoded bodies are not applied on JSON routes (tokens, orgs, member roles, projects, deployments, secrets, runs): 415', async () => {
    const before = await stored(t);
    const cases: ['post' | 'patch' | 'put', string, string][] = [
      ['post', '/me/tokens', 'name=formed'],
      ['post', '/orgs', 'name=formed'],
      ['patch', `/orgs/${org.orgSlug}/members/${org.targetUserId}`, 'role=owner'],
      ['post', `/orgs/${org.orgSlug}/projects`, 'name=formed&repository=acme%2Fformed'],
      [
        'post',
        `/orgs/${org.orgSlug}/projects/${org.projectSlug}/deployments`,
        'name=formed&environment=prod&branch=main',
      ],
      ['put', `/orgs/${org.orgSlug}/projects/${org.projectSlug}/secrets/FORMED`, 'value=x'],
      ['post', `${dep()}/runs`, 'job=load'],
    ];
    for (const [method, url, body] of cases) {
      const res = await t.http[method](url).set('authorization', owner).type('form').send(body);
      expectProblem(res, 415, 'body');
      expect(res.body.detail).toMatch(/application\/json/);
    }
    expect(await stored(t)).toBe(before);
  });

  it('invalid JSON, an empty body, __proto__ / constructor.prototype keys → 400 with errors[] naming body', async () => {
    const before = await stored(t);
    for (const body of [
      '{"name": ',
      '',
      '   ',
      '{"name":"x","__proto__":{"role":"owner"}}',
      '{"name":"x","constructor":{"prototype":{"role":"owner"}}}',
    ]) {
      const res = await t.http
        .post('/orgs')
        .set('authorization', owner)
        .set('content-type', 'application/json')
        .send(body);
      expectProblem(res, 400, 'body');
    }
    expect(await stored(t)).toBe(before);
  });

  it("Fastify's own 400 (bad percent-encoding) and 414 (over-long parameter) are problem+json", async () => {
    const bad = await t.http.get('/orgs/%E0%A4%A/projects').set('authorization', owner);
    expectProblem(bad, 400, 'path');
    expect(bad.headers['x-request-id']).toBeTruthy();
    expectProblem(
      await t.http.get(`/orgs/${'a'.repeat(2000)}/projects`).set('authorization', owner),
      414,
      'path',
    );
    // Over-long but within the router's limit: named.
    expectProblem(
      await t.http.get(`/orgs/${'a'.repeat(600)}/projects`).set('authorization', owner),
      400,
      'path.org',
    );
  });
});

describe('issue 14: web security', () => {
  let gh: FakeGitHub;
  let t: TestApp;
  beforeAll(async () => {
    ({ fake: gh, t } = await startGitHubTestApp({
      github: { clientId: 'Iv1.hardening', clientSecret: 'hardening-secret' },
      oauthOnly: true,
    }));
  });
  afterAll(async () => {
    await t.close();
    await gh.close();
  });

  const HOSTILE_RETURN_TO = [
    '/\\evil.example',
    '\\/evil.example',
    '/\t/evil.example',
    '\t//evil.example',
    '//evil.example',
    '///evil.example',
    '/\n/evil.example',
    '/\r\n/evil.example',
    '/\x0b/evil.example',
    '/\x0c/evil.example',
    '/\u3000/evil.example',
    '/ /evil.example',
    'https://evil.example/',
    'http:evil.example',
    'javascript:alert(1)',
    '/．．/evil.example',
    '//evil．example',
    '/.//evil.example',
    '/a/..//evil.example',
  ];
  const sameSite = (location: string) => {
    expect(location).toMatch(/^\/(?![/\\])/);
    expect(new URL(location, 'http://app.test').origin).toBe('http://app.test');
  };

  it('open redirect: dev sign-in return_to only ever leads to a same-origin path', async () => {
    for (const returnTo of HOSTILE_RETURN_TO) {
      const res = await t.http
        .post('/auth/dev-login')
        .type('form')
        .send({ login: 'redirect-tester', return_to: returnTo });
      expect([returnTo, res.status]).toEqual([returnTo, 303]);
      sameSite(String(res.headers.location));
    }
    const ok = await t.http
      .post('/auth/dev-login')
      .type('form')
      .send({ login: 'redirect-tester', return_to: '/auth/cli?callback=x&state=y#frag' });
    expect(ok.headers.location).toBe('/auth/cli?callback=x&state=y#frag');
  });

  it('open redirect: the GitHub OAuth callback applies the same check', async () => {
    gh.signInAs({ id: 99001, login: 'redirected', name: 'R', email: 'r@example.com' });
    for (const returnTo of [...HOSTILE_RETURN_TO.filter((r) => !/[\n\r]/.test(r)), '/orgs']) {
      const agent = supertest.agent(t.app.getHttpServer());
      const start = await agent.get(`/auth/github?return_to=${encodeURIComponent(returnTo)}`);
      if (start.status === 400) {
        // Control characters in the query string are refused before anything starts.
        expectProblem(start, 400, 'query.return_to');
        continue;
      }
      expect(start.status).toBe(302);
      const atGitHub = await fetch(new URL(start.headers.location as string), {
        redirect: 'manual',
      });
      const callback = new URL(atGitHub.headers.get('location') ?? '');
      const done = await agent.get(callback.pathname + callback.search);
      expect([returnTo, done.status]).toEqual([returnTo, 302]);
      sameSite(String(done.headers.location));
      if (returnTo === '/orgs') expect(done.headers.location).toBe('/orgs');
    }
  });

  it('the login page links only to same-origin return paths', async () => {
    const res = await t.http.get(`/login?return_to=${encodeURIComponent('//evil.example')}`);
    expect(res.status).toBe(200);
    expect(res.text).not.toContain('evil.example');
  });

  it('CLI callback: exactly 127.0.0.1, [::1] or localhost with a port and a path', async () => {
    const refused = [
      'http://127.1:5000/cb',
      'http://0x7f000001:5000/cb',
      'http://2130706433:5000/cb',
      'http://0177.0.0.1:5000/cb',
      'http://LOCALHOST:5000/cb',
      'http://127.0.0.1\\@evil.example:5000/cb',
      'http://127.0.0.1:5000\\@evil.example/cb',
      'http://127.0.0.1:5000@evil.example/cb',
      'http://user@127.0.0.1:5000/cb',
      'http://user:pw@localhost:5000/cb',
      'http://127.0.0.1/cb',
      'http://127.0.0.1:5000',
      'http://127.0.0.1:0/cb',
      'http://127.0.0.1:65536/cb',
      'http://127.0.0.1:5000/cb?x=1',
      'http://127.0.0.1:5000/cb#x',
      'https://127.0.0.1:5000/cb',
      'http://[::ffff:127.0.0.1]:5000/cb',
      'http://[0:0:0:0:0:0:0:1]:5000/cb',
      'http://localhost.evil.example:5000/cb',
      'http://127.0.0.1.evil.example:5000/cb',
      'http://127.0.0.1:5000/c b',
      ' http://127.0.0.1:5000/cb',
    ];
    // Not signed in (t.http carries the session of the tests above).
    const anonymous = supertest(t.app.getHttpServer());
    for (const callback of refused) {
      const q = new URLSearchParams({ callback, state: 'cli-state-123' }).toString();
      const res = await anonymous.get(`/auth/cli?${q}`);
      expect([callback, res.status]).toEqual([callback, 400]);
      expectProblem(res, 400);
    }
    for (const callback of [
      'http://127.0.0.1:53682/callback',
      'http://[::1]:53682/callback',
      'http://localhost:53682/callback',
      'http://localhost:8080/',
    ]) {
      const q = new URLSearchParams({ callback, state: 'cli-state-123' }).toString();
      const res = await anonymous.get(`/auth/cli?${q}`);
      // Accepted: not signed in, so sent to sign in first.
      expect([callback, res.status]).toEqual([callback, 302]);
    }
  });

  it('every HTML page (/login, the CLI approval page, /api/docs) gets the dashboard CSP and frame denial', async () => {
    const agent = supertest.agent(t.app.getHttpServer());
    await agent.post('/auth/dev-login').send({ login: 'csp-tester' }).expect(200);
    const approval = await agent.get(
      `/auth/cli?${new URLSearchParams({ callback: 'http://127.0.0.1:5000/cb', state: 'cli-state-123' }).toString()}`,
    );
    expect(approval.status).toBe(200);
    expect(approval.text).toContain('Authorize');
    const pages = [
      await t.http.get('/login'),
      approval,
      await t.http.get('/api/docs'),
      await t.http.get('/'),
    ];
    for (const page of pages) {
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      const csp = String(page.headers['content-security-policy']);
      expect(csp.startsWith(CONTENT_SECURITY_POLICY)).toBe(true);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval/);
      expect(page.headers['x-frame-options']).toBe('DENY');
      expect(page.headers['x-content-type-options']).toBe('nosniff');
    }
  });
});

describe('issue 14: X-Forwarded-For is believed only from TRUST_PROXY', () => {
  let plain: TestApp;
  let trusting: TestApp;
  beforeAll(async () => {
    plain = await createTestApp({ RATE_LIMIT_PER_MINUTE: '3' });
    trusting = await createTestApp({ RATE_LIMIT_PER_MINUTE: '3', TRUST_PROXY: 'loopback' });
  });
  afterAll(async () => {
    await plain.close();
    await trusting.close();
  });

  const spoofed = (t: TestApp, i: number) =>
    t.http.get('/me').set('x-forwarded-for', `198.51.100.${i}`);

  it('off by default: the audit IP is the peer’s, not the forged header', async () => {
    const user = await createUserWithToken(plain.prisma);
    await plain.http
      .post('/orgs')
      .set('authorization', user.bearer)
      .set('x-forwarded-for', '203.0.113.66')
      .send({ name: 'Audited' })
      .expect(201);
    const event = await plain.prisma.auditEvent.findFirstOrThrow({
      where: { actorUserId: user.id },
      orderBy: { createdAt: 'desc' },
    });
    expect(event.ip).not.toBe('203.0.113.66');
    expect(event.ip).toMatch(/127\.0\.0\.1|::1/);
  });

  it('off by default: random X-Forwarded-For values do not escape the per-IP rate limit', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= 5; i++) statuses.push((await spoofed(plain, i)).status);
    // 3 requests a minute from this address, whatever each one claims to come from.
    expect(statuses.filter((s) => s !== 429).length).toBeLessThanOrEqual(3);
    expect(statuses.slice(-2)).toEqual([429, 429]);
  });

  it('from a trusted proxy: the forwarded client address is used for rate limits and audit', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= 5; i++) statuses.push((await spoofed(trusting, i)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    const user = await createUserWithToken(trusting.prisma);
    await trusting.http
      .post('/orgs')
      .set('authorization', user.bearer)
      .set('x-forwarded-for', '203.0.113.66')
      .send({ name: 'Audited' })
      .expect(201);
    const event = await trusting.prisma.auditEvent.findFirstOrThrow({
      where: { actorUserId: user.id },
      orderBy: { createdAt: 'desc' },
    });
    expect(event.ip).toBe('203.0.113.66');
  });
});

describe('issue 14: request logs never hold OAuth codes, states or tokens', () => {
  it('redacts code, state, token (and similar) query parameters in request log lines', async () => {
    const db = await createTestDatabase();
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const config = testConfig(db.url, { LOG_LEVEL: 'info', RATE_LIMIT_PER_MINUTE: '100000' });
    const app = await createApiApp(config, { logger: createRootLogger('info', sink) });
    try {
      await app.init();
      await app.getHttpAdapter().getInstance().ready();
      const http = supertest(app.getHttpServer());
      await http.get('/auth/github/callback?code=GITHUBCODE123&state=OAUTHSTATE456');
      await http.get(
        `/auth/cli?${new URLSearchParams({ callback: 'http://127.0.0.1:5000/cb', state: 'CLISTATE7890' }).toString()}`,
      );
      await http.get('/me?token=TOKENVALUE1&access_token=TOKENVALUE2&client_secret=SECRET3');
      await http.get('/orgs?page_size=5&page_token=abc');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const requests = lines.filter((l) => l.includes('"msg":"request"'));
      expect(requests.length).toBeGreaterThanOrEqual(4);
      const all = lines.join('\n');
      for (const secret of [
        'GITHUBCODE123',
        'OAUTHSTATE456',
        'CLISTATE7890',
        'TOKENVALUE1',
        'TOKENVALUE2',
        'SECRET3',
      ]) {
        expect([secret, all.includes(secret)]).toEqual([secret, false]);
      }
      expect(all).toContain('code=[redacted]');
      expect(all).toContain('page_size=5&page_token=abc');
    } finally {
      await app.close();
      await db.drop();
    }
  });
});
