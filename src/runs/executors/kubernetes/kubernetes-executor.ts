/**
 * Runs each pipeline as a batch/v1 Job (see manifests.ts) and follows it
 * through the API server (see run-follower.ts). All state lives in the
 * cluster, so a restarted worker re-attaches by Job name.
 */
import { BatchV1Api, CoreV1Api, KubeConfig, Watch, type V1Job } from '@kubernetes/client-node';
import type { ExecutionCallbacks, ExecutionHandle, Executor, RunSpec } from '../executor.js';
import { describeApiError, isApiStatus } from './api-errors.js';
import {
  buildRunJob,
  buildRunSecret,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  RUN_LABEL,
  runJobName,
  type KubernetesSettings,
} from './manifests.js';
import { withInstallPhases } from './install-phases.js';
import { RunFollower, type FollowerTimings } from './run-follower.js';

export interface KubernetesExecutorOptions extends Partial<FollowerTimings> {
  kubeConfig: KubeConfig;
  settings: KubernetesSettings;
  logger?: { warn(message: string): void };
  /**
   * The log after a re-attach: 'replay' (default) streams it again from the
   * container's start (complete, lines stored before come again); 'new' only
   * lines written from the re-attach on (no repeats, lines written while no
   * worker followed are missed).
   */
  reattachLogs?: 'replay' | 'new';
}

const DEFAULT_TIMINGS: FollowerTimings = {
  /** How long a Pod may stay unschedulable (or its container unconfigurable) before the run fails. */
  unschedulableGraceMs: 5 * 60_000,
  /** Pause before re-listing after a watch or log stream dropped or failed. */
  retryDelayMs: 2_000,
  /** How long to wait for the last log lines once the outcome is known. */
  logDrainMs: 5_000,
  /** How long cancel() waits for a deleted Job to disappear. */
  stopTimeoutMs: 60_000,
  /** Pause between checks while waiting for a deleted Job to disappear. */
  pollIntervalMs: 500,
  /** After activeDeadlineSeconds, how long to wait for Kubernetes before timing the run out ourselves. */
  deadlineSlackMs: 60_000,
};

export class KubernetesExecutor implements Executor {
  readonly kind = 'kubernetes' as const;
  private readonly kubeConfig: KubeConfig;
  private readonly settings: KubernetesSettings;
  private readonly timings: FollowerTimings;
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private readonly watch: Watch;
  private readonly logger: { warn(message: string): void };
  private readonly reattachLogs: 'replay' | 'new';

  constructor(options: KubernetesExecutorOptions) {
    this.kubeConfig = options.kubeConfig;
    this.settings = options.settings;
    const {
      kubeConfig: _kubeConfig,
      settings: _settings,
      logger,
      reattachLogs = 'replay',
      ...timings
    } = options;
    this.reattachLogs = reattachLogs;
    this.timings = { ...DEFAULT_TIMINGS, ...definedOnly(timings) };
    this.logger = logger ?? { warn: () => undefined };
    this.batch = this.kubeConfig.makeApiClient(BatchV1Api);
    this.core = this.kubeConfig.makeApiClient(CoreV1Api);
    this.watch = new Watch(this.kubeConfig);
  }

  /** A KubeConfig for one API server: in-cluster settings, a kubeconfig-less deployment, or a test fake. */
  static kubeConfigFor(options: {
    apiUrl: string;
    token?: string;
    caFile?: string;
    skipTlsVerify: boolean;
  }): KubeConfig {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromOptions({
      clusters: [
        {
          name: 'meltano-cloud',
          server: options.apiUrl,
          skipTLSVerify: options.skipTlsVerify,
          ...(options.caFile ? { caFile: options.caFile } : {}),
        },
      ],
      users: [{ name: 'meltano-cloud', ...(options.token ? { token: options.token } : {}) }],
      contexts: [{ name: 'meltano-cloud', cluster: 'meltano-cloud', user: 'meltano-cloud' }],
      currentContext: 'meltano-cloud',
    });
    return kubeConfig;
  }

  /**
   * Creates the run's Secret and Job and follows them. Rejects (after removing
   * the Secret) when the API refuses the Job; once it resolves, every failure
   * is an outcome. A retried start finds the Job already there and attaches.
   */
  async start(spec: RunSpec, callbacks: ExecutionCallbacks): Promise<ExecutionHandle> {
    const namespace = this.settings.namespace;
    // Both built first: an unusable spec fails before anything exists in the cluster.
    const secret = buildRunSecret(spec, this.settings);
    const manifest = buildRunJob(spec, this.settings);
    const name = runJobName(spec.runId);

    try {
      await this.core.createNamespacedSecret({ namespace, body: secret });
    } catch (error) {
      if (!isApiStatus(error, 409)) {
        throw new Error(`creating Secret ${name} failed: ${describeApiError(error)}`, {
          cause: error,
        });
      }
      // Left by an earlier attempt of this run: refresh it (the clone token may have changed).
      await this.core
        .replaceNamespacedSecret({ name, namespace, body: secret })
        .catch((replaceError: unknown) => {
          throw new Error(`replacing Secret ${name} failed: ${describeApiError(replaceError)}`, {
            cause: replaceError,
          });
        });
    }

    let job: V1Job;
    try {
      job = await this.batch.createNamespacedJob({ namespace, body: manifest });
    } catch (error) {
      if (!isApiStatus(error, 409)) {
        await this.deleteQuietly(() => this.core.deleteNamespacedSecret({ name, namespace }));
        throw new Error(`creating Job ${name} failed: ${describeApiError(error)}`, {
          cause: error,
        });
      }
      job = await this.batch.readNamespacedJob({ name, namespace });
    }
    return this.follow(job, spec, callbacks);
  }

  /**
   * Follows a Job started by an earlier worker, or returns null when it is
   * gone (finished and removed by its TTL, or deleted). Log lines carry the
   * kubelet's timestamps; with `reattachLogs: 'replay'` the whole log comes
   * again (a caller can drop lines at or before the last timestamp it
   * stored). Phases already reached are reported again, with the cluster's
   * timestamps (Pod creation, container start), so re-recording them is harmless.
   */
  async reattach(
    ref: string,
    spec: RunSpec,
    callbacks: ExecutionCallbacks,
  ): Promise<ExecutionHandle | null> {
    let job: V1Job;
    try {
      job = await this.batch.readNamespacedJob({ name: ref, namespace: this.settings.namespace });
    } catch (error) {
      if (isApiStatus(error, 404)) return null;
      throw new Error(`reading Job ${ref} failed: ${describeApiError(error)}`, { cause: error });
    }
    if (job.metadata?.labels?.[RUN_LABEL] !== spec.runId) {
      this.logger.warn(`Job ${ref} does not belong to run ${spec.runId}; not re-attaching`);
      return null;
    }
    const logsFrom = this.reattachLogs === 'new' ? new Date() : undefined;
    return this.follow(job, spec, callbacks, logsFrom);
  }

  /**
   * Deletes the Jobs (foreground: their Pods too) and Secrets of runs that are
   * not active. `isRunActive` must say true for runs being started, or a
   * Secret created a moment ago could go.
   */
  async cleanup(isRunActive: (runId: string) => Promise<boolean>): Promise<void> {
    const namespace = this.settings.namespace;
    const labelSelector = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
    const active = new Map<string, boolean>();
    const inactive = async (runId: string | undefined) => {
      if (!runId) return false;
      if (!active.has(runId)) active.set(runId, await isRunActive(runId));
      return active.get(runId) === false;
    };

    const jobs = await this.batch.listNamespacedJob({ namespace, labelSelector });
    for (const job of jobs.items) {
      const name = job.metadata?.name;
      if (!name || !(await inactive(job.metadata?.labels?.[RUN_LABEL]))) continue;
      await this.deleteQuietly(() =>
        this.batch.deleteNamespacedJob({
          name,
          namespace,
          propagationPolicy: 'Foreground',
          body: { propagationPolicy: 'Foreground' },
        }),
      );
    }
    const secrets = await this.core.listNamespacedSecret({ namespace, labelSelector });
    for (const secret of secrets.items) {
      const name = secret.metadata?.name;
      if (!name || !(await inactive(secret.metadata?.labels?.[RUN_LABEL]))) continue;
      await this.deleteQuietly(() => this.core.deleteNamespacedSecret({ name, namespace }));
    }
  }

  private follow(
    job: V1Job,
    spec: RunSpec,
    callbacks: ExecutionCallbacks,
    logsFrom?: Date,
  ): ExecutionHandle {
    const follower = new RunFollower(
      {
        kubeConfig: this.kubeConfig,
        batch: this.batch,
        core: this.core,
        watch: this.watch,
        settings: this.settings,
        timings: this.timings,
        warn: (message) => this.logger.warn(message),
      },
      job.metadata?.name ?? runJobName(spec.runId),
      spec,
      withInstallPhases(spec, callbacks),
      logsFrom,
    );
    follower.begin(job);
    return follower.handle();
  }

  /** Deletion where "already gone" is fine and other failures are left for the next cleanup. */
  private async deleteQuietly(remove: () => Promise<unknown>): Promise<void> {
    try {
      await remove();
    } catch (error) {
      if (!isApiStatus(error, 404)) this.logger.warn(`cleanup: ${describeApiError(error)}`);
    }
  }
}

function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(
    Object.entries(values).filter(([, value]) => value !== undefined),
  ) as Partial<T>;
}
