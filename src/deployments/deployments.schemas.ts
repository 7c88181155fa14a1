import { z } from 'zod';
import { displayName } from '../common/slug.js';
import { pageQuery } from '../common/zod.js';
import { pinnedImageReference } from './image-reference.js';
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
  plugin_image: pinnedImageReference
    .nullable()
    .optional()
    .describe(
      "Kubernetes: an image with this project's plugins installed at build time (meltano install in its Dockerfile); runs then skip meltano install. null: the service's Meltano image, plugins installed at run time (cached per install key when a cache volume is configured)",
    ),
  retry_infra_failures: z
    .boolean()
    .optional()
    .describe(
      'Retry once, automatically, a run lost to infrastructure (worker lost, Pod evicted, node gone) before its pipeline started (default true)',
    ),
  run_pod: runPodSettings.optional(),
};

/**
 * The environment runs use; null or omitted: none (`--environment` is not passed, so Meltano's
 * `default_environment` applies), for projects whose meltano.yml defines no environments.
 */
const optionalEnvironment = environmentName
  .nullable()
  .describe("Meltano environment; null: none (Meltano's default_environment applies, if set)");

export const createDeploymentBody = z.strictObject({
  name: displayName,
  environment: optionalEnvironment.optional(),
  branch: branchName,
  ...settings,
});

export const updateDeploymentBody = z
  .strictObject({
    environment: optionalEnvironment.optional(),
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
  environment: z.string().nullable(),
  branch: z.string(),
  status: z.enum(['new', 'deploying', 'ready', 'failed']),
  status_message: z.string().nullable(),
  deployed_commit_sha: z.string().nullable(),
  deployed_at: z.string().nullable(),
  jobs: z.array(z.string()).describe('Jobs of meltano.yml at the deployed commit'),
  run_timeout_seconds: z.number(),
  max_concurrent_runs: z.number(),
  concurrency_policy: z.enum(['skip', 'queue']),
  missed_run_policy: z.enum(['skip', 'run_once']),
  spread_schedules: z.boolean(),
  plugin_image: z.string().nullable(),
  retry_infra_failures: z.boolean(),
  run_pod: runPodSettings,
  created_at: z.string(),
  updated_at: z.string(),
});
