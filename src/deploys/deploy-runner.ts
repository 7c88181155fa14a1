import { Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppConfig } from '../config/app-config.js';
import { PrismaService } from '../database/prisma.service.js';
import type { Deploy, Deployment, Prisma, Project } from '../generated/prisma/client.js';
import { runGit } from '../common/git-command.js';
import { displayUrl, gitAuth, gitMessage, redact } from '../common/git-auth.js';
import {
  MeltanoProjectError,
  assertEnvironmentExists,
  readMeltanoProject,
  schedulesForEnvironment,
  validateSchedules,
  type MeltanoProject,
} from '../meltano/meltano-project.js';
import { CloneSourceProvider, RepositoryAccessLostError } from '../projects/clone-source.js';
import { DeployEvents } from './deploy-events.js';

/** A failure the project's owner must fix; retrying the job would not help. */
export class DeployFailure extends Error {}

export interface SyncSummary {
  added: string[];
  updated: string[];
  archived: string[];
  invalid: string[];
}

/** Up to seven minutes, stable per schedule, so midnight crowds spread out (Meltano Cloud did the same). */
export const scheduleOffsetSeconds = (deploymentId: string, name: string): number =>
  createHash('sha256').update(`${deploymentId}/${name}`).digest().readUInt32BE(0) % 420;

/**
 * The worker side of a deploy: shallow-clone the branch head, read
 * meltano.yml (and its includes) at the project's root path, check the
 * deployment's environment exists, and sync the schedules.
 */
@Injectable()
export class DeployRunner {
  private readonly logger = new Logger(DeployRunner.name);

  constructor(
    private readonly config: AppConfig,
    private readonly prisma: PrismaService,
    private readonly cloneSources: CloneSourceProvider,
    private readonly events: DeployEvents,
  ) {}

  /**
   * `lastAttempt`: the queue will not retry after this one, so an unexpected
   * error must still end the deploy as failed rather than leave it "running".
   */
  async execute(organizationId: string, deployId: string, lastAttempt = true): Promise<void> {
    const deploy = await this.prisma.deploy.findFirst({
      where: { organizationId, id: deployId },
      include: { deployment: { include: { project: true } } },
    });
    if (!deploy) return; // the deployment was deleted meanwhile
    if (deploy.status !== 'queued' && deploy.status !== 'running') return; // superseded or already done
    const claimed = await this.prisma.deploy.updateMany({
      where: { id: deploy.id, status: { in: ['queued', 'running'] } },
      data: { status: 'running', startedAt: new Date() },
    });
    if (!claimed.count) return;
    const { deployment } = deploy;
    const { project } = deployment;
    try {
      await this.readAndSync(deploy, deployment, project);
      await this.events.deploySucceeded(deployment);
    } catch (err) {
      if (err instanceof DeployFailure) {
        await this.fail(deploy, deployment, err.message);
        return;
      }
      // Infrastructure trouble: let the queue retry; on the last attempt, say so rather than hang.
      if (lastAttempt) {
        await this.fail(
          deploy,
          deployment,
          `internal error, please retry the deploy: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      throw err;
    }
  }

  private async fail(deploy: Deploy, deployment: Deployment, message: string): Promise<void> {
    await this.prisma.$transaction([
      this.prisma.deploy.update({
        where: { id: deploy.id },
        data: { status: 'failed', finishedAt: new Date(), message },
      }),
      this.prisma.deployment.update({
        where: { id: deployment.id },
        // A deployment that deployed before keeps running its last good commit; say why the new one failed.
        data: {
          status: deployment.deployedCommitSha ? 'ready' : 'failed',
          statusMessage: `Deploy failed: ${message}`,
        },
      }),
    ]);
    await this.events.deployFailed(deployment, deploy.id, message);
  }

  private async readAndSync(deploy: Deploy, deployment: Deployment, project: Project) {
    let source;
    try {
      source = await this.cloneSources.sourceFor(project);
    } catch (err) {
      if (err instanceof RepositoryAccessLostError) {
        await this.prisma.project.update({
          where: { id: project.id },
          data: { repositoryAccess: 'lost' },
        });
        throw new DeployFailure(err.message);
      }
      throw err;
    }
    const workRoot = this.config.worker.runWorkdir ?? tmpdir();
    await mkdir(workRoot, { recursive: true });
    const dir = await mkdtemp(path.join(workRoot, 'mc-deploy-'));
    try {
      const baseEnv = { ...this.config.worker.childEnv, HOME: dir };
      const auth = gitAuth(source.url, source.token, baseEnv);
      const env = { ...baseEnv, ...auth.env };
      const checkout = path.join(dir, 'repo');
      const clone = await runGit(
        this.config.worker.gitBin,
        [
          'clone',
          '--depth',
          '1',
          '--single-branch',
          '--branch',
          deploy.branch,
          '--no-tags',
          auth.remoteUrl,
          checkout,
        ],
        { env },
      );
      if (clone.code !== 0) {
        const why = gitMessage(redact(clone.stderr, auth.secrets).split('\n')) ?? 'git failed';
        throw new DeployFailure(
          `Could not clone ${displayUrl(project.repository)} at branch '${deploy.branch}': ${why}`,
        );
      }
      const head = await runGit(this.config.worker.gitBin, ['rev-parse', 'HEAD'], {
        cwd: checkout,
        env,
      });
      const commitSha = head.stdout.trim();
      let meltano: MeltanoProject;
      try {
        meltano = await readMeltanoProject(path.join(checkout, project.rootPath), {
          repoDir: checkout,
        });
        assertEnvironmentExists(meltano, deployment.environment);
      } catch (err) {
        if (err instanceof MeltanoProjectError) throw new DeployFailure(err.message);
        throw err;
      }
      const summary = await this.sync(deployment, meltano, commitSha, deploy.id);
      return { commitSha, meltano, summary };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * New schedules appear disabled; changed ones update in place and keep
   * their enabled flag; removed ones are disabled and archived (their runs stay).
   */
  private async sync(
    deployment: Deployment,
    meltano: MeltanoProject,
    commitSha: string,
    deployId: string,
  ): Promise<SyncSummary> {
    const validations = new Map(validateSchedules(meltano).map((v) => [v.name, v]));
    const wanted = schedulesForEnvironment(meltano, deployment.environment);
    const summary: SyncSummary = { added: [], updated: [], archived: [], invalid: [] };
    await this.prisma.$transaction(async (tx) => {
      const existing = await tx.schedule.findMany({
        where: { organizationId: deployment.organizationId, deploymentId: deployment.id },
      });
      const byName = new Map(existing.map((s) => [s.name, s]));
      for (const schedule of wanted) {
        const validation = validations.get(schedule.name);
        const fields = {
          interval: schedule.interval,
          cron: validation?.cron ?? null,
          job: schedule.job,
          extractor: schedule.extractor,
          loader: schedule.loader,
          transform: schedule.transform,
          env: schedule.env as Prisma.InputJsonValue,
          invalidReason: validation?.invalidReason ?? null,
          archivedAt: null,
        };
        if (fields.invalidReason) summary.invalid.push(schedule.name);
        const current = byName.get(schedule.name);
        byName.delete(schedule.name);
        if (!current) {
          await tx.schedule.create({
            data: {
              organizationId: deployment.organizationId,
              deploymentId: deployment.id,
              name: schedule.name,
              offsetSeconds: scheduleOffsetSeconds(deployment.id, schedule.name),
              enabled: false,
              ...fields,
            },
          });
          summary.added.push(schedule.name);
          continue;
        }
        const changed =
          current.interval !== fields.interval ||
          current.cron !== fields.cron ||
          current.job !== fields.job ||
          current.extractor !== fields.extractor ||
          current.loader !== fields.loader ||
          current.transform !== fields.transform ||
          JSON.stringify(current.env) !== JSON.stringify(fields.env) ||
          current.invalidReason !== fields.invalidReason ||
          current.archivedAt !== null;
        if (changed) {
          await tx.schedule.update({
            where: { id: current.id },
            // An invalid schedule cannot stay enabled; a valid one keeps what the user chose.
            data: {
              ...fields,
              ...(fields.invalidReason || !fields.cron ? { enabled: false } : {}),
            },
          });
          summary.updated.push(schedule.name);
        }
      }
      for (const gone of byName.values()) {
        if (gone.archivedAt) continue;
        await tx.schedule.update({
          where: { id: gone.id },
          data: { enabled: false, archivedAt: new Date() },
        });
        summary.archived.push(gone.name);
      }
      await tx.deployment.update({
        where: { id: deployment.id },
        data: {
          status: 'ready',
          statusMessage: null,
          deployedCommitSha: commitSha,
          deployedAt: new Date(),
          meltanoJobs: meltano.jobs as Prisma.InputJsonValue,
          meltanoEnvironments: meltano.environments,
          includePaths: meltano.includePaths,
        },
      });
      // In the same transaction: a deployment never shows as ready while its deploy still says running.
      await tx.deploy.update({
        where: { id: deployId },
        data: {
          status: 'succeeded',
          commitSha,
          finishedAt: new Date(),
          message: describe(summary, meltano),
        },
      });
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
