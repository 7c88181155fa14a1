import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import { AppConfig } from '../config/app-config.js';
import { orgIdFromJob, type OrgId } from '../database/org-id.js';
import { DeployEvents } from '../deploys/deploy-events.js';
import type { Deployment, Run, RunStatus } from '../generated/prisma/client.js';
import { RunEvents } from '../runs/run-events.js';
import type { NotificationEventType } from './events.js';
import { NotificationsRepository } from './notifications.repository.js';
import { NotificationsService } from './notifications.service.js';

const eventOfRunStatus: Partial<Record<RunStatus, NotificationEventType>> = {
  succeeded: 'run.succeeded',
  failed: 'run.failed',
  cancelled: 'run.cancelled',
  timed_out: 'run.timed_out',
  skipped: 'schedule.skipped',
};

/**
 * Subscribes notifications to run and deploy outcomes in whichever process
 * reports them (RunEvents, DeployEvents), looked up without importing their
 * modules. Emitting never throws, so a listener cannot fail a run or deploy.
 *
 * Runs and deploys finish in worker jobs (run.execute, schedule.tick,
 * deploy.execute): the organization of the row reported is the job's.
 */
@Injectable()
export class NotificationEventSubscriptions implements OnApplicationBootstrap {
  private readonly logger = new Logger('notifications');

  constructor(
    private readonly moduleRef: ModuleRef,
    private readonly notifications: NotificationsService,
    private readonly repository: NotificationsRepository,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.find(RunEvents)?.onRunFinished((run, deployment, retriedAs) =>
      this.runFinished(run, deployment, retriedAs),
    );
    this.find(DeployEvents)?.onDeployFailed((deployment, deployId, message) =>
      this.deployFailed(deployment, deployId, message),
    );
  }

  private find<T>(type: abstract new (...args: never[]) => T): T | undefined {
    try {
      return this.moduleRef.get(type, { strict: false });
    } catch {
      return undefined;
    }
  }

  private async orgSlug(orgId: OrgId): Promise<string> {
    const org = await this.repository.organizationRef(orgId);
    return org?.slug ?? orgId;
  }

  /**
   * Reports a run's final status (listener of RunEvents). A run lost to infrastructure and
   * retried automatically says so: its reason names the retry, `retried_as` links to it.
   */
  async runFinished(run: Run, deployment: Deployment, retriedAs: Run | null = null): Promise<void> {
    const type = eventOfRunStatus[run.status];
    if (!type) return;
    try {
      const orgId = orgIdFromJob(run);
      const org = await this.orgSlug(orgId);
      await this.notifications.emit(orgId, {
        type,
        projectId: deployment.projectId,
        deploymentId: deployment.id,
        deploymentSlug: deployment.slug,
        scheduleName: run.scheduleId ? run.target : null,
        occurredAt: run.finishedAt ?? new Date(),
        subject: {
          kind: 'run',
          id: run.id,
          url: `${this.config.http.publicUrl}/orgs/${org}/runs/${run.id}`,
          status: run.status,
          reason: retriedAs
            ? `${run.statusReason ?? 'failed'}; retried automatically as run ${retriedAs.id}`
            : run.statusReason,
          retried: retriedAs !== null,
          retriedAs: retriedAs?.id ?? null,
          retryOf: run.retryOfId,
          commitSha: run.commitSha,
          target: run.target,
          job: run.jobName,
          trigger: run.trigger,
          attempt: run.attempt,
          exitCode: run.exitCode,
          queuedAt: run.queuedAt.toISOString(),
          startedAt: run.startedAt?.toISOString() ?? null,
          finishedAt: run.finishedAt?.toISOString() ?? null,
        },
      });
    } catch (err) {
      this.logger.warn({ msg: 'run notification dropped', run_id: run.id, err: String(err) });
    }
  }

  /** Reports a failed deploy (listener of DeployEvents). */
  async deployFailed(deployment: Deployment, deployId: string, message: string): Promise<void> {
    try {
      const orgId = orgIdFromJob(deployment);
      const [org, project, deploy] = await Promise.all([
        this.orgSlug(orgId),
        this.repository.projectRef(orgId, deployment.projectId),
        this.repository.deployDetails(orgId, deployId),
      ]);
      await this.notifications.emit(orgId, {
        type: 'deploy.failed',
        projectId: deployment.projectId,
        deploymentId: deployment.id,
        deploymentSlug: deployment.slug,
        scheduleName: null,
        subject: {
          kind: 'deploy',
          id: deployId,
          url: `${this.config.http.publicUrl}/orgs/${org}/projects/${project?.slug ?? deployment.projectId}/deployments/${deployment.slug}/deploys/${deployId}`,
          status: 'failed',
          reason: message,
          commitSha: deploy?.commitSha ?? null,
          branch: deploy?.branch ?? deployment.branch,
          trigger: deploy?.trigger ?? null,
        },
      });
    } catch (err) {
      this.logger.warn({
        msg: 'deploy notification dropped',
        deploy_id: deployId,
        err: String(err),
      });
    }
  }
}
