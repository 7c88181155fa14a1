import { ConfigError, loadConfig } from '../../../src/config/app-config.js';
import { MAX_JSON_DEPTH, bodyErrors } from '../../../src/common/input-guard.js';
import { redactUrl } from '../../../src/common/logger.js';
import { parseLoopbackCallback } from '../../../src/common/loopback-callback.js';
import { decodeCursor, pastCursor } from '../../../src/common/pagination.js';
import { safeReturnTo } from '../../../src/common/safe-redirect.js';
import { contentSecurityPolicyFor } from '../../../src/common/security-headers.js';

describe('safeReturnTo', () => {
  it.each([
    ['/', '/'],
    ['/orgs/acme?tab=runs#top', '/orgs/acme?tab=runs#top'],
    [
      '/auth/cli?callback=http%3A%2F%2F127.0.0.1%3A5000%2Fcb&state=s',
      '/auth/cli?callback=http%3A%2F%2F127.0.0.1%3A5000%2Fcb&state=s',
    ],
    ['/a b', '/ab'],
    ['/a\nb', '/ab'],
    ['/．．/x', '/%EF%BC%8E%EF%BC%8E/x'],
    ['/a/../b', '/b'],
  ])('keeps the same-origin path %j as %j', (input, expected) => {
    expect(safeReturnTo(input)).toBe(expected);
  });

  it.each([
    '//evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    '/\t/evil.example',
    '/\n/evil.example',
    '/\r\n/evil.example',
    '/\x0b/evil.example',
    '/\x0c/evil.example',
    '/\u00a0/evil.example',
    '/\u200b/evil.example',
    '/\u3000/evil.example',
    '/\ufeff/evil.example',
    ' //evil.example',
    'https://evil.example',
    'evil.example',
    'javascript:alert(1)',
    '/.//evil.example',
    '/a/..//evil.example',
    '/%2e%2e//evil.example',
    '',
    'x'.repeat(3000),
  ])('sends %j home instead', (input) => {
    expect(safeReturnTo(input)).toBe('/');
  });

  it('ignores what is not a string', () => {
    for (const v of [undefined, null, 1, ['/a'], { a: 1 }]) expect(safeReturnTo(v)).toBe('/');
  });
});

describe('parseLoopbackCallback', () => {
  it.each([
    'http://127.0.0.1:53682/callback',
    'http://[::1]:1/cb',
    'http://localhost:65535/',
    'http://localhost:8080/a/b%20c',
  ])('accepts %s', (v) => {
    expect(parseLoopbackCallback(v)?.toString()).toBe(v);
  });

  it.each([
    'http://127.1:5000/cb',
    'http://0x7f000001:5000/cb',
    'http://2130706433:5000/cb',
    'http://LOCALHOST:5000/cb',
    'http://Localhost:5000/cb',
    'http://127.0.0.1\\@evil.example/cb',
    'http://127.0.0.1:5000\\@evil.example/cb',
    'http://127.0.0.1:5000@evil.example/cb',
    'http://a@127.0.0.1:5000/cb',
    'http://127.0.0.1/cb',
    'http://127.0.0.1:5000',
    'http://127.0.0.1:05000/cb',
    'http://127.0.0.1:99999/cb',
    'http://127.0.0.1:5000/cb?x',
    'http://127.0.0.1:5000/cb#x',
    'http://127.0.0.1:5000/%zz',
    'https://localhost:5000/cb',
    'abc',
    `http://127.0.0.1:5000/${'a'.repeat(3000)}`,
  ])('refuses %s', (v) => {
    expect(parseLoopbackCallback(v)).toBeUndefined();
  });
});

describe('redactUrl', () => {
  it('hides secret query values and keeps the rest', () => {
    expect(redactUrl('/auth/github/callback?code=abc&state=def')).toBe(
      '/auth/github/callback?code=[redacted]&state=[redacted]',
    );
    expect(redactUrl('/x?token=1&access_token=2&client_secret=3&password=4&page_token=p&q=5')).toBe(
      '/x?token=[redacted]&access_token=[redacted]&client_secret=[redacted]&password=[redacted]&page_token=p&q=5',
    );
    expect(redactUrl('/x?%73tate=abc')).toBe('/x?%73tate=[redacted]');
    expect(redactUrl('/x')).toBe('/x');
  });
});

describe('bodyErrors', () => {
  it('names NUL characters in strings and keys at any depth', () => {
    expect(bodyErrors({ a: ['ok', 'x\u0000'], b: { 'k\u0000': 1 } })).toEqual([
      { field: 'body.a.1', message: expect.any(String) },
      { field: 'body.b.k\\u0000', message: expect.any(String) },
    ]);
  });

  it('stops past MAX_JSON_DEPTH without recursing (any depth)', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    expect(bodyErrors({ value: deep })).toEqual([
      { field: 'body.value', message: expect.stringContaining(String(MAX_JSON_DEPTH)) },
    ]);
    let fits: unknown = 1;
    for (let i = 0; i < MAX_JSON_DEPTH - 1; i++) fits = { a: fits };
    expect(bodyErrors(fits)).toEqual([]);
  });
});

describe('cursors', () => {
  const token = (c: unknown) => Buffer.from(JSON.stringify(c)).toString('base64url');
  const id = '0c1f4e5e-8f0b-4a39-9c1e-2d5b7a4e9f10';
  it('refuses ids that are not UUIDs and time keys that are not dates', () => {
    expect(decodeCursor(token({ k: 'analytics', id }))).toEqual({ k: 'analytics', id });
    expect(() => decodeCursor(token({ k: 'a', id: "x' OR 1=1" }))).toThrow();
    expect(() => decodeCursor(token({ k: 'a\u0000', id }))).toThrow();
    expect(() => decodeCursor(token([]))).toThrow();
    expect(() => pastCursor('createdAt', { k: 'not a date', id }, 'desc', true)).toThrow();
    expect(pastCursor('name', { k: 'not a date', id }, 'asc')).toBeTruthy();
  });
});

describe('TRUST_PROXY', () => {
  const trust = (v?: string) =>
    loadConfig(v === undefined ? {} : { TRUST_PROXY: v }).http.trustProxy;
  it('is off by default and takes true or a list of addresses, CIDRs and named ranges', () => {
    expect(trust()).toBe(false);
    expect(trust('')).toBe(false);
    expect(trust('false')).toBe(false);
    expect(trust('true')).toBe(true);
    expect(trust('10.0.0.0/8, 127.0.0.1,::1,fd00::/8,loopback,uniquelocal')).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
      '::1',
      'fd00::/8',
      'loopback',
      'uniquelocal',
    ]);
  });
  it.each(['yes', '10.0.0.0/33', '::1/129', 'proxy.internal', '10.0.0.1,', '1.2.3.4/8/8'])(
    'refuses %j at boot',
    (v) => {
      expect(() => loadConfig({ TRUST_PROXY: v })).toThrow(ConfigError);
    },
  );
});

describe('contentSecurityPolicyFor', () => {
  it('allows exactly the inline styles of the page, by hash', () => {
    const csp = contentSecurityPolicyFor('<style>body{}</style><p style="color:red">x</p>');
    expect(csp).toMatch(/style-src 'self' 'unsafe-hashes' 'sha256-[^']+' 'sha256-[^']+'$/);
    expect(contentSecurityPolicyFor('<p>x</p>')).not.toContain('style-src');
  });
});
