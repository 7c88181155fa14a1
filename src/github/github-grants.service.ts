import { Injectable } from '@nestjs/common';
import type { OrgId } from '../database/org-id.js';
import type { Tx } from '../database/tx.js';
import type { GithubRepository, Prisma, RepositoryAccess } from '../generated/prisma/client.js';
import type { InstallationRepository } from './github-app.service.js';
import {
  GithubAppRepository,
  type GithubRepositoryWithInstallation,
  type ProjectWithGrant,
} from './github.repository.js';

/** A repository row projects may build on: not revoked, its installation not suspended. */
export const isGranted = (repo: GithubRepositoryWithInstallation): boolean =>
  repo.revokedAt === null && repo.installation.suspendedAt === null;

/** A repository as GitHub lists it; webhooks do not say the default branch. */
export type GrantedRepository = Omit<InstallationRepository, 'defaultBranch'> & {
  defaultBranch?: string | null;
};

export interface ReconcileResult {
  lost: string[];
  granted: string[];
}

/** What changes on one project to follow the grants, and the access it ends with. */
export interface ProjectAccessChange {
  projectId: string;
  access: RepositoryAccess;
  data: Prisma.ProjectUncheckedUpdateInput;
}

/**
 * Brings projects in line with the grants: a project whose repository is
 * granted (possibly through another row of the same GitHub repository, or by
 * name after its installation was re-linked or when it predates the App) is
 * 'granted', linked to the grant and follows the repository's name; a linked
 * project without a grant is 'lost'. Unlinked projects with no grant by name
 * are left as they are. `active`: granted rows, most recently refreshed first.
 */
export function planProjectAccess(
  projects: ProjectWithGrant[],
  active: GithubRepository[],
): ProjectAccessChange[] {
  const changes: ProjectAccessChange[] = [];
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
    if (Object.keys(data).length) changes.push({ projectId: project.id, access, data });
  }
  return changes;
}

/**
 * The organization's view of its GitHub App installations: which
 * repositories they grant, and which projects can still read their
 * repository. The queries are GithubAppRepository's, scoped by OrgId.
 */
@Injectable()
export class GithubGrantsService {
  constructor(private readonly github: GithubAppRepository) {}

  /**
   * Makes the installation's rows match GitHub's list (the source of
   * truth): listed repositories are granted, the others revoked.
   */
  async syncRepositories(
    orgId: OrgId,
    installationId: string,
    repositories: GrantedRepository[],
    tx: Tx,
  ): Promise<void> {
    await this.github.grant(orgId, installationId, repositories, tx);
    await this.github.revokeAllBut(
      orgId,
      installationId,
      repositories.map((r) => r.id),
      tx,
    );
  }

  /** Applies `planProjectAccess` to the organization's projects. */
  async reconcileProjects(orgId: OrgId, tx: Tx): Promise<ReconcileResult> {
    const projects = await this.github.projectsWithGrants(orgId, tx);
    const result: ReconcileResult = { lost: [], granted: [] };
    if (!projects.length) return result;
    const active = await this.github.activeGrants(orgId, tx);
    for (const change of planProjectAccess(projects, active)) {
      await this.github.updateProject(orgId, change.projectId, change.data, tx);
      if (change.data.repositoryAccess) result[change.access].push(change.projectId);
    }
    return result;
  }
}
