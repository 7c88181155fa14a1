import { createServer, type Server, type Socket } from 'node:net';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createUserWithToken, type TestUser } from '../support/fixtures.js';

/** A TCP server that accepts connections and never answers: a Redis behind a black-holed network. */
async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  return {
    url: `redis://127.0.0.1:${address.port}`,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const expectUnavailable = (res: {
  status: number;
  headers: Record<string, string>;
  body: { dependency?: string };
}) => {
  expect(res.status).toBe(503);
  expect(res.headers['content-type']).toContain('application/problem+json');
  expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  expect(res.body.dependency).toBe('redis');
};

/**
 * Requests that need Redis (the rate limiter on every authenticated route, enqueues) answer
 * 503 problem+json with Retry-After while Redis is unreachable, instead of waiting for it:
 * the shared producer connection fails its commands fast (few retries, a command timeout).
 * Nothing a refused request wanted to write is stored.
 */
describe.each([
  [
    'refuses connections (down)',
    () => Promise.resolve({ url: 'redis://127.0.0.1:1', close: async () => undefined }),
  ],
  ['accepts connections but never answers', silentServer],
])('the API while Redis %s', (_name, startRedis) => {
  let t: TestApp;
  let redis: { url: string; close(): Promise<void> };
  let user: TestUser;

  beforeAll(async () => {
    redis = await startRedis();
    t = await createTestApp({ REDIS_URL: redis.url });
    user = await createUserWithToken(t.prisma);
  });
  afterAll(async () => {
    await t.close();
    await redis.close();
  });

  it('answers 503 with Retry-After on an authenticated read, not a hang or a 500', async () => {
    expectUnavailable(await t.http.get('/me').set('authorization', user.bearer));
  });

  it('answers 503 on a write and stores nothing', async () => {
    const res = await t.http
      .post('/orgs')
      .set('authorization', user.bearer)
      .send({ name: 'Outage Org', slug: 'outage-org' });
    expectUnavailable(res);
    expect(await t.prisma.organization.count({ where: { slug: 'outage-org' } })).toBe(0);
  });

  it('reports Redis down on /readyz', async () => {
    const res = await t.http.get('/readyz');
    expect(res.status).toBe(503);
    expect(res.body.checks.redis.status).toBe('down');
  });
});
