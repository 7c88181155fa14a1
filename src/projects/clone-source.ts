import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import type { Project } from '../generated/prisma/client.js';

/** Where a worker clones a project from; the token is short-lived and used for that clone only. */
export interface CloneSource {
  url: string;
  token?: string;
}

/** The project's repository cannot be read any more (grant revoked, installation suspended or deleted). */
export class RepositoryAccessLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RepositoryAccessLostError';
  }
}

/**
 * Resolves a project's repository to something `git clone` accepts. The
 * GitHub integration replaces this with a provider that mints a per-clone
 * installation token scoped to the one repository.
 */
export abstract class CloneSourceProvider {
  abstract sourceFor(project: Project): Promise<CloneSource>;
}

const OWNER_NAME = /^[A-Za-z0-9-]{1,39}\/[A-Za-z0-9._-]{1,100}$/;

/** Without a GitHub App: `owner/name` is a public GitHub repository; anything else is cloned as written. */
@Injectable()
export class OpenCloneSourceProvider extends CloneSourceProvider {
  constructor(private readonly config: AppConfig) {
    super();
  }

  async sourceFor(project: Project): Promise<CloneSource> {
    if (OWNER_NAME.test(project.repository))
      return { url: `${this.config.github.webUrl}/${project.repository}.git` };
    return { url: project.repository };
  }
}
