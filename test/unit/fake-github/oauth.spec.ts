import { Strategy as GitHubStrategy, type Profile } from 'passport-github2';
import { startFakeGitHub, type FakeGitHub } from '../../support/fake-github.js';

const ALICE = {
  id: 4242,
  login: 'alice',
  name: 'Alice Liddell',
  email: 'alice@example.com',
  avatar_url: 'https://avatars.example.com/alice.png',
};
const CALLBACK = 'http://app.example.test/auth/github/callback';

describe('fake GitHub: OAuth web flow', () => {
  let fake: FakeGitHub;

  beforeAll(async () => {
    fake = await startFakeGitHub({ clientId: 'client-1', clientSecret: 'secret-1' });
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.signInAs(ALICE);
    fake.denyAuthorization(false);
  });

  async function authorize(params: Record<string, string>): Promise<URL> {
    const url = new URL(`${fake.webUrl}/login/oauth/authorize`);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(302);
    return new URL(res.headers.get('location')!);
  }

  async function exchange(body: Record<string, string>, json = true) {
    const res = await fetch(`${fake.webUrl}/login/oauth/access_token`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        ...(json ? { Accept: 'application/json' } : {}),
      },
      body: new URLSearchParams(body),
    });
    expect(res.status).toBe(200);
    return res;
  }

  it('redirects with a code and the state, and exchanges the code for a token once', async () => {
    const location = await authorize({
      client_id: 'client-1',
      redirect_uri: `${CALLBACK}?next=%2Fhome`,
      state: 'st-1',
      scope: 'read:user user:email',
    });
    expect(location.origin + location.pathname).toBe(CALLBACK);
    expect(location.searchParams.get('state')).toBe('st-1');
    expect(location.searchParams.get('next')).toBe('/home');
    const code = location.searchParams.get('code')!;
    expect(code).toMatch(/^[0-9a-f]{20}$/);

    const body = {
      client_id: 'client-1',
      client_secret: 'secret-1',
      code,
      redirect_uri: `${CALLBACK}?next=%2Fhome`,
    };
    const res = await exchange(body);
    expect(res.headers.get('content-type')).toContain('application/json');
    const token = (await res.json()) as Record<string, string>;
    expect(token).toEqual({
      access_token: expect.stringMatching(/^gho_/),
      token_type: 'bearer',
      scope: 'read:user,user:email',
    });

    const again = (await (await exchange(body)).json()) as Record<string, string>;
    expect(again.error).toBe('bad_verification_code');

    const user = await fetch(`${fake.apiUrl}/user`, {
      headers: { Authorization: `Bearer ${token.access_token}` },
    });
    expect(user.status).toBe(200);
    expect(user.headers.get('x-oauth-scopes')).toBe('read:user, user:email');
    const profile = (await user.json()) as Record<string, unknown>;
    expect(profile).toMatchObject({
      id: 4242,
      login: 'alice',
      name: 'Alice Liddell',
      email: 'alice@example.com',
      avatar_url: 'https://avatars.example.com/alice.png',
      type: 'User',
      html_url: `${fake.webUrl}/alice`,
    });

    const emails = await fetch(`${fake.apiUrl}/user/emails`, {
      headers: { Authorization: `token ${token.access_token}` },
    });
    expect(await emails.json()).toEqual([
      { email: 'alice@example.com', primary: true, verified: true, visibility: 'public' },
    ]);

    // The log redacts the credentials to the scheme.
    const logged = fake.requests.find((r) => r.pathname === '/api/v3/user')!;
    expect(logged.headers.authorization).toBe('Bearer');
  });

  it('answers urlencoded without Accept: application/json, and JSON bodies are accepted', async () => {
    const code = (
      await authorize({ client_id: 'client-1', redirect_uri: CALLBACK })
    ).searchParams.get('code')!;
    const res = await fetch(`${fake.webUrl}/login/oauth/access_token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ client_id: 'client-1', client_secret: 'secret-1', code }),
    });
    expect(res.headers.get('content-type')).toContain('application/x-www-form-urlencoded');
    const params = new URLSearchParams(await res.text());
    expect(params.get('access_token')).toMatch(/^gho_/);
    expect(params.get('token_type')).toBe('bearer');
    expect(params.get('scope')).toBe('');
  });

  it('rejects wrong client credentials, unknown codes and a different redirect_uri', async () => {
    const code = (
      await authorize({ client_id: 'client-1', redirect_uri: CALLBACK })
    ).searchParams.get('code')!;
    const bad = async (body: Record<string, string>) =>
      ((await (await exchange(body)).json()) as Record<string, string>).error;
    expect(await bad({ client_id: 'client-1', client_secret: 'nope', code })).toBe(
      'incorrect_client_credentials',
    );
    expect(await bad({ client_id: 'client-2', client_secret: 'secret-1', code })).toBe(
      'incorrect_client_credentials',
    );
    expect(await bad({ client_id: 'client-1', client_secret: 'secret-1', code: 'f00' })).toBe(
      'bad_verification_code',
    );
    expect(
      await bad({
        client_id: 'client-1',
        client_secret: 'secret-1',
        code,
        redirect_uri: 'http://evil.example/cb',
      }),
    ).toBe('redirect_uri_mismatch');
    // A failed attempt does not use the code up.
    const ok = (await (
      await exchange({ client_id: 'client-1', client_secret: 'secret-1', code })
    ).json()) as Record<string, string>;
    expect(ok.access_token).toMatch(/^gho_/);
  });

  it('handles nobody signed in, a denial, and an unknown client', async () => {
    fake.signInAs(null);
    const login = await authorize({ client_id: 'client-1', redirect_uri: CALLBACK, state: 's' });
    expect(login.pathname).toBe('/login');
    expect(login.searchParams.get('return_to')).toContain('/login/oauth/authorize?');

    fake.signInAs(ALICE);
    fake.denyAuthorization();
    const denied = await authorize({ client_id: 'client-1', redirect_uri: CALLBACK, state: 's' });
    expect(denied.searchParams.get('error')).toBe('access_denied');
    expect(denied.searchParams.get('state')).toBe('s');

    const unknown = await fetch(
      `${fake.webUrl}/login/oauth/authorize?client_id=other&redirect_uri=${encodeURIComponent(CALLBACK)}`,
      { redirect: 'manual' },
    );
    expect(unknown.status).toBe(404);
  });

  it('rejects bad tokens on GET /user', async () => {
    expect((await fetch(`${fake.apiUrl}/user`)).status).toBe(401);
    const res = await fetch(`${fake.apiUrl}/user`, {
      headers: { Authorization: 'token gho_nope' },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ message: 'Bad credentials' });
    const token = fake.createOAuthToken({ ...ALICE, name: 'Alice L.' }, ['read:user']);
    const me = await fetch(`${fake.apiUrl}/user`, { headers: { Authorization: `token ${token}` } });
    expect(await me.json()).toMatchObject({ login: 'alice', name: 'Alice L.' });
  });

  it('enforces the registered callback URL when configured', async () => {
    const strict = await startFakeGitHub({ callbackUrl: CALLBACK });
    try {
      strict.signInAs(ALICE);
      const go = (redirectUri: string) =>
        fetch(
          `${strict.webUrl}/login/oauth/authorize?client_id=${strict.clientId}&state=x&redirect_uri=${encodeURIComponent(redirectUri)}`,
          { redirect: 'manual' },
        ).then((r) => new URL(r.headers.get('location')!));
      expect((await go(`${CALLBACK}/sub`)).searchParams.get('code')).toBeTruthy();
      const mismatch = await go('http://other.example.test/auth/github/callback');
      expect(mismatch.searchParams.get('error')).toBe('redirect_uri_mismatch');
      expect(mismatch.origin).toBe('http://app.example.test');
    } finally {
      await strict.close();
    }
  });

  it('works with passport-github2 pointed at the fake (authorize, token, profile, emails)', async () => {
    const strategy = new GitHubStrategy(
      {
        clientID: 'client-1',
        clientSecret: 'secret-1',
        callbackURL: CALLBACK,
        authorizationURL: `${fake.webUrl}/login/oauth/authorize`,
        tokenURL: `${fake.webUrl}/login/oauth/access_token`,
        userProfileURL: `${fake.apiUrl}/user`,
        userEmailURL: `${fake.apiUrl}/user/emails`,
        scope: ['read:user', 'user:email'],
      },
      (
        accessToken: string,
        _refresh: string,
        profile: Profile,
        done: (error: unknown, user?: unknown) => void,
      ) => done(null, { accessToken, profile }),
    );
    type Outcome = { redirect: string } | { user: { accessToken: string; profile: Profile } };
    const run = (query: Record<string, string>) =>
      new Promise<Outcome>((resolve, reject) => {
        Object.assign(strategy, {
          redirect: (url: string) => resolve({ redirect: url }),
          success: (user: { accessToken: string; profile: Profile }) => resolve({ user }),
          fail: (challenge: unknown) => reject(new Error(`fail: ${JSON.stringify(challenge)}`)),
          error: (error: unknown) =>
            reject(error instanceof Error ? error : new Error(String(error))),
        });
        strategy.authenticate({ query, headers: {}, url: '/auth/github/callback' } as never, {});
      });

    const start = await run({});
    expect('redirect' in start).toBe(true);
    const authorizeUrl = (start as { redirect: string }).redirect;
    const res = await fetch(authorizeUrl, { redirect: 'manual' });
    const code = new URL(res.headers.get('location')!).searchParams.get('code')!;

    const done = await run({ code });
    expect('user' in done).toBe(true);
    const { accessToken, profile } = (done as Extract<Outcome, { user: unknown }>).user;
    expect(accessToken).toMatch(/^gho_/);
    expect(profile).toMatchObject({
      id: '4242',
      username: 'alice',
      displayName: 'Alice Liddell',
      emails: [{ value: 'alice@example.com' }],
    });
  });
});
