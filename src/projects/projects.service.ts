import { isUniqueViolation } from '../common/db-errors.js';
import { Injectable } from '@nestjs/common';
import type { Project } from '../generated/prisma/client.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { RequestOrigin } from '../auth/actor.js';
import type { Cursor } from '../common/pagination.js';
import { conflict, notFound } from '../common/problem.js';
import { slugify } from '../common/slug.js';
import type { OrgId } from '../database/org-id.js';
import { Transactions } from '../database/transactions.js';
import type { OrgScope } from '../organizations/org-access.js';
import { ProjectsRepository } from './projects.repository.js';
import { RepositoryPolicy } from './repository-policy.js';

const nameTaken = (slug: string) =>
  conflict(`A project named "${slug}" already exists in this organization.`, [
    { field: 'body.name', message: `"${slug}" is taken` },
  ]);

@Injectable()
export class ProjectsService {
  constructor(
    private readonly transactions: Transactions,
    private readonly projects: ProjectsRepository,
    private readonly repositories: RepositoryPolicy,
    private readonly audit: AuditRepository,
  ) {}

  get(orgId: OrgId, ref: string): Promise<Project>;
  /**
   * @deprecated Pass `scope.orgId`. Kept for callers outside this area not
   * converted yet (src/secrets), which pass the id of an `OrgScope`.
   */
  get(organizationId: string, ref: string): Promise<Project>;
  async get(orgId: string, ref: string): Promise<Project> {
    const project = await this.projects.find(orgId as OrgId, ref);
    if (!project) throw notFound('Project');
    return project;
  }

  list(orgId: OrgId, take: number, namePrefix?: string, cursor?: Cursor): Promise<Project[]> {
    return this.projects.list(orgId, take, namePrefix, cursor);
  }

  async create(
    scope: OrgScope,
    origin: RequestOrigin,
    input: { name: string; repository: string; rootPath?: string | undefined },
  ): Promise<Project> {
    const { orgId } = scope;
    const resolved = await this.repositories.resolve(orgId, input.repository);
    const slug = slugify(input.name);
    try {
      return await this.transactions.run(async (tx) => {
        const project = await this.projects.create(
          orgId,
          {
            name: input.name,
            slug,
            repository: resolved.repository,
            githubRepositoryId: resolved.githubRepositoryId,
            rootPath: input.rootPath ?? '.',
          },
          tx,
        );
        await this.audit.recordAs(
          scope,
          origin,
          {
            action: 'project.create',
            resourceType: 'project',
            resourceId: project.id,
            details: {
              name: project.name,
              repository: project.repository,
              root_path: project.rootPath,
            },
          },
          tx,
        );
        return project;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(slug);
      throw err;
    }
  }

  async update(
    scope: OrgScope,
    origin: RequestOrigin,
    ref: string,
    input: {
      name?: string | undefined;
      rootPath?: string | undefined;
      repository?: string | undefined;
    },
  ): Promise<Project> {
    const { orgId } = scope;
    const project = await this.get(orgId, ref);
    const resolved =
      input.repository !== undefined
        ? await this.repositories.resolve(orgId, input.repository)
        : undefined;
    // The slug is the project's stable handle (URLs, CLI): renaming changes only the display name.
    try {
      return await this.transactions.run(async (tx) => {
        const updated = await this.projects.update(
          orgId,
          project.id,
          {
            ...(input.name !== undefined ? { name: input.name } : {}),
            ...(input.rootPath !== undefined ? { rootPath: input.rootPath } : {}),
            ...(resolved
              ? {
                  repository: resolved.repository,
                  githubRepositoryId: resolved.githubRepositoryId,
                  repositoryAccess: 'granted' as const,
                }
              : {}),
          },
          tx,
        );
        await this.audit.recordAs(
          scope,
          origin,
          {
            action: 'project.update',
            resourceType: 'project',
            resourceId: project.id,
            details: { ...input },
          },
          tx,
        );
        return updated;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(slugify(input.name ?? project.name));
      throw err;
    }
  }

  async delete(scope: OrgScope, origin: RequestOrigin, ref: string): Promise<void> {
    const { orgId } = scope;
    const project = await this.get(orgId, ref);
    const running = await this.projects.countRunsInProgress(orgId, project.id);
    if (running)
      throw conflict(
        `The project has ${running} run(s) in progress. Cancel them before deleting it.`,
      );
    await this.transactions.run(async (tx) => {
      await this.projects.delete(orgId, project.id, tx);
      await this.audit.recordAs(
        scope,
        origin,
        {
          action: 'project.delete',
          resourceType: 'project',
          resourceId: project.id,
          details: { name: project.name },
        },
        tx,
      );
    });
  }
}
