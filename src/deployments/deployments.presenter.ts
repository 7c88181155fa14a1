import type { DeploymentView } from './deployments.repository.js';
import { readRunPod } from './run-pod.js';
import { entriesOf } from '../meltano/ordered-entries.js';

/** A deployment as the API shows it. */
export const presentDeployment = (d: DeploymentView) => ({
  id: d.id,
  project_id: d.projectId,
  name: d.name,
  slug: d.slug,
  environment: d.environment,
  branch: d.branch,
  status: d.status,
  status_message: d.statusMessage,
  deployed_commit_sha: d.deployedCommitSha,
  deployed_at: d.deployedAt?.toISOString() ?? null,
  jobs: entriesOf(d.meltanoJobs).map(([name]) => name),
  run_timeout_seconds: d.runTimeoutSeconds,
  max_concurrent_runs: d.maxConcurrentRuns,
  concurrency_policy: d.concurrencyPolicy,
  missed_run_policy: d.missedRunPolicy,
  spread_schedules: d.spreadSchedules,
  plugin_image: d.pluginImage,
  retry_infra_failures: d.retryInfraFailures,
  run_pod: readRunPod(d.runPod),
  created_at: d.createdAt.toISOString(),
  updated_at: d.updatedAt.toISOString(),
});
