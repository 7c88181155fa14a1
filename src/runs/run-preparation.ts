import { Inject, Injectable } from '@nestjs/common';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { AppConfig } from '../config/app-config.js';
import type { OrgId } from '../database/org-id.js';
import type { Run } from '../generated/prisma/client.js';
import { CloneSourceProvider } from '../projects/clone-source.js';
import { SecretsService } from '../secrets/secrets.service.js';
import type { Executor, RunSpec } from './executors/executor.js';
import { EXECUTOR } from './executors/executor.provider.js';
import { MeltanoStateService } from './meltano-state.service.js';
import type { LineMasker } from './run-log-writer.js';
import type { RunWithContext } from './runs.repository.js';

export interface PreparedRun {
  spec: RunSpec;
  masker: LineMasker;
  /** Where Meltano's filesystem state backend lives for this run (local executor), else null. */
  stateDir: string | null;
}

/**
 * What a run needs before its executor starts it: where to clone from (with
 * a short-lived token), its secrets, its Meltano state on disk. And what is
 * left to do afterwards: the state read back, the folder removed.
 */
@Injectable()
export class RunPreparation {
  constructor(
    private readonly config: AppConfig,
    @Inject(EXECUTOR) private readonly executor: Executor,
    private readonly cloneSources: CloneSourceProvider,
    private readonly secrets: SecretsService,
    private readonly states: MeltanoStateService,
  ) {}

  private stateDirFor(run: Run): string | null {
    // The filesystem state backend only reaches processes on this machine (see README: Kubernetes uses a state URI secret).
    if (this.executor.kind !== 'local') return null;
    return path.join(
      this.config.worker.runWorkdir ?? path.join(tmpdir(), 'meltano-cloud-runs'),
      `state-${run.id}`,
    );
  }

  /** Throws when the run cannot start (e.g. RepositoryAccessLostError, a secret that does not decrypt). */
  async prepare(orgId: OrgId, run: RunWithContext): Promise<PreparedRun> {
    const stateDir = this.stateDirFor(run);
    if (stateDir) await this.states.materialise(orgId, run.deploymentId, stateDir);
    const { deployment } = run;
    const { project } = deployment;
    const source = await this.cloneSources.sourceFor(project);
    const forRun = await this.secrets.forRun(orgId, project.id, deployment.id);
    const env: Record<string, string> = {
      ...forRun.env,
      MELTANO_CLOUD_RUN_ID: run.id,
      MELTANO_CLOUD_DEPLOYMENT: deployment.slug,
    };
    if (stateDir) env.MELTANO_STATE_BACKEND_URI = `file://${stateDir}`;
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
    };
    return { spec, masker: forRun.masker, stateDir };
  }

  /** After the run: the state it left is stored (when `keepState`), its folder removed. */
  async cleanUp(orgId: OrgId, run: Run, prepared: PreparedRun, keepState: boolean): Promise<void> {
    if (!prepared.stateDir) return;
    if (keepState)
      await this.states.collect(orgId, run.deploymentId, prepared.stateDir).catch(() => 0);
    await rm(prepared.stateDir, { recursive: true, force: true });
  }
}
