import { z } from 'zod';
import { displayName } from '../common/slug.js';

export const roleEnum = z.enum(['owner', 'admin', 'member', 'viewer']);

export const createOrgBody = z.strictObject({
  name: displayName,
  slug: z
    .string()
    .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'lowercase letters, digits and dashes')
    .optional()
    .describe('Defaults to the name, slugged'),
});

export const updateOrgBody = z
  .strictObject({
    name: displayName.optional(),
    max_run_timeout_seconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 24 * 3600)
      .optional(),
    max_concurrent_runs: z.number().int().min(1).max(1000).optional(),
    log_retention_days: z.number().int().min(1).max(400).optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'send at least one field');

export const inviteBody = z.strictObject({
  login: z.string().regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, 'must be a GitHub login'),
  role: roleEnum,
});

export const roleBody = z.strictObject({ role: roleEnum });

export const orgOut = z.object({
  id: z.uuid(),
  name: z.string(),
  slug: z.string(),
  billing_account_number: z.string(),
  role: roleEnum,
  settings: z.object({
    max_run_timeout_seconds: z.number(),
    max_concurrent_runs: z.number(),
    log_retention_days: z.number(),
  }),
  created_at: z.string(),
});

export const memberOut = z.object({
  user_id: z.uuid(),
  login: z.string(),
  name: z.string().nullable(),
  avatar_url: z.string().nullable(),
  role: roleEnum,
  joined_at: z.string(),
});

export const auditEventOut = z.object({
  id: z.uuid(),
  action: z.string(),
  actor: z.string().nullable(),
  actor_name: z.string().nullable().describe('The actor’s display name, when they have one'),
  resource_type: z.string(),
  resource_id: z.string().nullable(),
  resource_name: z
    .string()
    .nullable()
    .describe('The resource’s current name ("Analytics / prod"), or the one the event recorded'),
  ip: z.string().nullable(),
  user_agent: z.string().nullable(),
  details: z.unknown(),
  created_at: z.string(),
});
