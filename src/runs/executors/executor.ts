/**
 * How a run's pipeline is executed, behind one interface (as trigger.dev's
 * WorkloadManager): `local` runs a process group on the worker's machine,
 * `kubernetes` runs a batch/v1 Job per run. The run service owns statuses,
 * limits, log storage and secret masking; executors only execute and report.
 */

export interface RunSpec {
  runId: string;
  organizationId: string;
  projectId: string;
  deploymentId: string;
  /** Where to clone from and which commit to check out. */
  repository: {
    /** https URL, file path or any URL git can clone. */
    cloneUrl: string;
    commitSha: string;
    /** Branch the commit belongs to (lets a shallow clone find the commit). */
    branch: string;
    /** Short-lived credential for the clone only (GitHub installation token); never logged. */
    token?: string;
  };
  /** Folder of the repository holding meltano.yml ('.' for the root). */
  rootPath: string;
  /** MELTANO_ENVIRONMENT; null: none is set (Meltano's `default_environment` applies). */
  environment: string | null;
  /** What to run: `meltano schedule run <name>` or `meltano run <job>`. */
  command: { kind: 'schedule'; name: string } | { kind: 'job'; name: string };
  /** Environment for the pipeline: secrets, the state backend settings, anything the service sets. */
  env: Record<string, string>;
  /** Secret files: written before the pipeline starts; `envVar` receives the file's path. */
  files: { envVar: string; fileName: string; content: string }[];
  timeoutSeconds: number;
  /**
   * Kubernetes: the deployment's own image, with its plugins installed at build
   * time; the pipeline runs in it and `meltano install` is skipped.
   */
  pluginImage?: string;
  /** Kubernetes only: the deployment's Pod settings (unset parts keep the service defaults). */
  pod?: RunPodSpec;
}

export interface RunPodSpec {
  resources?: {
    requests?: { cpu?: string; memory?: string };
    limits?: { cpu?: string; memory?: string };
  };
  nodeSelector?: Record<string, string>;
  tolerations?: {
    key?: string;
    operator?: 'Exists' | 'Equal';
    value?: string;
    effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
    tolerationSeconds?: number;
  }[];
}

export interface LogLine {
  stream: 'stdout' | 'stderr';
  line: string;
  timestamp: Date;
}

export type RunPhase =
  /** The process or Pod exists. */
  | 'process_created'
  /** The checkout is there; plugins are being installed (or found installed). */
  | 'install_started'
  /** Plugins are ready; `detail.install` says how (installed now, cached, in the image). */
  | 'install_finished'
  /** Setup (clone, install) done; the pipeline itself is starting. */
  | 'pipeline_started';

/**
 * How a run's plugins came to be installed: `installed` (`meltano install` ran for it),
 * `cached` (an earlier run of the same install key installed them: skipped), `image`
 * (the deployment's own image has them: skipped).
 */
export type PluginInstall = 'installed' | 'cached' | 'image';

export interface PhaseDetail {
  install?: PluginInstall;
}

export interface ExecutionCallbacks {
  onLog(line: LogLine): void;
  onPhase(phase: RunPhase, at: Date, detail?: PhaseDetail): void;
}

export type OutcomeStatus = 'succeeded' | 'failed' | 'timed_out' | 'cancelled';

export interface RunOutcome {
  status: OutcomeStatus;
  exitCode: number | null;
  /** A reason a user can act on; null when succeeded. */
  reason: string | null;
  /**
   * Set when infrastructure, not the pipeline, ended the run: its worker was lost, its Pod
   * evicted, or its node gone. Such a run may be retried automatically (deployment setting).
   */
  lostTo?: InfrastructureLoss;
}

export type InfrastructureLoss = 'worker' | 'eviction' | 'node';

export interface ExecutionHandle {
  /** Executor-specific reference stored on the run (pid of the process group, or the Job name). */
  ref: string;
  /** Resolves once the run ended, whatever the way. Never rejects: failures become outcomes. */
  outcome: Promise<RunOutcome>;
  /** Stops the actual work (kills the process group / deletes the Job) and resolves when it is stopped. */
  cancel(): Promise<void>;
}

export interface Executor {
  readonly kind: 'local' | 'kubernetes';
  start(spec: RunSpec, callbacks: ExecutionCallbacks): Promise<ExecutionHandle>;
  /**
   * After a worker restart: re-attach to work still going (Kubernetes), or
   * return null when it cannot be followed any more (local processes of a dead worker).
   */
  reattach(
    ref: string,
    spec: RunSpec,
    callbacks: ExecutionCallbacks,
  ): Promise<ExecutionHandle | null>;
  /** Removes leftovers (Jobs, Secrets, directories) of runs that already ended. */
  cleanup(isRunActive: (runId: string) => Promise<boolean>): Promise<void>;
}
