import { Inject, Injectable } from '@nestjs/common';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { AppConfig } from '../config/app-config.js';
import type { OrgId } from '../database/org-id.js';
import type { Run } from '../generated/prisma/client.js';
import { readRunPod } from '../deployments/run-pod.js';
import { CloneSourceProvider } from '../projects/clone-source.js';
import { SecretsService } from '../secrets/secrets.service.js';
import type { Executor, RunSpec } from './executors/executor.js';
import { EXECUTOR } from './executors/executor.provider.js';
import { MANAGED_STATE_ENV } from './executors/kubernetes/state-sync.js';
import { MeltanoStateService } from './meltano-state.service.js';
import type { LineMasker } from './run-log-writer.js';
import { RunStateCredentials } from './run-state-credentials.js';
import { RunsRepository, type RunWithContext } from './runs.repository.js';

export interface PreparedRun {
  spec: RunSpec;
  masker: LineMasker;
  /** Where Meltano's filesystem state backend lives for this run (local executor), else null. */
  stateDir: string | null;
  /** The states written into `stateDir` before the run (to tell what the run changed). */
  stateBefore: Map<string, string>;
  /** Which Meltano state backend the run uses, for its log. */
  stateNote: string;
}

/**
 * What a run needs before its executor starts it: where to clone from (with
 * a short-lived token), its secrets, its Meltano state (on disk for local
 * runs, a run-scoped credential for Kubernetes Pods). And what is left to do
 * afterwards: the state read back, the folder removed, the credential ended.
 */
@Injectable()
export class RunPreparation {
  constructor(
    private readonly config: AppConfig,
    @Inject(EXECUTOR) private readonly executor: Executor,
    private readonly cloneSources: CloneSourceProvider,
    private readonly secrets: SecretsService,
    private readonly states: MeltanoStateService,
    private readonly credentials: RunStateCredentials,
    private readonly runs: RunsRepository,
  ) {}

  private stateDirFor(run: Run): string {
    return path.join(
      this.config.worker.runWorkdir ?? path.join(tmpdir(), 'meltano-cloud-runs'),
      `state-${run.id}`,
    );
  }

  /** Throws when the run cannot start (e.g. RepositoryAccessLostError, a secret that does not decrypt). */
  async prepare(orgId: OrgId, run: RunWithContext): Promise<PreparedRun> {
    const { deployment } = run;
    const { project } = deployment;
    // Read together; the clone source's failure (repository access lost) is the one reported.
    const [sourceRead, secretsRead] = await Promise.allSettled([
      this.cloneSources.sourceFor(project),
      this.secrets.forRun(orgId, project.id, deployment.id),
    ]);
    if (sourceRead.status === 'rejected') throw sourceRead.reason;
    if (secretsRead.status === 'rejected') throw secretsRead.reason;
    const source = sourceRead.value;
    const forRun = secretsRead.value;
    const env: Record<string, string> = {
      ...forRun.env,
      MELTANO_CLOUD_RUN_ID: run.id,
      MELTANO_CLOUD_DEPLOYMENT: deployment.slug,
    };
    let stateDir: string | null = null;
    let stateBefore = new Map<string, string>();
    let stateNote: string;
    const userBackend = forRun.env.MELTANO_STATE_BACKEND_URI;
    if (userBackend) {
      // The user's own backend wins; its value is a secret, so only its scheme is named.
      const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(userBackend)?.[1] ?? 'custom';
      stateNote = `Meltano state: the deployment's own MELTANO_STATE_BACKEND_URI (${scheme}://…); meltano-cloud does not keep this run's state`;
    } else if (this.executor.kind === 'local') {
      stateDir = this.stateDirFor(run);
      stateBefore = await this.states.materialise(orgId, run.deploymentId, stateDir);
      env.MELTANO_STATE_BACKEND_URI = `file://${stateDir}`;
      stateNote = `Meltano state: kept by meltano-cloud (${stateBefore.size} state(s) of this deployment loaded into Meltano's filesystem backend)`;
    } else if (this.config.kubernetes?.stateApiUrl) {
      stateNote =
        "Meltano state: kept by meltano-cloud (the run's Pod loads this deployment's states before meltano starts and stores those it writes when it ends)";
      // A re-attach finds the Pod holding the credential minted at the start.
      if (!run.stateTokenHash) {
        env[MANAGED_STATE_ENV.token] = await this.credentials.mint(orgId, run.id);
        env[MANAGED_STATE_ENV.apiUrl] = this.config.kubernetes.stateApiUrl;
      }
    } else {
      stateNote =
        'Meltano state: not kept between runs (set K8S_STATE_API_URL on the service, or MELTANO_STATE_BACKEND_URI as a deployment secret)';
    }
    const spec: RunSpec = {
      runId: run.id,
      organizationId: orgId,
      projectId: project.id,
      deploymentId: deployment.id,
      repository: {
        cloneUrl: source.url,
        commitSha: run.commitSha ?? deployment.deployedCommitSha ?? '',
        branch: deployment.branch,
        ...(source.token ? { token: source.token } : {}),
      },
      rootPath: project.rootPath,
      environment: deployment.environment,
      command:
        run.scheduleId && run.schedule
          ? { kind: 'schedule', name: run.target }
          : { kind: 'job', name: run.jobName ?? run.target },
      env,
      files: forRun.files,
      timeoutSeconds: run.timeoutSeconds,
      ...(deployment.pluginImage && this.executor.kind === 'kubernetes'
        ? { pluginImage: deployment.pluginImage }
        : {}),
      pod: runPodSpec(deployment.runPod),
    };
    return { spec, masker: forRun.masker, stateDir, stateBefore, stateNote };
  }

  /**
   * After the run (success or failure: Meltano checkpoints partial progress):
   * the states it wrote are stored (when `keepState`), its folder removed, its
   * state credential ended.
   */
  async cleanUp(orgId: OrgId, run: Run, prepared: PreparedRun, keepState: boolean): Promise<void> {
    if (prepared.spec.env[MANAGED_STATE_ENV.token] || run.stateTokenHash)
      await this.credentials.revoke(orgId, run.id).catch(() => undefined);
    if (!prepared.stateDir) return;
    if (keepState) {
      const written = await this.states
        .collect(orgId, run.deploymentId, prepared.stateDir, prepared.stateBefore)
        .catch(() => []);
      await this.runs.addStateIds(orgId, run.id, written).catch(() => undefined);
    }
    await rm(prepared.stateDir, { recursive: true, force: true });
  }
}

/** The deployment's `run_pod` setting as the executor takes it. */
function runPodSpec(stored: unknown): RunSpec['pod'] {
  const settings = readRunPod(stored);
  const pod: NonNullable<RunSpec['pod']> = {};
  if (settings.resources) pod.resources = settings.resources;
  if (settings.node_selector) pod.nodeSelector = settings.node_selector;
  if (settings.tolerations)
    pod.tolerations = settings.tolerations.map(({ toleration_seconds, ...rest }) => ({
      ...rest,
      ...(toleration_seconds !== undefined ? { tolerationSeconds: toleration_seconds } : {}),
    }));
  return pod;
}
