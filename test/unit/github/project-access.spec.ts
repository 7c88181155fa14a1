import type { GithubRepository } from '../../../src/generated/prisma/client.js';
import { planProjectAccess } from '../../../src/github/github-grants.service.js';
import type { ProjectWithGrant } from '../../../src/github/github.repository.js';

const grant = (id: string, over: Partial<GithubRepository> = {}) =>
  ({
    id,
    githubRepoId: 1n,
    fullName: 'acme/analytics',
    revokedAt: null,
    installation: { suspendedAt: null },
    ...over,
  }) as GithubRepository & { installation: { suspendedAt: Date | null } };

const project = (over: Partial<ProjectWithGrant> = {}) =>
  ({
    id: 'p1',
    repository: 'acme/analytics',
    repositoryAccess: 'granted',
    githubRepositoryId: null,
    githubRepository: null,
    ...over,
  }) as ProjectWithGrant;

describe('planProjectAccess', () => {
  it('leaves a project on a granted row as it is', () => {
    const row = grant('g1');
    expect(
      planProjectAccess(
        [project({ githubRepositoryId: 'g1', githubRepository: row as never })],
        [row],
      ),
    ).toEqual([]);
  });

  it('marks a linked project lost when no row of its repository is granted', () => {
    const revoked = grant('g1', { revokedAt: new Date() });
    expect(
      planProjectAccess(
        [project({ githubRepositoryId: 'g1', githubRepository: revoked as never })],
        [],
      ),
    ).toEqual([{ projectId: 'p1', access: 'lost', data: { repositoryAccess: 'lost' } }]);
  });

  it('moves a project to another granted row of the same repository, following its name', () => {
    const revoked = grant('g1', { revokedAt: new Date() });
    const other = grant('g2', { fullName: 'acme/renamed' });
    expect(
      planProjectAccess(
        [
          project({
            repositoryAccess: 'lost',
            githubRepositoryId: 'g1',
            githubRepository: revoked as never,
          }),
        ],
        [other],
      ),
    ).toEqual([
      {
        projectId: 'p1',
        access: 'granted',
        data: { repositoryAccess: 'granted', githubRepositoryId: 'g2', repository: 'acme/renamed' },
      },
    ]);
  });

  it('links an unlinked project granted by name, and leaves one with no grant alone', () => {
    const row = grant('g1', { fullName: 'Acme/Analytics' });
    expect(planProjectAccess([project(), project({ id: 'p2', repository: 'x/y' })], [row])).toEqual(
      [
        {
          projectId: 'p1',
          access: 'granted',
          data: { githubRepositoryId: 'g1', repository: 'Acme/Analytics' },
        },
      ],
    );
  });
});
