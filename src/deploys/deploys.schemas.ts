import { z } from 'zod';

export const deployOut = z.object({
  id: z.uuid(),
  deployment_id: z.uuid(),
  trigger: z.enum(['create', 'manual', 'push']),
  branch: z.string(),
  commit_sha: z.string().nullable(),
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'superseded']),
  message: z.string().nullable(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
});
