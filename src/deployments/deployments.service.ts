import path from 'node:path';
import { isUniqueViolation } from '../common/db-errors.js';
import { Injectable } from '@nestjs/common';
import type { Deployment, DeploymentStatus, Project } from '../generated/prisma/client.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { RequestOrigin } from '../auth/actor.js';
import type { Cursor } from '../common/pagination.js';
import { conflict, notFound, unprocessable } from '../common/problem.js';
import { slugify } from '../common/slug.js';
import type { OrgId } from '../database/org-id.js';
import { Transactions } from '../database/transactions.js';
import type { OrgScope } from '../organizations/org-access.js';
import { ProjectsService } from '../projects/projects.service.js';
import { DeclaredEnvironments } from './declared-environments.js';
import { DeploymentEvents } from './deployment-events.js';
import { DeploymentsRepository, type DeploymentView } from './deployments.repository.js';
import type { RunPodSettings } from './run-pod.js';

export interface DeploymentSettingsInput {
  runTimeoutSeconds?: number | undefined;
  maxConcurrentRuns?: number | undefined;
  concurrencyPolicy?: 'skip' | 'queue' | undefined;
  missedRunPolicy?: 'skip' | 'run_once' | undefined;
  spreadSchedules?: boolean | undefined;
  /** null clears it. */
  pluginImage?: string | null | undefined;
  retryInfraFailures?: boolean | undefined;
  runPod?: RunPodSettings | undefined;
}

const defined = <T extends object>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

@Injectable()
export class DeploymentsService {
  constructor(
    private readonly transactions: Transactions,
    private readonly deployments: DeploymentsRepository,
    private readonly projects: ProjectsService,
    private readonly audit: AuditRepository,
    private readonly events: DeploymentEvents,
    private readonly declaredEnvironments: DeclaredEnvironments,
  ) {}

  get(
    orgId: OrgId,
    projectRef: string,
    ref: string,
  ): Promise<{ project: Project; deployment: Deployment }>;
  /**
   * @deprecated Pass `scope.orgId`. Kept for callers outside this area not
   * converted yet (src/runs, src/secrets), which pass the id of an `OrgScope`.
   */
  get(
    organizationId: string,
    projectRef: string,
    ref: string,
  ): Promise<{ project: Project; deployment: Deployment }>;
  async get(
    organizationId: string,
    projectRef: string,
    ref: string,
  ): Promise<{ project: Project; deployment: Deployment }> {
    const orgId = organizationId as OrgId;
    const project = await this.projects.get(orgId, projectRef);
    const deployment = await this.deployments.find(orgId, project.id, ref);
    if (!deployment) throw notFound('Deployment');
    return { project, deployment };
  }

  /** One deployment as the API shows it (one statement; 404 naming the project or the deployment). */
  async view(orgId: OrgId, projectRef: string, ref: string): Promise<DeploymentView> {
    const found = await this.deployments.viewInProject(orgId, projectRef, ref);
    if (!found.project) throw notFound('Project');
    if (!found.deployment) throw notFound('Deployment');
    return found.deployment;
  }

  async list(
    orgId: OrgId,
    projectRef: string,
    take: number,
    filter: { namePrefix?: string | undefined; status?: DeploymentStatus | undefined },
    cursor?: Cursor,
  ): Promise<Deployment[]> {
    const project = await this.projects.get(orgId, projectRef);
    return this.deployments.list(orgId, project.id, take, filter, cursor);
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

  /**
   * Refuses an environment meltano.yml does not declare at the branch head, read before the
   * deployment exists (as its deploy will read it). When the repository cannot be read now (no
   * grant, network, missing branch, a meltano.yml Meltano would refuse), the deployment is
   * created and its first deploy reports the problem.
   */
  private async checkEnvironmentDeclared(
    project: Project,
    branch: string,
    environment: string | null | undefined,
  ): Promise<void> {
    if (!environment) return;
    const declared = await this.declaredEnvironments.at(project, branch);
    if (declared === null || declared.includes(environment)) return;
    const file = path.posix.join(project.rootPath, 'meltano.yml');
    if (declared.length === 0) {
      throw unprocessable(
        `${file} on branch '${branch}' has no environment '${environment}'; it declares none (define it, or create the deployment without an environment).`,
        [{ field: 'body.environment', message: 'meltano.yml declares no environments' }],
      );
    }
    throw unprocessable(
      `${file} on branch '${branch}' has no environment '${environment}'; it declares: ${declared.join(', ')}.`,
      [{ field: 'body.environment', message: `must be one of ${declared.join(', ')}` }],
    );
  }

  async create(
    scope: OrgScope,
    origin: RequestOrigin,
    projectRef: string,
    input: { name: string; environment: string | null; branch: string } & DeploymentSettingsInput,
  ): Promise<Deployment> {
    const { orgId } = scope;
    const project = await this.projects.get(orgId, projectRef);
    this.checkTimeout(scope, input.runTimeoutSeconds);
    await this.checkEnvironmentDeclared(project, input.branch, input.environment);
    const slug = slugify(input.name);
    let deployment: Deployment;
    try {
      deployment = await this.transactions.run(async (tx) => {
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
              pluginImage: input.pluginImage,
              retryInfraFailures: input.retryInfraFailures,
              runPod: input.runPod,
            }),
          },
          tx,
        );
        await this.audit.recordAs(
          scope,
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
    await this.events.deploymentChanged({
      kind: 'created',
      orgId,
      deployment,
      actor: scope.actor,
    });
    return deployment;
  }

  async update(
    scope: OrgScope,
    origin: RequestOrigin,
    projectRef: string,
    ref: string,
    input: {
      environment?: string | null | undefined;
      branch?: string | undefined;
    } & DeploymentSettingsInput,
  ): Promise<Deployment> {
    const { orgId } = scope;
    const { deployment } = await this.get(orgId, projectRef, ref);
    this.checkTimeout(scope, input.runTimeoutSeconds);
    const updated = await this.transactions.run(async (tx) => {
      const row = await this.deployments.update(orgId, deployment.id, defined({ ...input }), tx);
      await this.audit.recordAs(
        scope,
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
    const sourceChanged =
      (input.environment !== undefined && input.environment !== deployment.environment) ||
      (input.branch !== undefined && input.branch !== deployment.branch);
    await this.events.deploymentChanged(
      sourceChanged
        ? { kind: 'source-changed', orgId, deployment: updated, actor: scope.actor }
        : { kind: 'schedules-changed', orgId, deployment: updated },
    );
    return updated;
  }

  /** Disables the schedules, cancels queued runs, then deletes (refused while a run is in progress). */
  async delete(
    scope: OrgScope,
    origin: RequestOrigin,
    projectRef: string,
    ref: string,
  ): Promise<void> {
    const { orgId } = scope;
    const { deployment } = await this.get(orgId, projectRef, ref);
    await this.transactions.run(async (tx) => {
      await this.deployments.disableSchedules(orgId, deployment.id, tx);
      await this.deployments.cancelQueuedRuns(orgId, deployment.id, 'deployment deleted', tx);
      const inProgress = await this.deployments.countRunsInProgress(orgId, deployment.id, tx);
      if (inProgress) {
        throw conflict(
          `The deployment has ${inProgress} run(s) in progress. Cancel them, then delete it.`,
        );
      }
      await this.deployments.delete(orgId, deployment.id, tx);
      await this.audit.recordAs(
        scope,
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
    await this.events.deploymentChanged({ kind: 'deleted', orgId, deployment });
  }
}
