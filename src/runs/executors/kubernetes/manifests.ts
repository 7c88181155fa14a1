/**
 * The Kubernetes objects of one run, as pure functions of the RunSpec: a
 * Secret holding everything sensitive (clone token, pipeline env, secret
 * files) and a batch/v1 Job whose Pod clones the repository in an init
 * container and runs Meltano in the main one. The Job itself never contains a
 * secret value: containers read them from the Secret.
 */
import { posix } from 'node:path';
import type { V1Container, V1EnvVar, V1Job, V1ObjectMeta, V1Secret } from '@kubernetes/client-node';
import type { RunSpec } from '../executor.js';
import {
  pipelineImage,
  pipelineScript,
  pluginCacheMounts,
  pluginCacheVolumes,
  pluginInstallEnv,
} from './plugin-install.js';
import { managedStateEnv, usesManagedState, withManagedState } from './state-sync.js';

export interface KubernetesSettings {
  /** Namespace holding the run Jobs, their Pods and Secrets. */
  namespace: string;
  /** Image with `meltano` (and a POSIX shell) for the main container. */
  meltanoImage: string;
  /** Image with `git`, `base64` and a POSIX shell for the clone (init) container. */
  gitImage: string;
  /** CPU request = limit, e.g. '1' or '500m'. */
  cpu: string;
  /** Memory request = limit, e.g. '2Gi'. */
  memory: string;
  /** Kubernetes deletes finished Jobs (and their Pods) after this long. */
  jobTtlSeconds: number;
  /**
   * ReadWriteMany PersistentVolumeClaim keeping installed plugins between runs
   * (see plugin-install.ts); undefined: runs without a plugin image install every time.
   */
  pluginCacheClaim?: string | undefined;
}

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'meltano-cloud';
export const ORGANIZATION_LABEL = 'meltano.cloud/organization';
export const PROJECT_LABEL = 'meltano.cloud/project';
export const DEPLOYMENT_LABEL = 'meltano.cloud/deployment';
export const RUN_LABEL = 'meltano.cloud/run';

export const CLONE_CONTAINER = 'clone';
export const MELTANO_CONTAINER = 'meltano';

const WORKSPACE_DIR = '/workspace';
const REPO_DIR = `${WORKSPACE_DIR}/repo`;
const HOME_DIR = '/home/meltano';
const FILES_DIR = '/var/run/meltano-cloud/files';

const TOKEN_KEY = 'git-token';
const envKey = (name: string) => `env.${name}`;
const fileKey = (index: number) => `file.${index}`;

/** Names Kubernetes accepts for container environment variables. */
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
/** Conservative: a plain file name inside the files directory, never a path. */
const FILE_NAME = /^[-_a-zA-Z0-9][-._a-zA-Z0-9]*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Same name for the Job and the Secret of a run (different kinds, no clash). */
export function runJobName(runId: string): string {
  // The whole id keeps names unique; '.' is not allowed in names that become label values.
  const id = runId
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  // 63: Job names end up in the `batch.kubernetes.io/job-name` label of the Pod.
  const name = `mc-run-${id}`.slice(0, 63).replace(/-+$/, '');
  if (id === '') throw new Error(`run id ${JSON.stringify(runId)} cannot name a Kubernetes Job`);
  return name;
}

/** POSIX-shell single quoting: safe for any string, including quotes and newlines. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function runLabels(spec: RunSpec): Record<string, string> {
  const labels: Record<string, string> = {
    [MANAGED_BY_LABEL]: MANAGED_BY,
    [ORGANIZATION_LABEL]: spec.organizationId,
    [PROJECT_LABEL]: spec.projectId,
    [DEPLOYMENT_LABEL]: spec.deploymentId,
    [RUN_LABEL]: spec.runId,
  };
  for (const [key, value] of Object.entries(labels)) {
    if (value.length > 63 || !LABEL_VALUE.test(value)) {
      throw new Error(`${key} ${JSON.stringify(value)} is not a valid Kubernetes label value`);
    }
  }
  return labels;
}

function runMetadata(spec: RunSpec, settings: KubernetesSettings): V1ObjectMeta {
  return { name: runJobName(spec.runId), namespace: settings.namespace, labels: runLabels(spec) };
}

/** Environment variable names of the pipeline, minus those the Job sets itself or gives to files. */
function pipelineEnvNames(spec: RunSpec): string[] {
  const reserved = new Set([
    'HOME',
    'MELTANO_ENVIRONMENT',
    ...spec.files.map((file) => file.envVar),
  ]);
  const names = Object.keys(spec.env).filter((name) => !reserved.has(name));
  for (const name of names) {
    if (!ENV_NAME.test(name))
      throw new Error(`${JSON.stringify(name)} is not a valid environment variable name`);
  }
  return names.sort();
}

function checkFiles(spec: RunSpec): void {
  const seen = new Set<string>();
  for (const file of spec.files) {
    if (!FILE_NAME.test(file.fileName)) {
      throw new Error(
        `secret file name ${JSON.stringify(file.fileName)} must be a plain file name`,
      );
    }
    if (!ENV_NAME.test(file.envVar)) {
      throw new Error(`${JSON.stringify(file.envVar)} is not a valid environment variable name`);
    }
    if (seen.has(file.fileName))
      throw new Error(`secret file ${JSON.stringify(file.fileName)} is listed twice`);
    seen.add(file.fileName);
  }
}

const base64 = (value: string) => Buffer.from(value, 'utf8').toString('base64');

/** Per-run Secret; no owner: the executor deletes it when the run ends (and `cleanup` catches leftovers). */
export function buildRunSecret(spec: RunSpec, settings: KubernetesSettings): V1Secret {
  checkFiles(spec);
  const data: Record<string, string> = {};
  if (spec.repository.token) data[TOKEN_KEY] = base64(spec.repository.token);
  for (const name of pipelineEnvNames(spec)) data[envKey(name)] = base64(spec.env[name] ?? '');
  spec.files.forEach((file, index) => {
    data[fileKey(index)] = base64(file.content);
  });
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: runMetadata(spec, settings),
    type: 'Opaque',
    data,
  };
}

/** Inside the repository; refuses paths that climb out of it. */
function workingDirFor(rootPath: string): string {
  const dir = posix.normalize(posix.join(REPO_DIR, rootPath));
  if (dir !== REPO_DIR && !dir.startsWith(`${REPO_DIR}/`)) {
    throw new Error(`root path ${JSON.stringify(rootPath)} leaves the repository`);
  }
  return dir.replace(/\/+$/, '');
}

/**
 * The clone script reads every value from its environment (no quoting needed)
 * and turns the token into an Authorization header inside its own shell: the
 * token never appears in the manifest, the command line or git's output.
 * Fetching the commit directly keeps the clone shallow; the branch fetch is
 * the fallback for servers that refuse fetching a bare commit.
 */
export const CLONE_SCRIPT = [
  'set -eu',
  'git init -q "$MC_REPO_DIR"',
  'cd "$MC_REPO_DIR"',
  'git remote add origin "$MC_CLONE_URL"',
  'set --',
  'if [ -n "${MC_GIT_TOKEN:-}" ]; then',
  `  set -- -c "http.extraHeader=Authorization: Basic $(printf 'x-access-token:%s' "$MC_GIT_TOKEN" | base64 | tr -d '\\n')"`,
  'fi',
  'unset MC_GIT_TOKEN',
  'git "$@" fetch -q --depth 1 origin "$MC_COMMIT_SHA" ||',
  '  git "$@" fetch -q origin "+refs/heads/$MC_BRANCH:refs/remotes/origin/$MC_BRANCH"',
  'git -c advice.detachedHead=false checkout -q "$MC_COMMIT_SHA"',
].join('\n');

/** The pipeline command line, every value quoted. */
export function pipelineCommand(command: RunSpec['command']): string {
  return command.kind === 'schedule'
    ? `meltano schedule run ${shellQuote(command.name)}`
    : `meltano run ${shellQuote(command.name)}`;
}

const containerSecurityContext = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};

/** Writable scratch space: the root filesystem is read-only. */
const scratchMounts = [
  { name: 'workspace', mountPath: WORKSPACE_DIR },
  { name: 'tmp', mountPath: '/tmp' },
  { name: 'home', mountPath: HOME_DIR },
];

export function buildRunJob(spec: RunSpec, settings: KubernetesSettings): V1Job {
  checkFiles(spec);
  const metadata = runMetadata(spec, settings);
  const secretName = runJobName(spec.runId);
  const resources = {
    requests: { cpu: settings.cpu, memory: settings.memory },
    limits: { cpu: settings.cpu, memory: settings.memory },
  };

  const cloneEnv: V1EnvVar[] = [
    { name: 'HOME', value: HOME_DIR },
    { name: 'MC_REPO_DIR', value: REPO_DIR },
    { name: 'MC_CLONE_URL', value: spec.repository.cloneUrl },
    { name: 'MC_COMMIT_SHA', value: spec.repository.commitSha },
    { name: 'MC_BRANCH', value: spec.repository.branch },
  ];
  if (spec.repository.token) {
    cloneEnv.push({
      name: 'MC_GIT_TOKEN',
      valueFrom: { secretKeyRef: { name: secretName, key: TOKEN_KEY } },
    });
  }
  const clone: V1Container = {
    name: CLONE_CONTAINER,
    image: settings.gitImage,
    command: ['/bin/sh', '-c', CLONE_SCRIPT],
    env: cloneEnv,
    resources,
    securityContext: containerSecurityContext,
    volumeMounts: scratchMounts,
  };

  // Per-key references (not envFrom) so the clone token and file contents never become pipeline env.
  const meltanoEnv: V1EnvVar[] = [
    { name: 'HOME', value: HOME_DIR },
    // No environment: none is set, so Meltano applies the project's default_environment.
    ...(spec.environment === null
      ? []
      : [{ name: 'MELTANO_ENVIRONMENT', value: spec.environment }]),
    // Log lines reach the log stream as they are written.
    { name: 'PYTHONUNBUFFERED', value: '1' },
    ...pipelineEnvNames(spec).map((name) => ({
      name,
      valueFrom: { secretKeyRef: { name: secretName, key: envKey(name) } },
    })),
    ...spec.files.map((file) => ({ name: file.envVar, value: `${FILES_DIR}/${file.fileName}` })),
    ...pluginInstallEnv(spec, settings, REPO_DIR),
  ];
  const managedState = usesManagedState(spec);
  if (managedState) meltanoEnv.push(...managedStateEnv());
  const pipeline = pipelineScript(spec, settings, pipelineCommand(spec.command));
  const meltano: V1Container = {
    name: MELTANO_CONTAINER,
    image: pipelineImage(spec, settings),
    command: ['/bin/sh', '-c', managedState ? withManagedState(pipeline) : pipeline],
    workingDir: workingDirFor(spec.rootPath),
    env: meltanoEnv,
    resources: pipelineResources(spec, settings),
    securityContext: containerSecurityContext,
    volumeMounts: [
      ...scratchMounts,
      ...(spec.files.length > 0 ? [{ name: 'files', mountPath: FILES_DIR, readOnly: true }] : []),
      ...pluginCacheMounts(spec, settings),
    ],
  };

  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata,
    spec: {
      // One attempt: a retried pipeline could load data twice; the run service decides on retries.
      backoffLimit: 0,
      activeDeadlineSeconds: spec.timeoutSeconds,
      ttlSecondsAfterFinished: settings.jobTtlSeconds,
      template: {
        metadata: { labels: runLabels(spec) },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            fsGroup: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          ...podPlacement(spec),
          initContainers: [clone],
          containers: [meltano],
          volumes: [
            { name: 'workspace', emptyDir: {} },
            { name: 'tmp', emptyDir: {} },
            { name: 'home', emptyDir: {} },
            ...(spec.files.length > 0
              ? [
                  {
                    name: 'files',
                    secret: {
                      secretName,
                      // Readable by the run's group (fsGroup) only.
                      defaultMode: 0o440,
                      items: spec.files.map((file, index) => ({
                        key: fileKey(index),
                        path: file.fileName,
                      })),
                    },
                  },
                ]
              : []),
            ...pluginCacheVolumes(spec, settings),
          ],
        },
      },
    },
  };
}

/**
 * The Meltano container's requests and limits: the deployment's own where it
 * sets them, the service defaults (request = limit) elsewhere. A request set
 * without its limit gets a limit equal to it, and the other way round (so a
 * request never exceeds its limit, which Kubernetes refuses).
 */
export function pipelineResources(
  spec: RunSpec,
  settings: KubernetesSettings,
): { requests: Record<string, string>; limits: Record<string, string> } {
  const own = spec.pod?.resources ?? {};
  const result = { requests: {} as Record<string, string>, limits: {} as Record<string, string> };
  for (const name of ['cpu', 'memory'] as const) {
    const fallback = settings[name];
    const limit = own.limits?.[name];
    const request = own.requests?.[name];
    result.limits[name] = limit ?? request ?? fallback;
    result.requests[name] = request ?? limit ?? fallback;
  }
  return result;
}

/** The deployment's node selector and tolerations, when it has any. */
export function podPlacement(spec: RunSpec): {
  nodeSelector?: Record<string, string>;
  tolerations?: NonNullable<RunSpec['pod']>['tolerations'];
} {
  const placement: ReturnType<typeof podPlacement> = {};
  if (spec.pod?.nodeSelector && Object.keys(spec.pod.nodeSelector).length > 0)
    placement.nodeSelector = { ...spec.pod.nodeSelector };
  if (spec.pod?.tolerations?.length)
    placement.tolerations = spec.pod.tolerations.map((t) => ({ ...t }));
  return placement;
}
