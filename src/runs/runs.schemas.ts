import { z } from 'zod';
import { pageQuery } from '../common/zod.js';

export const runStatus = z.enum([
  'queued',
  'starting',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'timed_out',
  'skipped',
]);
export const FINAL_STATUSES = ['succeeded', 'failed', 'cancelled', 'timed_out', 'skipped'] as const;
export const ACTIVE_STATUSES = ['queued', 'starting', 'running'] as const;

/** A run in a final status never changes again. */
export const isFinal = (status: string): boolean =>
  (FINAL_STATUSES as readonly string[]).includes(status);

export const createRunBody = z
  .strictObject({
    schedule: z.string().min(1).max(200).optional().describe('Run this schedule now'),
    job: z.string().min(1).max(200).optional().describe('Or run a job defined in meltano.yml'),
  })
  .refine((b) => (b.schedule === undefined) !== (b.job === undefined), {
    message: 'send exactly one of schedule or job',
    path: ['schedule'],
  });

export const idempotencyKey = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
  .optional();

/** `1w2d3h4m` → seconds (as Meltano Cloud's CLI `--lookback`). */
export const lookback = z
  .string()
  .regex(/^(\d+w)?(\d+d)?(\d+h)?(\d+m)?$/, 'like 1w2d3h4m')
  .refine((v) => v.length > 0, 'must not be empty')
  .transform((v) => {
    const units: Record<string, number> = { w: 604800, d: 86400, h: 3600, m: 60 };
    let seconds = 0;
    for (const [, n, u] of v.matchAll(/(\d+)([wdhm])/g))
      seconds += Number(n) * (units[u ?? 'm'] ?? 0);
    return seconds;
  });

export const listRunsQuery = z.object({
  ...pageQuery,
  project: z.string().max(100).optional().describe('Project id or slug'),
  deployment: z
    .string()
    .max(4000)
    .optional()
    .describe('Deployment id or slug (comma-separated for several)'),
  schedule: z.string().max(200).optional().describe('Exact schedule or job name'),
  schedule_prefix: z.string().max(200).optional(),
  schedule_contains: z.string().max(200).optional(),
  status: z
    .string()
    .optional()
    .transform((v) => (v ? v.split(',') : undefined))
    .pipe(z.array(runStatus).optional())
    .describe('Comma-separated statuses'),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  lookback: lookback.optional().describe('Only runs queued within this long, e.g. 1w2d3h'),
});

export const logsQuery = z.object({
  after_seq: z.coerce.number().int().min(0).default(0).describe('Lines after this sequence number'),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
});

export const runOut = z.object({
  id: z.uuid(),
  deployment_id: z.uuid(),
  schedule_id: z.uuid().nullable(),
  target: z.string(),
  job_name: z.string().nullable(),
  trigger: z
    .enum(['schedule', 'manual', 'api', 'cli', 'retry'])
    .describe(
      'How the run started: a schedule tick; manual (the dashboard); api (the REST API with a token); cli (the meltano-cloud CLI); retry. triggered_by names the person',
    ),
  status: runStatus,
  status_reason: z.string().nullable(),
  waiting_reason: z.string().nullable(),
  commit_sha: z.string().nullable(),
  attempt: z.number(),
  retry_of: z
    .uuid()
    .nullable()
    .describe(
      'The run this one retries (a retry by a user, or the automatic retry of a run lost to infrastructure)',
    ),
  exit_code: z.number().nullable(),
  tick_at: z.string().nullable(),
  queued_at: z.string(),
  admitted_at: z.string().nullable(),
  started_at: z.string().nullable(),
  install_started_at: z.string().nullable(),
  install_finished_at: z.string().nullable(),
  plugin_install: z
    .enum(['installed', 'cached', 'image'])
    .nullable()
    .describe(
      'How the plugins came to be installed: by this run, cached from an earlier run of the same install key, or in the deployment image',
    ),
  pipeline_started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  duration_seconds: z.number().nullable(),
  timeout_seconds: z.number(),
  steps: z
    .array(
      z.object({
        name: z.enum(['queued', 'clone', 'install', 'pipeline']),
        started_at: z.string(),
        finished_at: z.string().nullable(),
        duration_seconds: z.number().nullable(),
        note: z.string().nullable(),
        billed: z.boolean().describe('Only the pipeline step counts towards billed runtime'),
      }),
    )
    .describe('The run timeline: each step once it began, in order'),
  triggered_by: z
    .object({ login: z.string(), name: z.string().nullable() })
    .nullable()
    .describe(
      'Who started the run by hand, with the CLI or the API, or retried it; null for ticks',
    ),
  credits: z
    .number()
    .nullable()
    .optional()
    .describe(
      'Credits the run cost, from the usage ledger (GET of one run; null until it finished)',
    ),
});
