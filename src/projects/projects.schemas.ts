import { z } from 'zod';
import { displayName } from '../common/slug.js';
import { pageQuery } from '../common/zod.js';

/** A folder inside the repository: relative, normalised, never leaving it. */
export const rootPath = z
  .string()
  .trim()
  .max(500)
  .transform(
    (v) =>
      v
        .replace(/\\/g, '/')
        .replace(/^\.\/+/, '')
        .replace(/\/+$/, '')
        .replace(/\/{2,}/g, '/') || '.',
  )
  .refine((v) => !v.startsWith('/'), 'must be relative to the repository root')
  .refine((v) => !v.split('/').includes('..'), 'must not contain ..')
  .refine((v) => v === '.' || !v.split('/').includes('.'), 'must not contain . segments');

export const repositoryField = z.string().trim().min(1, 'must not be empty').max(500);

export const createProjectBody = z.strictObject({
  name: displayName,
  repository: repositoryField.describe(
    'owner/name of a granted GitHub repository (or a git URL without the GitHub App)',
  ),
  root_path: rootPath.optional().describe('Folder holding meltano.yml; default "."'),
});

export const updateProjectBody = z
  .strictObject({
    name: displayName.optional(),
    root_path: rootPath.optional(),
    repository: repositoryField.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'send at least one field');

export const listProjectsQuery = z.object({
  ...pageQuery,
  name_prefix: z.string().max(100).optional().describe('Only projects whose name starts with this'),
});

export const projectOut = z.object({
  id: z.uuid(),
  name: z.string(),
  slug: z.string(),
  repository: z.string(),
  root_path: z.string(),
  repository_access: z.enum(['granted', 'lost']),
  created_at: z.string(),
  updated_at: z.string(),
});
