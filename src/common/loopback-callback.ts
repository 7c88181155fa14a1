import { z } from 'zod';

/**
 * The CLI's browser sign-in callback: exactly `http://127.0.0.1:<port>/<path>`,
 * `http://[::1]:<port>/<path>` or `http://localhost:<port>/<path>`, checked on
 * the string as given (not after a URL parser has "fixed" it), so loopback
 * spellings like `127.1`, `0x7f000001`, `LOCALHOST`, userinfo
 * (`127.0.0.1:1@evil`) or backslashes (`127.0.0.1\@evil`) are refused. No
 * query or fragment: the token and state are added to it.
 */
export const MAX_CALLBACK_LENGTH = 2000;
const HOSTS = ['127.0.0.1', '[::1]', 'localhost'];
const SHAPE =
  /^http:\/\/(127\.0\.0\.1|\[::1\]|localhost):([1-9][0-9]{0,4})(\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/]|%[0-9A-Fa-f]{2})*)$/;

export function parseLoopbackCallback(value: unknown): URL | undefined {
  if (typeof value !== 'string' || value.length > MAX_CALLBACK_LENGTH) return undefined;
  const match = SHAPE.exec(value);
  if (!match) return undefined;
  const port = Number(match[2]);
  if (port < 1 || port > 65535) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (
    url.protocol !== 'http:' ||
    url.username !== '' ||
    url.password !== '' ||
    url.search !== '' ||
    url.hash !== '' ||
    !HOSTS.includes(url.hostname) ||
    (url.port || '80') !== match[2]
  ) {
    return undefined;
  }
  return url;
}

export const loopbackCallbackUrl = z
  .string()
  .max(MAX_CALLBACK_LENGTH)
  .refine(
    (v) => parseLoopbackCallback(v) !== undefined,
    'must be http://127.0.0.1:<port>/<path>, http://[::1]:<port>/<path> or http://localhost:<port>/<path>',
  );
