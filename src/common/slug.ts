import { z } from 'zod';

/** URL-safe names: lowercase letters, digits and dashes, as users see in URLs and the CLI. */
export function slugify(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63);
}

export const displayName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .refine((v) => slugify(v).length > 0, 'must contain at least one letter or digit');

/** Path parameters that accept an id or a slug. */
export const refParam = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9-]*$/, 'must be an id or a slug');
