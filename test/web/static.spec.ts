import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { createTestApp, type TestApp } from '../support/test-app.js';

const WEB = path.resolve(import.meta.dirname, '../../web');
const run = promisify(execFile);

describe('dashboard static files', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '100000' });
  });
  afterAll(() => t.close());

  it('serves index.html at / with a strict CSP, nosniff and revalidation', async () => {
    const res = await t.http.get('/').expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toMatch(/^default-src 'self'(;|$)/);
    expect(res.headers['content-security-policy']).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['cache-control']).toBe('no-cache');
    expect(res.headers['etag']).toMatch(/^"[\w-]+"$/);
    expect(res.text).toContain('<script type="module" src="/assets/app.js"></script>');
    // No session needed to load the page itself; the page asks GET /me.
    await t.http.get('/').set('if-none-match', String(res.headers['etag'])).expect(304);
  });

  it('serves every asset with its type and the same headers', async () => {
    for (const [file, type] of [
      ['app.js', 'text/javascript; charset=utf-8'],
      ['style.css', 'text/css; charset=utf-8'],
      ['favicon.svg', 'image/svg+xml'],
    ]) {
      const res = await t.http.get(`/assets/${file}`).expect(200);
      expect(res.headers['content-type']).toBe(type);
      expect(res.headers['content-security-policy']).toMatch(/^default-src 'self'/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['etag']).toBeTruthy();
    }
  });

  it('refuses anything outside web/ and unknown files with problem+json 404', async () => {
    for (const url of [
      '/assets/..%2Fpackage.json',
      '/assets/%2e%2e%2fpackage.json',
      '/assets/index.html',
      '/assets/missing.js',
      '/assets/APP.JS',
      '/assets/.env',
    ]) {
      const res = await t.http.get(url);
      expect({ url, status: res.status }).toEqual({ url, status: 404 });
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    }
  });

  it('does not shadow the API and stays out of the OpenAPI document', async () => {
    await t.http.get('/me').expect(401);
    await t.http.get('/healthz').expect(200);
    const doc = await t.http.get('/api/docs-json').expect(200);
    const paths = Object.keys(doc.body.paths as Record<string, unknown>);
    expect(paths).not.toContain('/');
    expect(paths.some((p) => p.startsWith('/assets'))).toBe(false);
    expect(paths).toContain('/me');
  });

  it('index.html loads only same-origin assets, and they all exist', async () => {
    const html = await readFile(path.join(WEB, 'index.html'), 'utf8');
    const refs = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(2);
    for (const ref of refs.filter((r) => !r.startsWith('#'))) {
      expect(ref).toMatch(/^\/assets\/[a-z0-9-]+\.(js|css|svg)$/);
      await t.http.get(ref).expect(200);
    }
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline scripts
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i); // nor inline styles or handlers
  });

  it('every module parses, and imports only sibling modules that exist', async () => {
    const files = (await readdir(WEB)).filter((f) => f.endsWith('.js'));
    expect(files).toEqual(expect.arrayContaining(['app.js', 'api.js', 'dom.js']));
    for (const file of files) {
      await run(process.execPath, ['--check', path.join(WEB, file)]);
      const source = await readFile(path.join(WEB, file), 'utf8');
      for (const [, spec] of source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'([^']+)'/gm)) {
        expect({ file, spec }).toEqual({
          file,
          spec: expect.stringMatching(/^\.\/[a-z0-9-]+\.js$/),
        });
        expect(files).toContain(spec!.slice(2));
      }
      expect(source).not.toMatch(/\binnerHTML\b|\beval\(|new Function\(/);
    }
  });
});
