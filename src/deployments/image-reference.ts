import { z } from 'zod';

/**
 * A container image reference as the distribution spec's grammar
 * (github.com/distribution/reference) writes it:
 * `[registry[:port]/]path[:tag][@algorithm:digest]`, path components
 * lowercase. A plugin image must be pinned: a tag or a digest is required
 * (an implicit `latest` could change under a deployment between runs).
 */
const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const DOMAIN_LABEL = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `(?:${DOMAIN_LABEL}(?:\\.${DOMAIN_LABEL})*|\\[[0-9a-fA-F:]+\\])(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(
  `^(?:(${DOMAIN})/)?(${COMPONENT}(?:/${COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`,
);
const PATH_COMPONENT = new RegExp(`^${COMPONENT}$`);
/** The longest reference the distribution library accepts for a name. */
const MAX_NAME = 255;

export interface ImageReference {
  domain: string | null;
  path: string;
  tag: string | null;
  digest: string | null;
}

export function parseImageReference(value: string): ImageReference | null {
  const match = REFERENCE.exec(value);
  if (!match) return null;
  let [, domain, path] = match;
  const [, , , tag, digest] = match;
  if (path === undefined) return null;
  // A first component with neither '.' nor ':' (and not localhost) is a path, not a registry.
  if (domain && !/[.:[]/.test(domain) && domain !== 'localhost') {
    if (!PATH_COMPONENT.test(domain)) return null;
    path = `${domain}/${path}`;
    domain = undefined;
  }
  if (`${domain ? `${domain}/` : ''}${path}`.length > MAX_NAME) return null;
  return { domain: domain ?? null, path, tag: tag ?? null, digest: digest ?? null };
}

export const pinnedImageReference = z
  .string()
  .trim()
  .max(512)
  .refine((value) => parseImageReference(value) !== null, {
    message: 'must be a container image reference such as ghcr.io/acme/meltano-project:1.4.2',
  })
  .refine(
    (value) => {
      const ref = parseImageReference(value);
      return ref === null || ref.tag !== null || ref.digest !== null;
    },
    { message: 'must name a tag or a digest (:1.4.2 or @sha256:…), not an implicit latest' },
  );
