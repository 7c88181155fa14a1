import { z } from 'zod';
import { displayName } from '../common/slug.js';
import { pageQuery } from '../common/zod.js';
import { runPodSettings } from './run-pod.js';

/** `git check-ref-format` rules for a branch name, so bad names fail here rather than at clone time. */
export const branchName = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(250)
  .refine(
    (b) =>
      // eslint-disable-next-line no-control-regex -- git forbids control characters in ref names
      !/[\s~^:?*[\\\x00-\x1f\x7f]/.test(b) &&
      !b.includes('..') &&
      !b.includes('@{') &&
      !b.startsWith('-') &&
      !b.startsWith('/') &&
      !b.endsWith('/') &&
      !b.endsWith('.') &&
      !b.endsWith('.lock') &&
      !b.includes('//') &&
      b !== '@',
    'is not a valid git branch name',
  );

export const environmentName = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_.-]{1,100}$/, 'must be a Meltano environment name (letters, digits, _ . -)');

const settings = {
  run_timeout_seconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 24 * 3600)
    .optional(),
  max_concurrent_runs: z.number().int().min(1).max(100).optional(),
  concurrency_policy: z
    .enum(['skip', 'queue'])
    .optional()
    .describe('When a tick arrives while the schedule is still running'),
  missed_run_policy: z
    .enum(['skip', 'run_once'])
    .optional()
    .describe('Ticks missed while no worker ran'),
  spread_schedules: z
    .boolean()
    .optional()
    .describe('Delay each schedule by a stable offset (up to 7 min)'),
  run_pod: runPodSettings.optional(),
};

export const createDeploymentBody = z.strictObject({
  name: displayName,
  environment: environmentName,
  branch: branchName,
  ...settings,
});

export const updateDeploymentBody = z
  .strictObject({
    environment: environmentName.optional(),
    branch: branchName.optional(),
    ...settings,
  })
  .refine((b) => Object.keys(b).length > 0, 'send at least one field');

export const listDeploymentsQuery = z.object({
  ...pageQuery,
  name_prefix: z.string().max(100).optional(),
  status: z.enum(['new', 'deploying', 'ready', 'failed']).optional(),
});

export const deploymentOut = z.object({
  id: z.uuid(),
  project_id: z.uuid(),
  name: z.string(),
  slug: z.string(),
  environment: z.string(),
  branch: z.string(),
  status: z.enum(['new', 'deploying', 'ready', 'failed']),
  status_message: z.string().nullable(),
  deployed_commit_sha: z.string().nullable(),
  deployed_at: z.string().nullable(),
  run_timeout_seconds: z.number(),
  max_concurrent_runs: z.number(),
  concurrency_policy: z.enum(['skip', 'queue']),
  missed_run_policy: z.enum(['skip', 'run_once']),
  spread_schedules: z.boolean(),
  run_pod: runPodSettings,
  created_at: z.string(),
  updated_at: z.string(),
});
