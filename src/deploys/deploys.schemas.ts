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

/** What a redeploy reads: the branch head (default) or the commit deployed now; whether to skip an unchanged head. */
export const redeployBody = z
  .object({
    commit: z
      .enum(['branch_head', 'deployed'])
      .default('branch_head')
      .describe('`deployed`: read the commit deployed now again (preserve the git hash)'),
    only_if_changed: z
      .boolean()
      .default(false)
      .describe(
        'Do nothing (the deploy says "already up to date") when the branch head is the deployed commit',
      ),
  })
  .strict()
  .optional();
export type RedeployBody = z.infer<typeof redeployBody>;
