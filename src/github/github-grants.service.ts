import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type {
  GithubInstallation,
  GithubRepository,
  Prisma,
  RepositoryAccess,
} from '../generated/prisma/client.js';
import type { InstallationInfo, InstallationRepository } from './github-app.service.js';

type Db = Prisma.TransactionClient;

export type GithubRepositoryWithInstallation = GithubRepository & {
  installation: GithubInstallation;
};

/** A repository row projects may build on: not revoked, its installation not suspended. */
export const isGranted = (repo: GithubRepositoryWithInstallation): boolean =>
  repo.revokedAt === null && repo.installation.suspendedAt === null;

const activeGrant = { revokedAt: null, installation: { suspendedAt: null } } as const;

/** A repository as GitHub lists it; webhooks do not say the default branch. */
export type GrantedRepository = Omit<InstallationRepository, 'defaultBranch'> & {
  defaultBranch?: string | null;
};

export interface ReconcileResult {
  lost: string[];
  granted: string[];
}

/**
 * The organization's view of its GitHub App installations: which
 * repositories they grant (rows are kept after revocation), and which
 * projects can still read their repository. Every query is scoped by
 * organization id or by an installation row that belongs to one.
 */
@Injectable()
export class GithubGrantsService {
  constructor(private readonly prisma: PrismaService) {}

  findInstallation(installationId: number): Promise<GithubInstallation | null> {
    return this.prisma.githubInstallation.findUnique({
      where: { installationId: BigInt(installationId) },
    });
  }

  listInstallations(organizationId: string) {
    return this.prisma.githubInstallation.findMany({
      where: { organizationId },
      orderBy: [{ accountLogin: 'asc' }, { id: 'asc' }],
      include: {
        _count: { select: { repositories: { where: { revokedAt: null } } } },
      },
    });
  }

  findInstallationOf(organizationId: string, ref: string): Promise<GithubInstallation | null> {
    const where = /^\d+$/.test(ref)
      ? { organizationId, installationId: BigInt(ref) }
      : { organizationId, id: ref };
    return this.prisma.githubInstallation.findFirst({ where });
  }

  /** Repositories granted now, for the project-creation form and CLI. */
  listGranted(organizationId: string): Promise<GithubRepository[]> {
    return this.prisma.githubRepository.findMany({
      where: { organizationId, ...activeGrant },
      orderBy: [{ fullName: 'asc' }, { id: 'asc' }],
    });
  }

  /** The granted row for `owner/name` (case-insensitive), or null. */
  findGranted(organizationId: string, fullName: string): Promise<GithubRepository | null> {
    return this.prisma.githubRepository.findFirst({
      where: {
        organizationId,
        fullName: { equals: fullName, mode: 'insensitive' },
        ...activeGrant,
      },
      orderBy: { updatedAt: 'desc' },
    });
  }

  findRepository(
    organizationId: string,
    id: string,
  ): Promise<GithubRepositoryWithInstallation | null> {
    return this.prisma.githubRepository.findFirst({
      where: { organizationId, id },
      include: { installation: true },
    });
  }

  /** Creates or refreshes the link of an installation to an organization. */
  upsertInstallation(
    db: Db,
    organizationId: string,
    info: InstallationInfo,
    existing: GithubInstallation | null,
  ): Promise<GithubInstallation> {
    const data = {
      accountLogin: info.accountLogin,
      accountType: info.accountType,
      // Keep the first suspension time while it lasts.
      suspendedAt: info.suspended ? (existing?.suspendedAt ?? new Date()) : null,
    };
    return db.githubInstallation.upsert({
      where: { installationId: BigInt(info.id) },
      create: { organizationId, installationId: BigInt(info.id), ...data },
      update: data,
    });
  }

  /**
   * Makes the installation's rows match GitHub's list (the source of
   * truth): listed repositories are granted, the others revoked.
   */
  async syncRepositories(
    db: Db,
    installation: GithubInstallation,
    repositories: GrantedRepository[],
  ): Promise<void> {
    await this.grant(db, installation, repositories);
    await db.githubRepository.updateMany({
      where: {
        organizationId: installation.organizationId,
        installationId: installation.id,
        revokedAt: null,
        githubRepoId: { notIn: repositories.map((r) => BigInt(r.id)) },
      },
      data: { revokedAt: new Date() },
    });
  }

  /** Records repositories as granted (again) by the installation. */
  async grant(
    db: Db,
    installation: GithubInstallation,
    repositories: GrantedRepository[],
  ): Promise<void> {
    for (const repo of repositories) {
      const fields = {
        fullName: repo.fullName,
        private: repo.private,
        revokedAt: null,
        ...(repo.defaultBranch !== undefined ? { defaultBranch: repo.defaultBranch } : {}),
      };
      await db.githubRepository.upsert({
        where: {
          installationId_githubRepoId: {
            installationId: installation.id,
            githubRepoId: BigInt(repo.id),
          },
        },
        create: {
          organizationId: installation.organizationId,
          installationId: installation.id,
          githubRepoId: BigInt(repo.id),
          ...fields,
        },
        update: fields,
      });
    }
  }

  /** Records repositories as no longer granted by the installation (rows stay). */
  async revoke(db: Db, installation: GithubInstallation, githubRepoIds: number[]): Promise<void> {
    await db.githubRepository.updateMany({
      where: {
        organizationId: installation.organizationId,
        installationId: installation.id,
        githubRepoId: { in: githubRepoIds.map((id) => BigInt(id)) },
        revokedAt: null,
      },
      data: { revokedAt: new Date() },
    });
  }

  /** A rename or transfer: the rows and the projects on them follow the repository. */
  async rename(
    db: Db,
    organizationId: string,
    githubRepoId: number,
    fullName: string,
    defaultBranch?: string | null,
  ): Promise<string[]> {
    const rows = await db.githubRepository.findMany({
      where: { organizationId, githubRepoId: BigInt(githubRepoId) },
      select: { id: true },
    });
    if (!rows.length) return [];
    const ids = rows.map((r) => r.id);
    await db.githubRepository.updateMany({
      where: { organizationId, id: { in: ids } },
      data: { fullName, ...(defaultBranch ? { defaultBranch } : {}) },
    });
    const projects = await db.project.findMany({
      where: { organizationId, githubRepositoryId: { in: ids } },
      select: { id: true },
    });
    await db.project.updateMany({
      where: { organizationId, githubRepositoryId: { in: ids } },
      data: { repository: fullName },
    });
    return projects.map((p) => p.id);
  }

  /** The repository was deleted on GitHub: every grant of it ends. */
  async repositoryDeleted(db: Db, organizationId: string, githubRepoId: number): Promise<void> {
    await db.githubRepository.updateMany({
      where: { organizationId, githubRepoId: BigInt(githubRepoId), revokedAt: null },
      data: { revokedAt: new Date() },
    });
  }

  async setSuspended(
    db: Db,
    installation: GithubInstallation,
    suspended: boolean,
  ): Promise<GithubInstallation> {
    return db.githubInstallation.update({
      where: { id: installation.id, organizationId: installation.organizationId },
      data: { suspendedAt: suspended ? (installation.suspendedAt ?? new Date()) : null },
    });
  }

  /**
   * Unlinks an installation (deleted on GitHub, or unlinked by an admin).
   * Its projects lose access first: the rows they point to are deleted with it.
   */
  async removeInstallation(db: Db, installation: GithubInstallation): Promise<void> {
    const organizationId = installation.organizationId;
    await db.project.updateMany({
      where: { organizationId, githubRepository: { installationId: installation.id } },
      data: { repositoryAccess: 'lost' },
    });
    await db.githubInstallation.delete({
      where: { id: installation.id, organizationId },
    });
  }

  /**
   * Brings the organization's projects in line with the grants: a project
   * whose repository is granted (possibly through another row of the same
   * GitHub repository, or by name after its installation was re-linked or
   * when it predates the App) is 'granted', linked to the grant and follows
   * the repository's name; a linked project without a grant is 'lost'.
   * Unlinked projects with no grant by name are left as they are.
   */
  async reconcileProjects(db: Db, organizationId: string): Promise<ReconcileResult> {
    const projects = await db.project.findMany({
      where: { organizationId },
      include: { githubRepository: { include: { installation: true } } },
    });
    const result: ReconcileResult = { lost: [], granted: [] };
    if (!projects.length) return result;
    const active = await db.githubRepository.findMany({
      where: { organizationId, ...activeGrant },
      orderBy: { updatedAt: 'desc' },
    });
    for (const project of projects) {
      const current = project.githubRepository;
      const target: GithubRepository | undefined =
        current && isGranted(current)
          ? current
          : current
            ? active.find((r) => r.githubRepoId === current.githubRepoId)
            : active.find((r) => r.fullName.toLowerCase() === project.repository.toLowerCase());
      if (!current && !target) continue;
      const access: RepositoryAccess = target ? 'granted' : 'lost';
      const data: Prisma.ProjectUncheckedUpdateInput = {};
      if (access !== project.repositoryAccess) data.repositoryAccess = access;
      if (target && target.id !== project.githubRepositoryId) data.githubRepositoryId = target.id;
      if (target && target.fullName !== project.repository) data.repository = target.fullName;
      if (!Object.keys(data).length) continue;
      await db.project.update({ where: { id: project.id, organizationId }, data });
      if (data.repositoryAccess) result[access].push(project.id);
    }
    return result;
  }
}
