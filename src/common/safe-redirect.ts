/**
 * Where a browser may be sent after sign-in: same-origin relative paths only
 * (no open redirect). Whitespace, control and invisible format characters are
 * removed first (browsers drop tabs and newlines from URLs, so `/\t/evil.com`
 * would be `//evil.com` to them), backslashes are refused (`/\evil.com` is
 * `//evil.com` to browsers), and what is left is resolved against a
 * placeholder origin: anything that leaves it, or whose path would be read as
 * protocol-relative (`//host`), gives the fallback. The result is the URL
 * parser's serialisation, percent-encoded ASCII, so it is always a valid
 * Location header (full-width characters included).
 */
const PLACEHOLDER_ORIGIN = 'http://same-origin.invalid';
export const MAX_RETURN_TO_LENGTH = 2000;

// C0/C1 controls, every Unicode space, zero-width and bidi format characters, BOM.
const INVISIBLE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0020\u007f-\u00a0\u00ad\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff]/g;

export function safeReturnTo(value: unknown, fallback = '/'): string {
  if (typeof value !== 'string' || value.length > MAX_RETURN_TO_LENGTH) return fallback;
  const cleaned = value.replace(INVISIBLE, '');
  if (!cleaned.startsWith('/') || cleaned.startsWith('//') || cleaned.includes('\\')) {
    return fallback;
  }
  let url: URL;
  try {
    url = new URL(cleaned, PLACEHOLDER_ORIGIN);
  } catch {
    return fallback;
  }
  if (url.origin !== PLACEHOLDER_ORIGIN) return fallback;
  const target = url.pathname + url.search + url.hash;
  return target.startsWith('/') && !target.startsWith('//') ? target : fallback;
}
