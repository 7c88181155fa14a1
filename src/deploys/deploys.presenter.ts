import type { Deploy } from '../generated/prisma/client.js';

/** A deploy as the API shows it. */
export const presentDeploy = (d: Deploy) => ({
  id: d.id,
  deployment_id: d.deploymentId,
  trigger: d.trigger,
  branch: d.branch,
  commit_sha: d.commitSha,
  status: d.status,
  message: d.message,
  created_at: d.createdAt.toISOString(),
  started_at: d.startedAt?.toISOString() ?? null,
  finished_at: d.finishedAt?.toISOString() ?? null,
});
