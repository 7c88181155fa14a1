import { createTestApp, type TestApp } from '../support/test-app.js';

describe('the API while PostgreSQL is unreachable', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Nothing listens on port 1: every query fails to connect (Prisma P1001).
    t = await createTestApp({ DATABASE_URL: 'postgresql://root@127.0.0.1:1/meltano_cloud' });
  });
  afterAll(() => t.close());

  it('answers 503 problem+json with Retry-After, not 500', async () => {
    const res = await t.http
      .get('/me')
      .set('authorization', 'Bearer mc_pat_0000000000000000000000000000000000000000')
      .expect(503);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(res.body).toMatchObject({
      status: 503,
      title: 'Service Unavailable',
      dependency: 'database',
    });
    expect(res.body.type).toMatch(/dependency-unavailable$/);
  });

  it('still says so on /readyz', async () => {
    const res = await t.http.get('/readyz').expect(503);
    expect(res.body.checks.postgres.status).toBe('down');
  });
});
