import { Injectable } from '@nestjs/common';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppConfig } from '../config/app-config.js';
import { displayUrl, gitAuth, gitMessage, redact } from '../common/git-auth.js';
import { runGit, type GitResult } from '../common/git-command.js';
import type { Project } from '../generated/prisma/client.js';
import { CloneSourceProvider } from './clone-source.js';

/** git could not clone the branch (missing branch, unreachable host, refused credentials). */
export class CloneFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CloneFailedError';
  }
}

/** A shallow clone of one branch head, alive while the callback of `withBranchHead` runs. */
export interface Checkout {
  /** The working tree: the repository's root (the project is at `project.rootPath` in it). */
  dir: string;
  /** Runs git in the working tree with the clone's credentials. */
  git(args: string[]): Promise<GitResult>;
  /** git's own explanation of a failed command, with the credentials redacted. */
  why(result: GitResult): string;
}

export interface CheckoutOptions {
  /** How long the clone may take (git is killed past it, and the clone fails). */
  timeoutMs?: number;
}

/**
 * Reads a project's repository the one way the service does: a shallow, single-branch clone
 * of the branch head from the project's clone source (the GitHub App's per-clone installation
 * token, or the URL as written), credentials only in git's environment, into a temporary
 * folder under `RUN_WORKDIR` that is removed afterwards. Deploys (the worker) and deployment
 * creation (the API, to check the environment) both read meltano.yml through it.
 */
@Injectable()
export class RepositoryCheckouts {
  constructor(
    private readonly config: AppConfig,
    private readonly cloneSources: CloneSourceProvider,
  ) {}

  /**
   * Clones `branch` and hands the checkout to `use`. Throws `RepositoryAccessLostError` (from
   * the clone source: the grant is gone) or `CloneFailedError` (git failed, message says why).
   */
  async withBranchHead<T>(
    project: Project,
    branch: string,
    use: (checkout: Checkout) => Promise<T>,
    options: CheckoutOptions = {},
  ): Promise<T> {
    const source = await this.cloneSources.sourceFor(project);
    const workRoot = this.config.worker.runWorkdir ?? tmpdir();
    await mkdir(workRoot, { recursive: true });
    const dir = await mkdtemp(path.join(workRoot, 'mc-deploy-'));
    try {
      const baseEnv = { ...this.config.worker.childEnv, HOME: dir };
      const auth = gitAuth(source.url, source.token, baseEnv);
      const env = { ...baseEnv, ...auth.env };
      const checkout = path.join(dir, 'repo');
      const why = (result: GitResult) =>
        gitMessage(redact(result.stderr, auth.secrets).split('\n')) ?? 'git failed';
      const clone = await runGit(
        this.config.worker.gitBin,
        [
          'clone',
          '--depth',
          '1',
          '--single-branch',
          '--branch',
          branch,
          '--no-tags',
          auth.remoteUrl,
          checkout,
        ],
        { env, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) },
      );
      if (clone.code !== 0) {
        throw new CloneFailedError(
          `Could not clone ${displayUrl(project.repository)} at branch '${branch}': ${why(clone)}`,
        );
      }
      return await use({
        dir: checkout,
        git: (args) => runGit(this.config.worker.gitBin, args, { cwd: checkout, env }),
        why,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}
