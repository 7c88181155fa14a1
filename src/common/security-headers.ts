import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

/** The dashboard's policy, sent with every HTML response (nothing may frame any page). */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "base-uri 'none'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

const STYLE_ELEMENT = /<style\b[^>]*>([\s\S]*?)<\/style>/gi;
const STYLE_ATTRIBUTE = /\sstyle="([^"&]*)"/gi;

const sha256 = (text: string): string =>
  `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * CONTENT_SECURITY_POLICY for one HTML document. The server-rendered pages
 * (sign-in, CLI approval, the OpenAPI UI) carry their own fixed `<style>`:
 * those exact styles are allowed by hash, nothing else inline is.
 */
export function contentSecurityPolicyFor(html: string | undefined): string {
  if (!html) return CONTENT_SECURITY_POLICY;
  const elements = new Set([...html.matchAll(STYLE_ELEMENT)].map((m) => sha256(m[1] ?? '')));
  const attributes = new Set([...html.matchAll(STYLE_ATTRIBUTE)].map((m) => sha256(m[1] ?? '')));
  if (!elements.size && !attributes.size) return CONTENT_SECURITY_POLICY;
  const sources = ["'self'", ...(attributes.size ? ["'unsafe-hashes'"] : []), ...elements];
  return `${CONTENT_SECURITY_POLICY}; style-src ${[...sources, ...attributes].join(' ')}`;
}

/** Every `text/html` response gets the CSP, frame denial, nosniff and a same-origin referrer policy. */
export function installHtmlSecurityHeaders(fastify: FastifyInstance): void {
  fastify.addHook('onSend', (_req, reply, payload, done) => {
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.toLowerCase().startsWith('text/html')) {
      const html =
        typeof payload === 'string'
          ? payload
          : Buffer.isBuffer(payload)
            ? payload.toString('utf8')
            : undefined;
      void reply
        .header('content-security-policy', contentSecurityPolicyFor(html))
        .header('x-frame-options', 'DENY')
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'same-origin');
    }
    done(null, payload);
  });
}
