import { createHash, randomBytes } from 'node:crypto';

/** Personal API tokens look like `mc_pat_<43 chars>`; the first 12 characters are shown as the prefix. */
export const TOKEN_PREFIX = 'mc_pat_';
export const SESSION_COOKIE = 'mc_session';
export const CSRF_HEADER = 'x-csrf-token';
export const SESSION_TTL_MS = 14 * 24 * 3600 * 1000;

export const newSecretToken = (prefix = ''): string =>
  prefix + randomBytes(32).toString('base64url');

/** Tokens are stored only as SHA-256: they are high-entropy, so a slow hash adds nothing. */
export const hashToken = (token: string): string =>
  createHash('sha256').update(token).digest('hex');

export const visiblePrefix = (token: string): string => token.slice(0, TOKEN_PREFIX.length + 5);
