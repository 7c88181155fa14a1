import { isUniqueViolation } from '../common/db-errors.js';
import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Deployment, Project } from '../generated/prisma/client.js';
import { AuditService } from '../audit/audit.service.js';
import type { RequestOrigin } from '../auth/actor.js';
import { conflict, notFound, unprocessable } from '../common/problem.js';
import { slugify } from '../common/slug.js';
import type { OrgScope } from '../organizations/org-access.js';
import { ProjectsService } from '../projects/projects.service.js';
import { DeploymentsRepository } from './deployments.repository.js';
import { DeploymentLifecycle } from './deployment-lifecycle.js';

export interface DeploymentSettingsInput {
  runTimeoutSeconds?: number | undefined;
  maxConcurrentRuns?: number | undefined;
  concurrencyPolicy?: 'skip' | 'queue' | undefined;
  missedRunPolicy?: 'skip' | 'run_once' | undefined;
  spreadSchedules?: boolean | undefined;
}

const defined = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

@Injectable()
export class DeploymentsService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly deployments: DeploymentsRepository,
    private readonly projects: ProjectsService,
    private readonly audit: AuditService,
    private readonly lifecycle: DeploymentLifecycle,
  ) {}

  async get(
    organizationId: string,
    projectRef: string,
    ref: string,
  ): Promise<{ project: Project; deployment: Deployment }> {
    const project = await this.projects.get(organizationId, projectRef);
    const deployment = await this.deployments.find(organizationId, project.id, ref);
    if (!deployment) throw notFound('Deployment');
    return { project, deployment };
  }

  private checkTimeout(scope: OrgScope, seconds: number | undefined): void {
    if (seconds !== undefined && seconds > scope.organization.maxRunTimeoutSeconds) {
      throw unprocessable('The run timeout is above the organization’s maximum.', [
        {
          field: 'body.run_timeout_seconds',
          message: `must be at most ${scope.organization.maxRunTimeoutSeconds} (the organization’s maximum)`,
        },
      ]);
    }
  }

  async create(
    scope: OrgScope,
    origin: RequestOrigin,
    projectRef: string,
    input: { name: string; environment: string; branch: string } & DeploymentSettingsInput,
  ): Promise<Deployment> {
    const orgId = scope.organization.id;
    const project = await this.projects.get(orgId, projectRef);
    this.checkTimeout(scope, input.runTimeoutSeconds);
    const slug = slugify(input.name);
    let deployment: Deployment;
    try {
      deployment = await this.prisma.$transaction(async (tx) => {
        const created = await this.deployments.create(
          orgId,
          {
            projectId: project.id,
            name: input.name,
            slug,
            environment: input.environment,
            branch: input.branch,
            ...defined({
              runTimeoutSeconds: input.runTimeoutSeconds,
              maxConcurrentRuns: input.maxConcurrentRuns,
              concurrencyPolicy: input.concurrencyPolicy,
              missedRunPolicy: input.missedRunPolicy,
              spreadSchedules: input.spreadSchedules,
            }),
          },
          tx,
        );
        await this.audit.record(
          orgId,
          scope.actor,
          origin,
          {
            action: 'deployment.create',
            resourceType: 'deployment',
            resourceId: created.id,
            details: { name: input.name, environment: input.environment, branch: input.branch },
          },
          tx,
        );
        return created;
      });
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw conflict(`A deployment named "${slug}" already exists in this project.`, [
          { field: 'body.name', message: `"${slug}" is taken` },
        ]);
      }
      throw err;
    }
    await this.lifecycle.deploymentChanged(deployment, scope.actor.user.id, 'create');
    return deployment;
  }

  async update(
    scope: OrgScope,
    origin: RequestOrigin,
    projectRef: string,
    ref: string,
    input: {
      environment?: string | undefined;
      branch?: string | undefined;
    } & DeploymentSettingsInput,
  ): Promise<Deployment> {
    const orgId = scope.organization.id;
    const { deployment } = await this.get(orgId, projectRef, ref);
    this.checkTimeout(scope, input.runTimeoutSeconds);
    const updated = await this.prisma.$transaction(async (tx) => {
      const row = await this.deployments.update(orgId, deployment.id, defined({ ...input }), tx);
      await this.audit.record(
        orgId,
        scope.actor,
        origin,
        {
          action: 'deployment.update',
          resourceType: 'deployment',
          resourceId: deployment.id,
          details: defined({ ...input }),
        },
        tx,
      );
      return row;
    });
    // A different environment or branch means a different meltano.yml reading: redeploy.
    if (
      (input.environment !== undefined && input.environment !== deployment.environment) ||
      (input.branch !== undefined && input.branch !== deployment.branch)
    ) {
      await this.lifecycle.deploymentChanged(updated, scope.actor.user.id, 'manual');
    } else {
      await this.lifecycle.schedulesChanged(updated);
    }
    return updated;
  }

  /** Disables the schedules, cancels queued runs, then deletes (refused while a run is in progress). */
  async delete(
    scope: OrgScope,
    origin: RequestOrigin,
    projectRef: string,
    ref: string,
  ): Promise<void> {
    const orgId = scope.organization.id;
    const { deployment } = await this.get(orgId, projectRef, ref);
    await this.prisma.$transaction(async (tx) => {
      await tx.schedule.updateMany({
        where: { organizationId: orgId, deploymentId: deployment.id },
        data: { enabled: false },
      });
      await tx.run.updateMany({
        where: { organizationId: orgId, deploymentId: deployment.id, status: 'queued' },
        data: { status: 'cancelled', statusReason: 'deployment deleted', finishedAt: new Date() },
      });
      const inProgress = await tx.run.count({
        where: {
          organizationId: orgId,
          deploymentId: deployment.id,
          status: { in: ['starting', 'running'] },
        },
      });
      if (inProgress) {
        throw conflict(
          `The deployment has ${inProgress} run(s) in progress. Cancel them, then delete it.`,
        );
      }
      await tx.deployment.delete({ where: { id: deployment.id, organizationId: orgId } });
      await this.audit.record(
        orgId,
        scope.actor,
        origin,
        {
          action: 'deployment.delete',
          resourceType: 'deployment',
          resourceId: deployment.id,
          details: { name: deployment.name },
        },
        tx,
      );
    });
    await this.lifecycle.deploymentDeleted(deployment);
  }
}
