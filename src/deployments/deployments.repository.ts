import { Injectable } from '@nestjs/common';
import { selectList } from '../database/columns.js';
import { PrismaService } from '../database/prisma.service.js';
import type { OrgId } from '../database/org-id.js';
import { clientOf } from '../database/repository.js';
import type { Tx } from '../database/tx.js';
import type { Deployment, DeploymentStatus, Prisma } from '../generated/prisma/client.js';
import { type Cursor, pastCursor } from '../common/pagination.js';
import { byRef } from '../common/refs.js';

const VIEW_FIELDS = [
  'id',
  'projectId',
  'name',
  'slug',
  'environment',
  'branch',
  'status',
  'statusMessage',
  'deployedCommitSha',
  'deployedAt',
  'meltanoJobs',
  'runTimeoutSeconds',
  'maxConcurrentRuns',
  'concurrencyPolicy',
  'missedRunPolicy',
  'spreadSchedules',
  'pluginImage',
  'retryInfraFailures',
  'runPod',
  'createdAt',
  'updatedAt',
] as const satisfies readonly (keyof Deployment)[];

/** The columns of a deployment its API shape (`presentDeployment`) reads. */
export type DeploymentView = Pick<Deployment, (typeof VIEW_FIELDS)[number]>;

const VIEW_COLUMNS = selectList('d', VIEW_FIELDS);

/** Deployment data access, scoped by a verified organization id and project. */
@Injectable()
export class DeploymentsRepository {
  constructor(private readonly prisma: PrismaService) {}

  find(orgId: OrgId, projectId: string, ref: string): Promise<Deployment | null> {
    return this.prisma.deployment.findFirst({
      where: { organizationId: orgId, projectId, ...byRef(ref) },
    });
  }

  /**
   * The deployment `ref` of project `projectRef` (ids or slugs) as the API shows it, in one
   * statement (the API's GET of one deployment, issue 13). `project` is false when the
   * organization has no such project, `deployment` null when the project has no such deployment.
   */
  async viewInProject(
    orgId: OrgId,
    projectRef: string,
    ref: string,
  ): Promise<{ project: boolean; deployment: DeploymentView | null }> {
    const project = byRef(projectRef);
    const deployment = byRef(ref);
    const [row] = await this.prisma.readRows<DeploymentView & { foundProjectId: string }>(
      `SELECT p.id AS "foundProjectId", ${VIEW_COLUMNS}
         FROM projects p
         LEFT JOIN deployments d ON d.project_id = p.id AND d.organization_id = $1::uuid
                                AND ${'id' in deployment ? 'd.id = $3::uuid' : 'd.slug = $3'}
        WHERE p.organization_id = $1::uuid AND ${'id' in project ? 'p.id = $2::uuid' : 'p.slug = $2'}`,
      [
        orgId,
        'id' in project ? project.id : project.slug,
        'id' in deployment ? deployment.id : deployment.slug,
      ],
    );
    if (!row) return { project: false, deployment: null };
    const { foundProjectId: _project, ...view } = row;
    return { project: true, deployment: view.id ? view : null };
  }

  findById(orgId: OrgId, id: string): Promise<Deployment | null> {
    return this.prisma.deployment.findFirst({ where: { organizationId: orgId, id } });
  }

  list(
    orgId: OrgId,
    projectId: string,
    take: number,
    filter: { namePrefix?: string | undefined; status?: DeploymentStatus | undefined },
    cursor?: Cursor,
  ): Promise<Deployment[]> {
    return this.prisma.deployment.findMany({
      where: {
        organizationId: orgId,
        projectId,
        ...(filter.namePrefix
          ? { name: { startsWith: filter.namePrefix, mode: 'insensitive' } }
          : {}),
        ...(filter.status ? { status: filter.status } : {}),
        ...pastCursor('slug', cursor, 'asc'),
      },
      orderBy: [{ slug: 'asc' }, { id: 'asc' }],
      take,
    });
  }

  create(
    orgId: OrgId,
    data: Omit<Prisma.DeploymentUncheckedCreateInput, 'organizationId'>,
    tx?: Tx,
  ): Promise<Deployment> {
    return clientOf(this.prisma, tx).deployment.create({
      data: { ...data, organizationId: orgId },
    });
  }

  update(
    orgId: OrgId,
    id: string,
    data: Prisma.DeploymentUncheckedUpdateInput,
    tx?: Tx,
  ): Promise<Deployment> {
    return clientOf(this.prisma, tx).deployment.update({
      where: { id, organizationId: orgId },
      data,
    });
  }

  async delete(orgId: OrgId, id: string, tx?: Tx): Promise<void> {
    await clientOf(this.prisma, tx).deployment.delete({ where: { id, organizationId: orgId } });
  }

  // ---- what a deployment's deletion does to its schedules and runs ----------------------------

  async disableSchedules(orgId: OrgId, deploymentId: string, tx?: Tx): Promise<void> {
    await clientOf(this.prisma, tx).schedule.updateMany({
      where: { organizationId: orgId, deploymentId },
      data: { enabled: false },
    });
  }

  async cancelQueuedRuns(
    orgId: OrgId,
    deploymentId: string,
    reason: string,
    tx?: Tx,
  ): Promise<void> {
    await clientOf(this.prisma, tx).run.updateMany({
      where: { organizationId: orgId, deploymentId, status: 'queued' },
      data: { status: 'cancelled', statusReason: reason, finishedAt: new Date() },
    });
  }

  /** Runs of the deployment that a worker is executing now. */
  countRunsInProgress(orgId: OrgId, deploymentId: string, tx?: Tx): Promise<number> {
    return clientOf(this.prisma, tx).run.count({
      where: { organizationId: orgId, deploymentId, status: { in: ['starting', 'running'] } },
    });
  }
}
