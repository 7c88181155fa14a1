import { jest } from '@jest/globals';
import { MASK, SecretMasker } from '../../../src/secrets/masker.js';

describe('SecretMasker', () => {
  it('replaces every occurrence of a value', () => {
    const m = new SecretMasker(['hunter22']);
    expect(m.maskLine('password=hunter22 again hunter22!')).toBe(`password=${MASK} again ${MASK}!`);
    expect(m.maskLine('nothing here')).toBe('nothing here');
  });

  it('masks the longest value first where values overlap', () => {
    const m = new SecretMasker(['abcd', 'abcdefgh']);
    expect(m.maskLine('x abcdefgh y abcd z')).toBe(`x ${MASK} y ${MASK} z`);
    expect(m.maskLine('abcdefghij')).toBe(`${MASK}ij`);
  });

  it('masks base64 and base64url forms, with and without padding', () => {
    const value = 'sk_live_>>>???~~~';
    const m = new SecretMasker([value]);
    const b64 = Buffer.from(value).toString('base64');
    const b64url = Buffer.from(value).toString('base64url');
    expect(b64).not.toBe(b64url);
    expect(m.maskLine(`Authorization: Basic ${b64}`)).toBe(`Authorization: Basic ${MASK}`);
    expect(m.maskLine(`token=${b64url}&x=1`)).toBe(`token=${MASK}&x=1`);
    const padded = Buffer.from('secret-1').toString('base64');
    expect(padded.endsWith('=')).toBe(true);
    const m2 = new SecretMasker(['secret-1']);
    expect(m2.maskLine(`a ${padded} b ${padded.replace(/=+$/, '')}c`)).toBe(`a ${MASK} b ${MASK}c`);
  });

  it('masks each line of a multi-line value (log lines are masked one by one)', () => {
    const serviceAccount = JSON.stringify(
      {
        type: 'service_account',
        private_key_id: '0123456789abcdef',
        private_key: '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\n-----END PRIVATE KEY-----\n',
        client_email: 'loader@project.iam.gserviceaccount.com',
      },
      null,
      2,
    );
    const m = new SecretMasker([serviceAccount]);
    const logged = serviceAccount.split('\n').map((line) => m.maskLine(line));
    for (const line of logged) expect(['{', '}', MASK]).toContain(line.trim());
    // The same line with other indentation is still masked.
    expect(m.maskLine(`    "private_key_id": "0123456789abcdef",`)).toBe(`    ${MASK}`);
    // The JSON-escaped form of the whole value (a value printed inside JSON).
    expect(m.maskLine(`{"creds":${JSON.stringify(serviceAccount)}}`)).toBe(`{"creds":"${MASK}"}`);
    // A PEM key split over lines.
    const pem = '-----BEGIN KEY-----\nAAAABBBBCCCC\nDDDDEEEE\n-----END KEY-----';
    const pm = new SecretMasker([pem]);
    expect(pem.split('\n').map((l) => pm.maskLine(`> ${l}`))).toEqual([
      `> ${MASK}`,
      `> ${MASK}`,
      `> ${MASK}`,
      `> ${MASK}`,
    ]);
  });

  it('skips trivially short fragments (< 4 characters)', () => {
    const m = new SecretMasker(['ab', 'x\n{\nlonger-line\n}']);
    expect(m.maskLine('ab { } x')).toBe('ab { } x');
    expect(m.maskLine('the longer-line')).toBe(`the ${MASK}`);
  });

  it('treats regular-expression characters literally', () => {
    const m = new SecretMasker(['a.b*c+?(d)[e]{2}|$^\\/']);
    expect(m.maskLine('x a.b*c+?(d)[e]{2}|$^\\/ y')).toBe(`x ${MASK} y`);
    expect(m.maskLine('aXbbbc d e')).toBe('aXbbbc d e');
  });

  it('is a no-op without secrets, and `$` in lines or values is not a replacement pattern', () => {
    expect(SecretMasker.none.maskLine('a $& b')).toBe('a $& b');
    const m = new SecretMasker(['pa$$word']);
    expect(m.maskLine('pa$$word $1')).toBe(`${MASK} $1`);
  });

  it('masks 100 secrets over 20k log lines in one precompiled regex pass per line', () => {
    const secrets = Array.from(
      { length: 100 },
      (_, i) => `secret-value-${i}-${'x'.repeat(i % 30)}`,
    );
    const m = new SecretMasker(secrets);
    const lines = Array.from(
      { length: 20_000 },
      (_, i) =>
        `2026-01-01T00:00:00Z INFO extractor row ${i} value=${i % 500 === 0 ? secrets[i % 100] : 'plain'} ${'.'.repeat(80)}`,
    );
    // The cost is counted, not timed: masking a line is exactly one String#replace with the
    // one regex built in the constructor, whatever the number of secrets.
    const replace = jest.spyOn(String.prototype, 'replace');
    let masked = 0;
    let patterns: Set<unknown>;
    try {
      for (const line of lines) if (m.maskLine(line).includes(MASK)) masked++;
      expect(replace).toHaveBeenCalledTimes(lines.length);
      patterns = new Set(replace.mock.calls.map(([pattern]) => pattern));
    } finally {
      replace.mockRestore();
    }
    expect(masked).toBe(40);
    expect(patterns.size).toBe(1);
    expect([...patterns][0]).toBeInstanceOf(RegExp);
  });
});
