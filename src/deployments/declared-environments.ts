import { Injectable, Logger } from '@nestjs/common';
import path from 'node:path';
import type { Project } from '../generated/prisma/client.js';
import { MeltanoProjectError, readMeltanoProject } from '../meltano/meltano-project.js';
import { RepositoryAccessLostError } from '../projects/clone-source.js';
import { CloneFailedError, RepositoryCheckouts } from '../projects/repository-checkout.js';

/** How long creating a deployment waits for the repository before leaving the check to the deploy. */
export const DECLARED_ENVIRONMENTS_TIMEOUT_MS = 20_000;

/**
 * The environments a project's meltano.yml (with its `include_paths`) declares at a branch head,
 * read as the deploy reads it (`RepositoryCheckouts`, `readMeltanoProject`). Null when it cannot
 * be read now: no grant, unreachable host, missing branch, a meltano.yml Meltano would refuse, or
 * longer than `DECLARED_ENVIRONMENTS_TIMEOUT_MS`; the first deploy then reports what is wrong.
 */
@Injectable()
export class DeclaredEnvironments {
  private readonly logger = new Logger(DeclaredEnvironments.name);

  constructor(private readonly checkouts: RepositoryCheckouts) {}

  async at(project: Project, branch: string): Promise<string[] | null> {
    try {
      return await this.checkouts.withBranchHead(
        project,
        branch,
        async (checkout) => {
          const meltano = await readMeltanoProject(path.join(checkout.dir, project.rootPath), {
            repoDir: checkout.dir,
          });
          return meltano.environments;
        },
        { timeoutMs: DECLARED_ENVIRONMENTS_TIMEOUT_MS },
      );
    } catch (err) {
      // Expected: the repository or its meltano.yml cannot be read now. Anything else (the
      // GitHub API unreachable while minting a token…) is logged as a warning; either way the
      // deployment is created and its first deploy says what is wrong.
      const expected =
        err instanceof CloneFailedError ||
        err instanceof RepositoryAccessLostError ||
        err instanceof MeltanoProjectError;
      const entry = {
        msg: 'meltano.yml not read before creating a deployment; its deploy will check it',
        project: project.id,
        branch,
        reason: err instanceof Error ? err.message : String(err),
      };
      if (expected) this.logger.log(entry);
      else this.logger.warn(entry);
      return null;
    }
  }
}
