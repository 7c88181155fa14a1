import { z } from 'zod';
import { loopbackCallbackUrl } from '../common/loopback-callback.js';

export const devLoginBody = z.strictObject({
  login: z
    .string()
    .trim()
    .regex(
      /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/,
      'must look like a GitHub login (letters, digits, dashes)',
    ),
  return_to: z.string().max(2000).optional(),
});

export const createTokenBody = z.strictObject({
  name: z.string().trim().min(1, 'must not be empty').max(100),
  expires_in_days: z
    .number()
    .int()
    .min(1)
    .max(3650)
    .optional()
    .describe('Omit for a token that does not expire'),
});

export const cliLoginQuery = z.object({
  callback: loopbackCallbackUrl,
  state: z.string().min(8, 'must be at least 8 characters').max(200),
});

export const userOut = z.object({
  id: z.uuid(),
  login: z.string(),
  name: z.string().nullable(),
  email: z.string().nullable(),
  avatar_url: z.string().nullable(),
  github_id: z.string().nullable(),
});

export const tokenOut = z.object({
  id: z.uuid(),
  name: z.string(),
  prefix: z.string(),
  expires_at: z.string().nullable(),
  last_used_at: z.string().nullable(),
  created_at: z.string(),
});

export const createdTokenOut = tokenOut.extend({
  token: z.string().describe('Shown once; store it now'),
});
