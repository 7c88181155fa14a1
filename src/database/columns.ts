import type {
  Deployment,
  Organization,
  Project,
  Run,
  Schedule,
} from '../generated/prisma/client.js';

/**
 * Column lists for the hot reads that go straight to the driver (`PrismaService.readRows`).
 * Every field of the schema is stored in its snake_case column (`organizationId` →
 * `organization_id`), so a field list is enough to select a model's row as Prisma returns it
 * (test/runs/tick-batches.spec.ts compares the two).
 */

/** Every field of a model, checked by the compiler: a field added to the schema must be listed. */
const fieldsOf =
  <T>() =>
  (fields: Record<keyof T & string, true>): (keyof T & string)[] =>
    Object.keys(fields) as (keyof T & string)[];

/**
 * `alias.snake_column AS "camelField", …` for each field; with `prefix`, the names are
 * `"prefix.field"`, for `nestRow` to turn into a nested object.
 */
export const selectList = (alias: string, fields: readonly string[], prefix?: string): string =>
  fields
    .map(
      (f) =>
        `${alias}.${f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)} AS "${prefix ? `${prefix}.` : ''}${f}"`,
    )
    .join(', ');

/**
 * A row selected with prefixed names (`selectList(alias, fields, 'deployment.project')`) as
 * nested objects: `{ 'deployment.id': …, 'deployment.project.id': … }` →
 * `{ deployment: { id, project: { id } } }`. A relation whose `id` is null (a LEFT JOIN that
 * found nothing) is null. `relations` lists the prefixes, parents before children.
 */
export function nestRow<T>(row: Record<string, unknown>, relations: readonly string[]): T {
  const objects = new Map<string, Record<string, unknown>>([['', {}]]);
  for (const relation of relations) objects.set(relation, {});
  for (const [key, value] of Object.entries(row)) {
    const dot = key.lastIndexOf('.');
    objects.get(dot < 0 ? '' : key.slice(0, dot))![key.slice(dot + 1)] = value;
  }
  for (const relation of [...relations].reverse()) {
    const dot = relation.lastIndexOf('.');
    const object = objects.get(relation)!;
    objects.get(dot < 0 ? '' : relation.slice(0, dot))![relation.slice(dot + 1)] =
      object.id === null ? null : object;
  }
  return objects.get('') as T;
}

export const SCHEDULE_FIELDS = fieldsOf<Schedule>()({
  id: true,
  organizationId: true,
  deploymentId: true,
  name: true,
  interval: true,
  cron: true,
  timezone: true,
  job: true,
  extractor: true,
  loader: true,
  transform: true,
  env: true,
  position: true,
  enabled: true,
  invalidReason: true,
  offsetSeconds: true,
  lastTickAt: true,
  archivedAt: true,
  createdAt: true,
  updatedAt: true,
});

export const ORGANIZATION_FIELDS = fieldsOf<Organization>()({
  id: true,
  name: true,
  slug: true,
  billingAccountNumber: true,
  stripeCustomerId: true,
  plan: true,
  maxRunTimeoutSeconds: true,
  maxConcurrentRuns: true,
  logRetentionDays: true,
  createdAt: true,
  updatedAt: true,
});

export const PROJECT_FIELDS = fieldsOf<Project>()({
  id: true,
  organizationId: true,
  name: true,
  slug: true,
  repository: true,
  githubRepositoryId: true,
  rootPath: true,
  repositoryAccess: true,
  createdAt: true,
  updatedAt: true,
});

export const DEPLOYMENT_FIELDS = fieldsOf<Deployment>()({
  id: true,
  organizationId: true,
  projectId: true,
  name: true,
  slug: true,
  environment: true,
  branch: true,
  status: true,
  statusMessage: true,
  deployedCommitSha: true,
  deployedAt: true,
  meltanoJobs: true,
  meltanoEnvironments: true,
  includePaths: true,
  concurrencyPolicy: true,
  missedRunPolicy: true,
  runTimeoutSeconds: true,
  maxConcurrentRuns: true,
  spreadSchedules: true,
  pluginImage: true,
  retryInfraFailures: true,
  runPod: true,
  createdAt: true,
  updatedAt: true,
});

export const RUN_FIELDS = fieldsOf<Run>()({
  id: true,
  organizationId: true,
  deploymentId: true,
  scheduleId: true,
  target: true,
  jobName: true,
  trigger: true,
  status: true,
  statusReason: true,
  waitingReason: true,
  commitSha: true,
  attempt: true,
  retryOfId: true,
  tickAt: true,
  idempotencyKey: true,
  triggeredById: true,
  executor: true,
  executorRef: true,
  workerId: true,
  timeoutSeconds: true,
  exitCode: true,
  queuedAt: true,
  admittedAt: true,
  startedAt: true,
  installStartedAt: true,
  installFinishedAt: true,
  pluginInstall: true,
  pipelineStartedAt: true,
  finishedAt: true,
  cancelRequestedAt: true,
  stateTokenHash: true,
  stateIds: true,
});
