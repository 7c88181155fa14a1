import { Injectable } from '@nestjs/common';
import { unprocessable, validationFailed } from '../common/problem.js';
import {
  RepositoryPolicy,
  type AvailableRepository,
  type ResolvedRepository,
} from '../projects/repository-policy.js';
import type { OrgId } from '../database/org-id.js';
import { GithubAppRepository } from './github.repository.js';

const OWNER_NAME = /^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/;

/** With the GitHub App: projects only on repositories an installation of the organization grants. */
@Injectable()
export class GithubRepositoryPolicy extends RepositoryPolicy {
  constructor(private readonly github: GithubAppRepository) {
    super();
  }

  async resolve(orgId: OrgId, repository: string): Promise<ResolvedRepository> {
    const fullName = repository.replace(/\.git$/, '');
    if (!OWNER_NAME.test(fullName)) {
      throw validationFailed([
        {
          field: 'body.repository',
          message: 'must be owner/name of a GitHub repository granted to this organization',
        },
      ]);
    }
    const granted = await this.github.findGranted(orgId, fullName);
    if (!granted) {
      throw unprocessable(
        `The repository ${fullName} is not granted to this organization's GitHub App installations.`,
        [
          {
            field: 'body.repository',
            message:
              `"${fullName}" is not granted to this organization. An admin can grant it: install ` +
              'the GitHub App on its owner (GET /orgs/{org}/github/install), or add the ' +
              "repository to the installation's repository access on GitHub. " +
              'GET /orgs/{org}/repositories lists the granted ones.',
          },
        ],
      );
    }
    return { repository: granted.fullName, githubRepositoryId: granted.id };
  }

  async listAvailable(orgId: OrgId): Promise<AvailableRepository[]> {
    return (await this.github.listGranted(orgId)).map((r) => ({
      full_name: r.fullName,
      default_branch: r.defaultBranch,
      private: r.private,
    }));
  }
}
