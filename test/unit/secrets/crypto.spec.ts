import { randomBytes } from 'node:crypto';
import {
  LocalMasterKeyWrapper,
  UnknownMasterKeyError,
  decryptValue,
  encryptValue,
  newDataKey,
  openValue,
  sealValue,
  secretAad,
} from '../../../src/secrets/crypto.js';
import { isReservedName, putSecretBody, secretName } from '../../../src/secrets/secrets.schemas.js';
import { secretFileName } from '../../../src/secrets/secrets.service.js';

const where = {
  organizationId: '11111111-1111-4111-8111-111111111111',
  projectId: '22222222-2222-4222-8222-222222222222',
  scope: 'project',
  name: 'DB_PASSWORD',
};

describe('envelope encryption', () => {
  it('round-trips a value under a data key with a fresh IV each time', () => {
    const key = newDataKey();
    const a = encryptValue(key, 'hunter22', secretAad(where));
    const b = encryptValue(key, 'hunter22', secretAad(where));
    expect(a.iv).toHaveLength(12);
    expect(a.authTag).toHaveLength(16);
    expect(a.iv.equals(b.iv)).toBe(false);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
    expect(a.ciphertext.toString('utf8')).not.toContain('hunter22');
    expect(decryptValue(key, a, secretAad(where)).toString()).toBe('hunter22');
  });

  it('refuses a ciphertext moved to another organization, project, scope or name (AAD)', () => {
    const key = newDataKey();
    const sealed = encryptValue(key, 'v', secretAad(where));
    for (const moved of [
      { ...where, organizationId: '33333333-3333-4333-8333-333333333333' },
      { ...where, projectId: '33333333-3333-4333-8333-333333333333' },
      { ...where, scope: '44444444-4444-4444-8444-444444444444' },
      { ...where, name: 'OTHER' },
    ]) {
      expect(() => decryptValue(key, sealed, secretAad(moved))).toThrow();
    }
    expect(() => decryptValue(newDataKey(), sealed, secretAad(where))).toThrow();
    const tampered = { ...sealed, ciphertext: Buffer.from(sealed.ciphertext) };
    tampered.ciphertext[0] = (tampered.ciphertext[0] ?? 0) ^ 1;
    expect(() => decryptValue(key, tampered, secretAad(where))).toThrow();
  });

  it('seals single-column values (iv | tag | ciphertext) bound to their AAD', () => {
    const key = newDataKey();
    const sealed = sealValue(key, 'whsec_abc', 'channel-1');
    expect(openValue(key, sealed, 'channel-1')).toBe('whsec_abc');
    expect(() => openValue(key, sealed, 'channel-2')).toThrow();
  });

  it('wraps data keys with the current master key and unwraps with previous ones', async () => {
    const k1 = { id: 'k1', key: randomBytes(32) };
    const k2 = { id: 'k2', key: randomBytes(32) };
    const dataKey = newDataKey();
    const old = new LocalMasterKeyWrapper(k1);
    const wrapped = await old.wrap(dataKey);
    expect(wrapped.keyId).toBe('k1');
    expect(wrapped.wrapped.includes(dataKey)).toBe(false);
    const rotated = new LocalMasterKeyWrapper(k2, [k1]);
    expect(rotated.currentKeyId).toBe('k2');
    expect((await rotated.unwrap(wrapped.wrapped, 'k1')).equals(dataKey)).toBe(true);
    const rewrapped = await rotated.wrap(dataKey);
    expect(rewrapped.keyId).toBe('k2');
    await expect(old.unwrap(rewrapped.wrapped, 'k2')).rejects.toBeInstanceOf(UnknownMasterKeyError);
    // A wrapped key is bound to its key id: claiming another id fails.
    const sameKeyOtherId = new LocalMasterKeyWrapper({ id: 'k3', key: k1.key });
    await expect(sameKeyOtherId.unwrap(wrapped.wrapped, 'k3')).rejects.toThrow();
    expect(() => new LocalMasterKeyWrapper({ id: 'short', key: randomBytes(16) })).toThrow(
      /32 bytes/,
    );
  });
});

describe('secret names, values and files', () => {
  it('accepts environment variable names and refuses reserved ones', () => {
    for (const ok of [
      'A',
      '_X',
      'TAP_POSTGRES_PASSWORD',
      'a1_b2',
      'MELTANO_CLOUDY',
      'GITHUB_TOKEN',
      // A deployment's own state backend (it wins over the managed one).
      'MELTANO_STATE_BACKEND_URI',
    ])
      expect(secretName.safeParse(ok).success).toBe(true);
    for (const bad of ['1A', 'A-B', 'A B', '', 'É', 'x'.repeat(256)])
      expect(secretName.safeParse(bad).success).toBe(false);
    for (const reserved of [
      'MELTANO_ENVIRONMENT',
      'MC_STATE_TOKEN',
      'MELTANO_PROJECT_ROOT',
      'MELTANO_CLOUD_RUN_ID',
      'PATH',
      'path',
      'HOME',
      'GIT_SSH_COMMAND',
    ]) {
      expect(isReservedName(reserved)).toBe(true);
      expect(secretName.safeParse(reserved).success).toBe(false);
    }
  });

  it('limits values to 64 KiB of UTF-8 and refuses NUL in environment variables', () => {
    expect(putSecretBody.safeParse({ value: 'x'.repeat(64 * 1024) }).success).toBe(true);
    expect(putSecretBody.safeParse({ value: 'x'.repeat(64 * 1024 + 1) }).success).toBe(false);
    expect(putSecretBody.safeParse({ value: 'é'.repeat(32 * 1024 + 1) }).success).toBe(false);
    expect(putSecretBody.safeParse({ value: 'a\0b' }).success).toBe(false);
    expect(putSecretBody.safeParse({ value: 'a\0b', kind: 'file' }).success).toBe(true);
    expect(putSecretBody.safeParse({ value: 'v', extra: 1 }).success).toBe(false);
  });

  it('derives safe file names', () => {
    expect(secretFileName('GOOGLE_CREDENTIALS', '{"type":"service_account"}')).toBe(
      'GOOGLE_CREDENTIALS.json',
    );
    expect(secretFileName('KEY', '-----BEGIN KEY-----')).toBe('KEY');
    expect(secretFileName('../../etc/passwd', '{not json')).toBe('______etc_passwd');
  });
});
