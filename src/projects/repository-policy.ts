import { Injectable } from '@nestjs/common';
import { validationFailed } from '../common/problem.js';
import type { OrgId } from '../database/org-id.js';

export interface ResolvedRepository {
  /** What is stored on the project: `owner/name` or a git URL/path. */
  repository: string;
  /** The granted GitHub repository row, when the GitHub App is in use. */
  githubRepositoryId: string | null;
}

export interface AvailableRepository {
  full_name: string;
  default_branch: string | null;
  private: boolean;
}

/**
 * Which repositories an organization may build projects on. Without a GitHub
 * App (one machine, local use) any repository git can clone is accepted; the
 * GitHub integration replaces this with granted repositories only.
 */
export abstract class RepositoryPolicy {
  abstract resolve(orgId: OrgId, repository: string): Promise<ResolvedRepository>;
  abstract listAvailable(orgId: OrgId): Promise<AvailableRepository[]>;
}

const OWNER_NAME = /^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/;
const GIT_URL = /^(https?|ssh|git|file):\/\/\S+$/;
const SCP_LIKE = /^[\w.-]+@[\w.-]+:\S+$/;

export const looksLikeRepository = (value: string): boolean =>
  OWNER_NAME.test(value) || GIT_URL.test(value) || SCP_LIKE.test(value) || value.startsWith('/');

@Injectable()
export class OpenRepositoryPolicy extends RepositoryPolicy {
  async resolve(_orgId: OrgId, repository: string): Promise<ResolvedRepository> {
    if (!looksLikeRepository(repository)) {
      throw validationFailed([
        { field: 'body.repository', message: 'must be owner/name, a git URL or an absolute path' },
      ]);
    }
    return { repository, githubRepositoryId: null };
  }

  async listAvailable(): Promise<AvailableRepository[]> {
    return [];
  }
}
