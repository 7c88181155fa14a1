import supertest from 'supertest';
import { createTestApp, type TestApp } from '../support/test-app.js';
import type { FakeGitHub } from '../support/fake-github.js';
import { startGitHubTestApp } from '../support/github-app.js';
import { hashToken } from '../../src/auth/credentials.js';

const octocat = { id: 583231, login: 'octocat', name: 'The Octocat', email: 'octocat@github.com' };

/** Drives the browser side of GitHub sign-in: our redirect → GitHub's authorize page → our callback. */
async function signInWithGitHub(
  t: TestApp,
  gh: FakeGitHub,
  agent = supertest.agent(t.app.getHttpServer()),
  returnTo = '/',
) {
  const start = await agent
    .get(`/auth/github?return_to=${encodeURIComponent(returnTo)}`)
    .expect(302);
  const authorize = new URL(start.headers.location as string);
  expect(authorize.origin + authorize.pathname).toBe(`${gh.url}/login/oauth/authorize`);
  expect(authorize.searchParams.get('state')).toBeTruthy();
  const atGitHub = await fetch(authorize, { redirect: 'manual' });
  expect(atGitHub.status).toBe(302);
  const callback = new URL(atGitHub.headers.get('location') ?? '');
  const done = await agent.get(callback.pathname + callback.search);
  return { agent, done, callback };
}

describe('sign-in and credentials', () => {
  let gh: FakeGitHub;
  let t: TestApp;
  beforeAll(async () => {
    ({ fake: gh, t } = await startGitHubTestApp({
      github: { clientId: 'Iv1.test', clientSecret: 'shh-secret' },
      oauthOnly: true,
    }));
  });
  afterAll(async () => {
    await t.close();
    await gh.close();
  });

  it('signs in through GitHub’s OAuth web flow and keys the user by GitHub id', async () => {
    gh.signInAs(octocat);
    const { agent, done } = await signInWithGitHub(t, gh, undefined, '/orgs');
    expect(done.status).toBe(302);
    expect(done.headers.location).toBe('/orgs');
    const cookie = (done.headers['set-cookie'] as unknown as string[]).find((c) =>
      c.startsWith('mc_session='),
    );
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    const me = await agent.get('/me').expect(200);
    expect(me.body.user).toMatchObject({
      login: 'octocat',
      github_id: '583231',
      name: 'The Octocat',
    });
    expect(me.body.csrf_token).toEqual(expect.any(String));

    // We exchanged the code with our client credentials and read /user with the token GitHub gave us.
    const exchange = gh.requests.find((r) => r.pathname === '/login/oauth/access_token');
    expect(JSON.stringify(exchange?.body)).toContain('Iv1.test');
    expect(gh.requests.some((r) => r.pathname === '/api/v3/user' && r.method === 'GET')).toBe(true);

    // The same GitHub account under a new login is the same user.
    gh.signInAs({ ...octocat, login: 'octocat-renamed' });
    const again = await signInWithGitHub(t, gh);
    const me2 = await again.agent.get('/me').expect(200);
    expect(me2.body.user.id).toBe(me.body.user.id);
    expect(me2.body.user.login).toBe('octocat-renamed');
  });

  it('refuses a callback whose state was minted for another browser', async () => {
    gh.signInAs(octocat);
    const { callback } = await signInWithGitHub(t, gh);
    // A different browser (no nonce cookie) replays the callback.
    const stranger = await supertest(t.app.getHttpServer()).get(
      callback.pathname + callback.search,
    );
    expect(stranger.status).toBe(401);
    expect(stranger.body.detail).toMatch(/another browser|expired/);
  });

  it('requires the CSRF token for state-changing requests made with the session cookie', async () => {
    gh.signInAs(octocat);
    const { agent } = await signInWithGitHub(t, gh);
    const me = await agent.get('/me').expect(200);
    const refused = await agent.post('/orgs').send({ name: 'Csrf Co' });
    expect(refused.status).toBe(403);
    expect(refused.body.type).toMatch(/csrf/);
    expect(await t.prisma.organization.count({ where: { slug: 'csrf-co' } })).toBe(0);
    await agent
      .post('/orgs')
      .set('x-csrf-token', me.body.csrf_token)
      .send({ name: 'Csrf Co' })
      .expect(201);
  });

  it('personal API tokens: shown once, stored as a hash, prefix visible, last use tracked, revocable', async () => {
    const { agent } = await signInWithGitHub(t, gh);
    const { csrf_token } = (await agent.get('/me')).body;
    const created = await agent
      .post('/me/tokens')
      .set('x-csrf-token', csrf_token)
      .send({ name: 'ci', expires_in_days: 30 })
      .expect(201);
    const token: string = created.body.token;
    expect(token).toMatch(/^mc_pat_/);
    expect(token.startsWith(created.body.prefix)).toBe(true);
    const stored = await t.prisma.apiToken.findUniqueOrThrow({ where: { id: created.body.id } });
    expect(stored.tokenHash).toBe(hashToken(token));
    expect(JSON.stringify(stored)).not.toContain(token);

    const listed = await agent.get('/me/tokens').expect(200);
    expect(JSON.stringify(listed.body)).not.toContain(token);
    expect(listed.body.results.find((r: { id: string }) => r.id === created.body.id).prefix).toBe(
      created.body.prefix,
    );

    const api = supertest(t.app.getHttpServer());
    const me = await api.get('/me').set('authorization', `Bearer ${token}`).expect(200);
    expect(me.body.authenticated_by).toBe('token');
    // Bearer requests need no CSRF token.
    await api
      .post('/orgs')
      .set('authorization', `Bearer ${token}`)
      .send({ name: 'Token Co' })
      .expect(201);
    expect(
      (await t.prisma.apiToken.findUniqueOrThrow({ where: { id: created.body.id } })).lastUsedAt,
    ).not.toBeNull();

    await agent.delete(`/me/tokens/${created.body.id}`).set('x-csrf-token', csrf_token).expect(204);
    const revoked = await api.get('/me').set('authorization', `Bearer ${token}`);
    expect(revoked.status).toBe(401);
    expect(revoked.headers['www-authenticate']).toMatch(/Bearer/);
  });

  it('refuses expired tokens', async () => {
    const { agent } = await signInWithGitHub(t, gh);
    const { csrf_token } = (await agent.get('/me')).body;
    const created = await agent
      .post('/me/tokens')
      .set('x-csrf-token', csrf_token)
      .send({ name: 'short' })
      .expect(201);
    await t.prisma.apiToken.update({
      where: { id: created.body.id },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    await supertest(t.app.getHttpServer())
      .get('/me')
      .set('authorization', `Bearer ${created.body.token}`)
      .expect(401);
  });

  it('CLI browser sign-in hands a fresh token to the CLI’s localhost callback with its state', async () => {
    const api = supertest(t.app.getHttpServer());
    const callback = 'http://127.0.0.1:53682/callback';
    const page = `/auth/cli?callback=${encodeURIComponent(callback)}&state=cli-state-123`;
    // Not signed in: sent to sign in first, and back here afterwards.
    const notSignedIn = await api.get(page).expect(302);
    expect(notSignedIn.headers.location).toBe(`/login?return_to=${encodeURIComponent(page)}`);

    gh.signInAs(octocat);
    const { agent } = await signInWithGitHub(t, gh, undefined, page);
    const approval = await agent.get(page).expect(200);
    expect(approval.text).toContain('octocat');
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(approval.text)?.[1];
    expect(csrf).toBeTruthy();
    const approved = await agent
      .post('/auth/cli')
      .type('form')
      .send({ callback, state: 'cli-state-123', csrf_token: csrf })
      .expect(303);
    const target = new URL(approved.headers.location as string);
    expect(target.origin + target.pathname).toBe(callback);
    expect(target.searchParams.get('state')).toBe('cli-state-123');
    const token = target.searchParams.get('token') ?? '';
    await api.get('/me').set('authorization', `Bearer ${token}`).expect(200);

    // Without the page's CSRF token nothing is minted.
    await agent
      .post('/auth/cli')
      .type('form')
      .send({ callback, state: 'cli-state-123', csrf_token: 'forged' })
      .expect(403);
    // Only loopback callbacks are accepted.
    const evil = await api.get(
      `/auth/cli?callback=${encodeURIComponent('https://evil.example/cb')}&state=abcdefgh`,
    );
    expect(evil.status).toBe(400);
    expect(evil.body.errors[0].field).toBe('query.callback');
  });

  it('development sign-in works locally and is off when disabled', async () => {
    const agent = supertest.agent(t.app.getHttpServer());
    const res = await agent.post('/auth/dev-login').send({ login: 'dev-user' }).expect(200);
    expect(res.body.user.login).toBe('dev-user');
    expect(res.body.user.github_id).toBeNull();
    await agent.get('/me').expect(200);
    const off = await createTestApp({ DEV_LOGIN_ENABLED: 'false' });
    try {
      await supertest(off.app.getHttpServer())
        .post('/auth/dev-login')
        .send({ login: 'x' })
        .expect(404);
    } finally {
      await off.close();
    }
  });

  it('logout ends the session', async () => {
    const agent = supertest.agent(t.app.getHttpServer());
    const { csrf_token } = (
      await agent.post('/auth/dev-login').send({ login: 'leaver' }).expect(200)
    ).body;
    await agent.post('/auth/logout').set('x-csrf-token', csrf_token).expect(204);
    await agent.get('/me').expect(401);
  });
});

describe('rate limiting', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '5' });
  });
  afterAll(() => t.close());

  it('answers 429 with Retry-After once a client passes its limit per minute', async () => {
    const api = supertest(t.app.getHttpServer());
    const statuses: number[] = [];
    let last: supertest.Response | undefined;
    for (let i = 0; i < 7; i++) {
      last = await api.get('/me');
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 5).every((s) => s === 401)).toBe(true);
    expect(statuses.at(-1)).toBe(429);
    expect(Number(last?.headers['retry-after'])).toBeGreaterThan(0);
    expect(last?.headers['content-type']).toContain('application/problem+json');
    // Health checks are never limited.
    await api.get('/healthz').expect(200);
  });
});
