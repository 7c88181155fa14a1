import { Injectable, Logger } from '@nestjs/common';
import path from 'node:path';
import type { OrgId } from '../database/org-id.js';
import { Transactions } from '../database/transactions.js';
import { DeploymentsRepository } from '../deployments/deployments.repository.js';
import type { Deploy, Deployment, Prisma, Project } from '../generated/prisma/client.js';
import { displayUrl } from '../common/git-auth.js';
import {
  MeltanoProjectError,
  assertEnvironmentExists,
  environmentWithoutOne,
  readMeltanoProject,
  schedulesForEnvironment,
  validateSchedules,
  type MeltanoProject,
} from '../meltano/meltano-project.js';
import { RepositoryAccessLostError } from '../projects/clone-source.js';
import { CloneFailedError, RepositoryCheckouts } from '../projects/repository-checkout.js';
import { ProjectsRepository } from '../projects/projects.repository.js';
import {
  applyScheduleSync,
  planScheduleSync,
  type SyncSummary,
  type WantedSchedule,
} from '../schedules/schedule-sync.js';
import { SchedulesRepository } from '../schedules/schedules.repository.js';
import { DeployEvents } from './deploy-events.js';
import { DeploysRepository } from './deploys.repository.js';

/** How a deploy reads the repository (from the job payload). */
export interface DeployOptions {
  /** Check out the deploy's commit (the deployed one, kept) instead of the branch head. */
  pinCommit?: boolean;
  /** When the branch head is the deployed commit, finish at once without syncing. */
  onlyIfChanged?: boolean;
}

/** A failure the project's owner must fix; retrying the job would not help. */
export class DeployFailure extends Error {}

/**
 * The schedules of the deployment's environment in meltano.yml, validated, in merge order
 * (`position`). With no environment, Meltano's `default_environment` is the one that applies.
 */
function wantedSchedules(meltano: MeltanoProject, environment: string | null): WantedSchedule[] {
  const validations = new Map(validateSchedules(meltano, { environment }).map((v) => [v.name, v]));
  const effective = environment ?? meltano.defaultEnvironment;
  return schedulesForEnvironment(meltano, effective).map((schedule, position) => {
    const validation = validations.get(schedule.name);
    return {
      name: schedule.name,
      position,
      interval: schedule.interval,
      cron: validation?.cron ?? null,
      job: schedule.job,
      extractor: schedule.extractor,
      loader: schedule.loader,
      transform: schedule.transform,
      env: schedule.envEntries,
      invalidReason: validation?.invalidReason ?? null,
    };
  });
}

/**
 * The worker side of a deploy: shallow-clone the branch head, read
 * meltano.yml (and its includes) at the project's root path, check the
 * deployment's environment exists, and sync the schedules.
 */
@Injectable()
export class DeployRunner {
  private readonly logger = new Logger(DeployRunner.name);

  constructor(
    private readonly transactions: Transactions,
    private readonly deploys: DeploysRepository,
    private readonly deployments: DeploymentsRepository,
    private readonly projects: ProjectsRepository,
    private readonly schedules: SchedulesRepository,
    private readonly checkouts: RepositoryCheckouts,
    private readonly events: DeployEvents,
  ) {}

  /**
   * `lastAttempt`: the queue will not retry after this one, so an unexpected
   * error must still end the deploy as failed rather than leave it "running".
   */
  async execute(
    orgId: OrgId,
    deployId: string,
    lastAttempt = true,
    options: DeployOptions = {},
  ): Promise<void> {
    const deploy = await this.deploys.findToRun(orgId, deployId);
    if (!deploy) return; // the deployment was deleted meanwhile
    if (deploy.status !== 'queued' && deploy.status !== 'running') return; // superseded or already done
    if (!(await this.deploys.claim(orgId, deploy.id))) return;
    const { deployment } = deploy;
    const { project } = deployment;
    try {
      const outcome = await this.readAndSync(orgId, deploy, deployment, project, options);
      if (outcome !== 'unchanged') await this.events.deploySucceeded(deployment);
    } catch (err) {
      if (err instanceof DeployFailure) {
        await this.fail(orgId, deploy, deployment, err.message);
        return;
      }
      // Infrastructure trouble: let the queue retry; on the last attempt, say so rather than hang.
      if (lastAttempt) {
        await this.fail(
          orgId,
          deploy,
          deployment,
          `internal error, please retry the deploy: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      throw err;
    }
  }

  private async fail(
    orgId: OrgId,
    deploy: Deploy,
    deployment: Deployment,
    message: string,
  ): Promise<void> {
    await this.transactions.run(async (tx) => {
      await this.deploys.finish(orgId, deploy.id, { status: 'failed', message }, tx);
      await this.deployments.update(
        orgId,
        deployment.id,
        // A deployment that deployed before keeps running its last good commit; say why the new one failed.
        {
          status: deployment.deployedCommitSha ? 'ready' : 'failed',
          statusMessage: `Deploy failed: ${message}`,
        },
        tx,
      );
    });
    await this.events.deployFailed(deployment, deploy.id, message);
  }

  private async readAndSync(
    orgId: OrgId,
    deploy: Deploy,
    deployment: Deployment,
    project: Project,
    options: DeployOptions,
  ): Promise<'synced' | 'unchanged'> {
    try {
      return await this.checkouts.withBranchHead(
        project,
        deploy.branch,
        async (checkout): Promise<'synced' | 'unchanged'> => {
          const head = await checkout.git(['rev-parse', 'HEAD']);
          let commitSha = head.stdout.trim();
          if (options.pinCommit && deploy.commitSha && deploy.commitSha !== commitSha) {
            const pinned = deploy.commitSha;
            const fetched = await checkout.git([
              'fetch',
              '--depth',
              '1',
              '--no-tags',
              'origin',
              pinned,
            ]);
            const checkedOut =
              fetched.code === 0
                ? await checkout.git(['checkout', '--quiet', '--detach', pinned])
                : fetched;
            if (checkedOut.code !== 0) {
              throw new DeployFailure(
                `Could not fetch commit ${pinned.slice(0, 7)} from ${displayUrl(project.repository)}: ${checkout.why(checkedOut)}`,
              );
            }
            commitSha = pinned;
          }
          if (options.onlyIfChanged && deployment.deployedCommitSha === commitSha) {
            await this.transactions.run(async (tx) => {
              await this.deployments.update(
                orgId,
                deployment.id,
                { status: 'ready', statusMessage: null },
                tx,
              );
              await this.deploys.finish(
                orgId,
                deploy.id,
                {
                  status: 'succeeded',
                  commitSha,
                  message: `Already up to date at commit ${commitSha.slice(0, 7)}: nothing was redeployed`,
                },
                tx,
              );
            });
            return 'unchanged';
          }
          let meltano: MeltanoProject;
          try {
            meltano = await readMeltanoProject(path.join(checkout.dir, project.rootPath), {
              repoDir: checkout.dir,
            });
            if (deployment.environment === null) environmentWithoutOne(meltano);
            else assertEnvironmentExists(meltano, deployment.environment);
          } catch (err) {
            if (err instanceof MeltanoProjectError) throw new DeployFailure(err.message);
            throw err;
          }
          await this.sync(orgId, deployment, meltano, commitSha, deploy.id);
          return 'synced';
        },
      );
    } catch (err) {
      if (err instanceof RepositoryAccessLostError) {
        await this.projects.update(orgId, project.id, { repositoryAccess: 'lost' });
        throw new DeployFailure(err.message);
      }
      if (err instanceof CloneFailedError) throw new DeployFailure(err.message);
      throw err;
    }
  }

  /**
   * Syncs the schedules (see `planScheduleSync`) and marks the deployment
   * ready and the deploy succeeded, all in one transaction.
   */
  private async sync(
    orgId: OrgId,
    deployment: Deployment,
    meltano: MeltanoProject,
    commitSha: string,
    deployId: string,
  ): Promise<SyncSummary> {
    const wanted = wantedSchedules(meltano, deployment.environment);
    const summary = await this.transactions.run(async (tx) => {
      const existing = await this.schedules.listAll(orgId, deployment.id, tx);
      const synced = await applyScheduleSync(
        this.schedules,
        orgId,
        deployment.id,
        planScheduleSync(existing, wanted),
        tx,
      );
      await this.deployments.update(
        orgId,
        deployment.id,
        {
          status: 'ready',
          statusMessage: null,
          deployedCommitSha: commitSha,
          deployedAt: new Date(),
          // Pairs, not an object: jsonb would reorder the job names.
          meltanoJobs: meltano.jobEntries as Prisma.InputJsonValue,
          meltanoEnvironments: meltano.environments,
          includePaths: meltano.includePaths,
        },
        tx,
      );
      // In the same transaction: a deployment never shows as ready while its deploy still says running.
      await this.deploys.finish(
        orgId,
        deployId,
        { status: 'succeeded', commitSha, message: describe(synced, meltano) },
        tx,
      );
      return synced;
    });
    this.logger.log({ msg: 'deployed', deployment: deployment.id, commit: commitSha, ...summary });
    return summary;
  }
}

function describe(summary: SyncSummary, meltano: MeltanoProject): string {
  const parts = [`${meltano.schedules.length} schedule(s) in meltano.yml`];
  if (summary.added.length) parts.push(`added: ${summary.added.join(', ')}`);
  if (summary.updated.length) parts.push(`updated: ${summary.updated.join(', ')}`);
  if (summary.archived.length) parts.push(`archived: ${summary.archived.join(', ')}`);
  if (summary.invalid.length)
    parts.push(`invalid (cannot be enabled): ${summary.invalid.join(', ')}`);
  return parts.join('; ');
}
