import { createTestApp, type TestApp } from '../support/test-app.js';

describe('HTTP foundation', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('GET /healthz says the process is up', async () => {
    const res = await t.http.get('/healthz').expect(200);
    expect(res.body).toEqual({ status: 'ok' });
  });

  it('GET /readyz checks PostgreSQL and Redis', async () => {
    const res = await t.http.get('/readyz').expect(200);
    expect(res.body).toEqual({
      status: 'ok',
      checks: { postgres: { status: 'ok' }, redis: { status: 'ok' } },
    });
  });

  it('serves the OpenAPI document generated from the code, and its UI', async () => {
    const doc = await t.http.get('/api/docs-json').expect(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(doc.body.paths['/readyz']).toBeDefined();
    const ui = await t.http.get('/api/docs').expect(200);
    expect(ui.text).toContain('swagger');
  });

  it('answers unknown routes with application/problem+json and the request id', async () => {
    const res = await t.http.get('/no/such/route').set('x-request-id', 'req-abc-123').expect(404);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.headers['x-request-id']).toBe('req-abc-123');
    expect(res.body).toMatchObject({ status: 404, title: 'Not Found', request_id: 'req-abc-123' });
    expect(res.body.type).toMatch(/^https:\/\//);
  });

  it('exposes Prometheus metrics with HTTP latency and queue depths', async () => {
    await t.http.get('/healthz');
    const res = await t.http.get('/metrics').expect(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.text).toMatch(/http_request_duration_seconds_bucket\{.*route="\/healthz"/);
    expect(res.text).toMatch(/queue_jobs\{queue="maintenance",state="waiting"\} \d+/);
  });
});

describe('metrics behind a token', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ METRICS_TOKEN: 'scrape-me-please' });
  });
  afterAll(() => t.close());

  it('refuses scrapers without the token and serves those with it', async () => {
    await t.http.get('/metrics').expect(401);
    await t.http.get('/metrics').set('authorization', 'Bearer wrong').expect(401);
    const ok = await t.http
      .get('/metrics')
      .set('authorization', 'Bearer scrape-me-please')
      .expect(200);
    expect(ok.text).toContain('http_request_duration_seconds');
  });
});

describe('readiness when a dependency is down', () => {
  let t: TestApp;
  beforeAll(async () => {
    // Nothing listens on port 1: Redis is unreachable while PostgreSQL is fine.
    t = await createTestApp({ REDIS_URL: 'redis://127.0.0.1:1' });
  });
  afterAll(() => t.close());

  it('answers 503 naming the dependency that failed', async () => {
    const res = await t.http.get('/readyz').expect(503);
    expect(res.body.status).toBe('unavailable');
    expect(res.body.checks.postgres).toEqual({ status: 'ok' });
    expect(res.body.checks.redis.status).toBe('down');
  });
});
