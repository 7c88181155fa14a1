import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Envelope encryption primitives. Secret values are encrypted with AES-256-GCM
 * under a per-organization data key; data keys are wrapped by a master key
 * behind the `KeyWrapper` interface (a local key from configuration today, a
 * cloud KMS tomorrow: only this interface needs another implementation).
 */

export const DATA_KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ALGORITHM = 'aes-256-gcm';

export interface WrappedKey {
  /** Opaque bytes the wrapper can unwrap again. */
  wrapped: Buffer;
  /** Which master key wrapped it (stored with the data key). */
  keyId: string;
}

/** Wraps and unwraps data keys with a master key it holds (or a KMS holds for it). */
export abstract class KeyWrapper {
  /** The id of the key new wraps use. */
  abstract readonly currentKeyId: string;
  abstract wrap(dataKey: Buffer): Promise<WrappedKey>;
  /** Unwraps a data key wrapped by the current or a previous master key; throws otherwise. */
  abstract unwrap(wrapped: Buffer, keyId: string): Promise<Buffer>;
}

export interface MasterKey {
  id: string;
  key: Buffer;
}

export class UnknownMasterKeyError extends Error {
  constructor(keyId: string) {
    super(
      `data key is wrapped by master key "${keyId}", which is neither MASTER_KEY_ID nor in PREVIOUS_MASTER_KEYS`,
    );
    this.name = 'UnknownMasterKeyError';
  }
}

/** Sealed bytes: iv (12) | auth tag (16) | ciphertext. */
function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
}

function open(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < IV_BYTES + TAG_BYTES) throw new Error('sealed value is too short');
  const decipher = createDecipheriv(ALGORITHM, key, sealed.subarray(0, IV_BYTES));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
}

/** The master key from configuration (MASTER_KEY / MASTER_KEY_ID / PREVIOUS_MASTER_KEYS). */
export class LocalMasterKeyWrapper extends KeyWrapper {
  readonly currentKeyId: string;
  private readonly keys = new Map<string, Buffer>();

  constructor(current: MasterKey, previous: readonly MasterKey[] = []) {
    super();
    for (const k of [current, ...previous]) {
      if (k.key.length !== DATA_KEY_BYTES) throw new Error(`master key "${k.id}" is not 32 bytes`);
      if (!k.id) throw new Error('a master key needs an id');
    }
    this.currentKeyId = current.id;
    // The current key wins over a previous key listed under the same id.
    for (const k of [...previous].reverse()) this.keys.set(k.id, k.key);
    this.keys.set(current.id, current.key);
  }

  async wrap(dataKey: Buffer): Promise<WrappedKey> {
    const key = this.keys.get(this.currentKeyId);
    if (!key) throw new UnknownMasterKeyError(this.currentKeyId);
    return { wrapped: seal(key, dataKey, wrapAad(this.currentKeyId)), keyId: this.currentKeyId };
  }

  async unwrap(wrapped: Buffer, keyId: string): Promise<Buffer> {
    const key = this.keys.get(keyId);
    if (!key) throw new UnknownMasterKeyError(keyId);
    return open(key, wrapped, wrapAad(keyId));
  }
}

const wrapAad = (keyId: string): string => `meltano-cloud:data-key:v1:${keyId}`;

/** A secret value encrypted under a data key, as stored in the secrets table. */
export interface EncryptedValue {
  ciphertext: Buffer;
  iv: Buffer;
  authTag: Buffer;
}

/** Encrypts with a fresh 12-byte IV; `aad` binds the ciphertext to where it belongs. */
export function encryptValue(
  dataKey: Buffer,
  plaintext: string | Buffer,
  aad: string,
): EncryptedValue {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, dataKey, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const ciphertext = Buffer.concat([
    cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext),
    cipher.final(),
  ]);
  return { ciphertext, iv, authTag: cipher.getAuthTag() };
}

/** Throws when the key, the AAD or any byte is wrong (GCM authentication). */
export function decryptValue(dataKey: Buffer, value: EncryptedValue, aad: string): Buffer {
  const decipher = createDecipheriv(ALGORITHM, dataKey, value.iv);
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(value.authTag);
  return Buffer.concat([decipher.update(value.ciphertext), decipher.final()]);
}

/** Encrypts into one buffer (iv | tag | ciphertext), for single-column values such as signing secrets. */
export const sealValue = (dataKey: Buffer, plaintext: string, aad: string): Buffer =>
  seal(dataKey, Buffer.from(plaintext, 'utf8'), aad);

export const openValue = (dataKey: Buffer, sealed: Buffer, aad: string): string =>
  open(dataKey, sealed, aad).toString('utf8');

/**
 * What a secret's ciphertext is bound to: a row moved to another
 * organization, project, scope or name no longer decrypts.
 */
export const secretAad = (s: {
  organizationId: string;
  projectId: string;
  scope: string;
  name: string;
}): string =>
  JSON.stringify(['meltano-cloud:secret:v1', s.organizationId, s.projectId, s.scope, s.name]);

export const newDataKey = (): Buffer => randomBytes(DATA_KEY_BYTES);

/** A copy as Prisma's `Bytes` input type wants it. */
export const toBytes = (b: Buffer): Uint8Array<ArrayBuffer> => new Uint8Array(b);
