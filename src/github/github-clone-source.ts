import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import type { Project } from '../generated/prisma/client.js';
import {
  CloneSourceProvider,
  RepositoryAccessLostError,
  type CloneSource,
} from '../projects/clone-source.js';
import { GithubApiError, GithubAppService } from './github-app.service.js';
import { GithubAppRepository, type GithubRepositoryWithInstallation } from './github.repository.js';

/** GitHub's answers that mean the grant is gone (suspended, uninstalled, repository not accessible). */
const ACCESS_LOST_STATUSES = new Set([401, 403, 404, 422]);

/**
 * With the GitHub App: a project's repository is cloned with an
 * installation token minted for that clone, scoped to that one repository
 * with read access to its contents. The token is never stored or logged.
 */
@Injectable()
export class GithubCloneSourceProvider extends CloneSourceProvider {
  constructor(
    private readonly config: AppConfig,
    private readonly app: GithubAppService,
    private readonly github: GithubAppRepository,
  ) {
    super();
  }

  async sourceFor(project: Project): Promise<CloneSource> {
    const repo = await this.grantOf(project);
    const account = repo.installation.accountLogin;
    if (repo.installation.suspendedAt) {
      throw new RepositoryAccessLostError(
        `The GitHub App installation on ${account} is suspended, so ${repo.fullName} cannot be ` +
          `read. An owner of ${account} can unsuspend it on GitHub; deploys and runs work again ` +
          'once it is.',
      );
    }
    if (repo.revokedAt) throw revoked(repo);
    let token: string;
    try {
      ({ token } = await this.app.mintRepositoryToken(
        Number(repo.installation.installationId),
        Number(repo.githubRepoId),
      ));
    } catch (err) {
      if (err instanceof GithubApiError && err.status && ACCESS_LOST_STATUSES.has(err.status)) {
        throw revoked(repo);
      }
      throw err;
    }
    return { url: `${this.config.github.webUrl}/${repo.fullName}.git`, token };
  }

  private async grantOf(project: Project): Promise<GithubRepositoryWithInstallation> {
    const found = await this.github.grantForProject(project);
    if (found) return found;
    throw new RepositoryAccessLostError(
      `The repository ${project.repository} is not granted to this organization's GitHub App ` +
        'installations. An admin can grant it by installing the GitHub App on its owner or by ' +
        "adding it to the installation's repository access on GitHub.",
    );
  }
}

const revoked = (repo: GithubRepositoryWithInstallation): RepositoryAccessLostError =>
  new RepositoryAccessLostError(
    `The GitHub App installation on ${repo.installation.accountLogin} no longer grants access to ` +
      `${repo.fullName}. An admin of ${repo.installation.accountLogin} can grant it again in the ` +
      "installation's repository access settings on GitHub; the project recovers by itself then.",
  );
