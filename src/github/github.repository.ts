import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import { orgIdOfRow, type OrgId } from '../database/org-id.js';
import { clientOf } from '../database/repository.js';
import type { Tx } from '../database/tx.js';
import type {
  GithubInstallation,
  GithubRepository,
  Membership,
  Organization,
  Prisma,
  Project,
} from '../generated/prisma/client.js';
import type { InstallationInfo } from './github-app.service.js';

export type GithubRepositoryWithInstallation = GithubRepository & {
  installation: GithubInstallation;
};

export type ProjectWithGrant = Project & {
  githubRepository: GithubRepositoryWithInstallation | null;
};

/** A repository as an installation lists it; `defaultBranch` is left as it is when not said. */
export interface RepositoryGrant {
  id: number;
  fullName: string;
  private: boolean;
  defaultBranch?: string | null;
}

/** A repository row projects may build on: not revoked, its installation not suspended. */
const activeGrant = { revokedAt: null, installation: { suspendedAt: null } } as const;

/**
 * What the GitHub App integration keeps: linked installations, the
 * repositories they grant (rows are kept after revocation), the projects
 * following those grants, and webhook deliveries already received. Every
 * tenant-owned query is scoped by a verified organization id.
 */
@Injectable()
export class GithubAppRepository {
  constructor(private readonly prisma: PrismaService) {}

  // ---- installations ----------------------------------------------------------------------------

  listInstallations(orgId: OrgId) {
    return this.prisma.githubInstallation.findMany({
      where: { organizationId: orgId },
      orderBy: [{ accountLogin: 'asc' }, { id: 'asc' }],
      include: {
        _count: { select: { repositories: { where: { revokedAt: null } } } },
      },
    });
  }

  /** By our id or by GitHub's numeric installation id. */
  findInstallation(orgId: OrgId, ref: string): Promise<GithubInstallation | null> {
    const where = /^\d+$/.test(ref)
      ? { organizationId: orgId, installationId: BigInt(ref) }
      : { organizationId: orgId, id: ref };
    return this.prisma.githubInstallation.findFirst({ where });
  }

  /** Creates or refreshes the link of an installation to an organization. */
  upsertInstallation(
    orgId: OrgId,
    info: InstallationInfo,
    existing: GithubInstallation | null,
    tx?: Tx,
  ): Promise<GithubInstallation> {
    const data = {
      accountLogin: info.accountLogin,
      accountType: info.accountType,
      // Keep the first suspension time while it lasts.
      suspendedAt: info.suspended ? (existing?.suspendedAt ?? new Date()) : null,
    };
    return clientOf(this.prisma, tx).githubInstallation.upsert({
      where: { installationId: BigInt(info.id) },
      create: { organizationId: orgId, installationId: BigInt(info.id), ...data },
      update: data,
    });
  }

  setSuspended(
    orgId: OrgId,
    installation: GithubInstallation,
    suspended: boolean,
    tx?: Tx,
  ): Promise<GithubInstallation> {
    return clientOf(this.prisma, tx).githubInstallation.update({
      where: { id: installation.id, organizationId: orgId },
      data: { suspendedAt: suspended ? (installation.suspendedAt ?? new Date()) : null },
    });
  }

  /**
   * Unlinks an installation (deleted on GitHub, or unlinked by an admin).
   * Its projects lose access first: the rows they point to are deleted with it.
   */
  async removeInstallation(orgId: OrgId, installationId: string, tx?: Tx): Promise<void> {
    const db = clientOf(this.prisma, tx);
    await db.project.updateMany({
      where: { organizationId: orgId, githubRepository: { installationId } },
      data: { repositoryAccess: 'lost' },
    });
    await db.githubInstallation.delete({ where: { id: installationId, organizationId: orgId } });
  }

  /** The signed-in user's membership of the organization a setup callback is for. */
  membershipOf(
    userId: string,
    organizationId: string,
  ): Promise<(Membership & { organization: Organization }) | null> {
    return this.prisma.membership.findFirst({
      where: { organizationId, userId },
      include: { organization: true },
    });
  }

  // ---- granted repositories ---------------------------------------------------------------------

  /** Repositories granted now, for the project-creation form and CLI. */
  listGranted(orgId: OrgId): Promise<GithubRepository[]> {
    return this.prisma.githubRepository.findMany({
      where: { organizationId: orgId, ...activeGrant },
      orderBy: [{ fullName: 'asc' }, { id: 'asc' }],
    });
  }

  /** The granted row for `owner/name` (case-insensitive), or null. */
  findGranted(orgId: OrgId, fullName: string): Promise<GithubRepository | null> {
    return this.prisma.githubRepository.findFirst({
      where: {
        organizationId: orgId,
        fullName: { equals: fullName, mode: 'insensitive' },
        ...activeGrant,
      },
      orderBy: { updatedAt: 'desc' },
    });
  }

  findRepository(orgId: OrgId, id: string): Promise<GithubRepositoryWithInstallation | null> {
    return this.prisma.githubRepository.findFirst({
      where: { organizationId: orgId, id },
      include: { installation: true },
    });
  }

  /**
   * The grant a project (a row read by a repository) clones through: the row
   * it is linked to, or else a granted row of the same name (a project from
   * before the App was configured, or whose installation was unlinked).
   */
  async grantForProject(
    project: Pick<Project, 'organizationId' | 'githubRepositoryId' | 'repository'>,
  ): Promise<GithubRepositoryWithInstallation | null> {
    const orgId = orgIdOfRow(project);
    const linked = project.githubRepositoryId
      ? await this.findRepository(orgId, project.githubRepositoryId)
      : null;
    if (linked) return linked;
    const byName = await this.findGranted(orgId, project.repository);
    return byName ? this.findRepository(orgId, byName.id) : null;
  }

  /** Records repositories as granted (again) by the installation. */
  async grant(
    orgId: OrgId,
    installationId: string,
    repositories: RepositoryGrant[],
    tx?: Tx,
  ): Promise<void> {
    const db = clientOf(this.prisma, tx);
    for (const repo of repositories) {
      const fields = {
        fullName: repo.fullName,
        private: repo.private,
        revokedAt: null,
        ...(repo.defaultBranch !== undefined ? { defaultBranch: repo.defaultBranch } : {}),
      };
      await db.githubRepository.upsert({
        where: {
          installationId_githubRepoId: { installationId, githubRepoId: BigInt(repo.id) },
        },
        create: { organizationId: orgId, installationId, githubRepoId: BigInt(repo.id), ...fields },
        update: fields,
      });
    }
  }

  /** Records the installation's repositories other than `kept` as no longer granted. */
  async revokeAllBut(orgId: OrgId, installationId: string, kept: number[], tx?: Tx): Promise<void> {
    await clientOf(this.prisma, tx).githubRepository.updateMany({
      where: {
        organizationId: orgId,
        installationId,
        revokedAt: null,
        githubRepoId: { notIn: kept.map((id) => BigInt(id)) },
      },
      data: { revokedAt: new Date() },
    });
  }

  /** Records repositories as no longer granted by the installation (rows stay). */
  async revoke(
    orgId: OrgId,
    installationId: string,
    githubRepoIds: number[],
    tx?: Tx,
  ): Promise<void> {
    await clientOf(this.prisma, tx).githubRepository.updateMany({
      where: {
        organizationId: orgId,
        installationId,
        githubRepoId: { in: githubRepoIds.map((id) => BigInt(id)) },
        revokedAt: null,
      },
      data: { revokedAt: new Date() },
    });
  }

  /** A rename or transfer: the rows and the projects on them follow the repository. */
  async rename(
    orgId: OrgId,
    githubRepoId: number,
    fullName: string,
    defaultBranch: string | null | undefined,
    tx?: Tx,
  ): Promise<string[]> {
    const db = clientOf(this.prisma, tx);
    const rows = await db.githubRepository.findMany({
      where: { organizationId: orgId, githubRepoId: BigInt(githubRepoId) },
      select: { id: true },
    });
    if (!rows.length) return [];
    const ids = rows.map((r) => r.id);
    await db.githubRepository.updateMany({
      where: { organizationId: orgId, id: { in: ids } },
      data: { fullName, ...(defaultBranch ? { defaultBranch } : {}) },
    });
    const projects = await db.project.findMany({
      where: { organizationId: orgId, githubRepositoryId: { in: ids } },
      select: { id: true },
    });
    await db.project.updateMany({
      where: { organizationId: orgId, githubRepositoryId: { in: ids } },
      data: { repository: fullName },
    });
    return projects.map((p) => p.id);
  }

  /** The repository was deleted on GitHub: every grant of it ends. */
  async repositoryDeleted(orgId: OrgId, githubRepoId: number, tx?: Tx): Promise<void> {
    await clientOf(this.prisma, tx).githubRepository.updateMany({
      where: { organizationId: orgId, githubRepoId: BigInt(githubRepoId), revokedAt: null },
      data: { revokedAt: new Date() },
    });
  }

  // ---- projects following their grants ---------------------------------------------------------

  projectsWithGrants(orgId: OrgId, tx?: Tx): Promise<ProjectWithGrant[]> {
    return clientOf(this.prisma, tx).project.findMany({
      where: { organizationId: orgId },
      include: { githubRepository: { include: { installation: true } } },
    });
  }

  /** Granted rows, most recently refreshed first. */
  activeGrants(orgId: OrgId, tx?: Tx): Promise<GithubRepository[]> {
    return clientOf(this.prisma, tx).githubRepository.findMany({
      where: { organizationId: orgId, ...activeGrant },
      orderBy: { updatedAt: 'desc' },
    });
  }

  async updateProject(
    orgId: OrgId,
    projectId: string,
    data: Prisma.ProjectUncheckedUpdateInput,
    tx?: Tx,
  ): Promise<void> {
    await clientOf(this.prisma, tx).project.update({
      where: { id: projectId, organizationId: orgId },
      data,
    });
  }

  /** Projects on a pushed repository, each with its deployments on the pushed branch. */
  pushedProjects(orgId: OrgId, installationId: string, githubRepoId: number, branch: string) {
    return this.prisma.project.findMany({
      where: {
        organizationId: orgId,
        repositoryAccess: 'granted',
        githubRepository: {
          installationId,
          githubRepoId: BigInt(githubRepoId),
          revokedAt: null,
        },
      },
      include: { deployments: { where: { organizationId: orgId, branch } } },
    });
  }

  // ---- webhook deliveries (not tenant-owned: GitHub's delivery ids) ------------------------------

  /** Throws a unique violation when the delivery was already recorded. */
  async recordDelivery(deliveryId: string, event: string): Promise<void> {
    await this.prisma.githubWebhookDelivery.create({ data: { deliveryId, event } });
  }

  async forgetDelivery(deliveryId: string): Promise<void> {
    await this.prisma.githubWebhookDelivery.delete({ where: { deliveryId } });
  }
}
