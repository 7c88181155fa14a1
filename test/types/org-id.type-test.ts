/**
 * Type tests, checked by `tsc` in `npm run lint` (never run): a repository
 * query without a verified organization id does not compile.
 */
import type { ProjectsRepository } from '../../src/projects/projects.repository.js';
import { orgIdOfMembership, type OrgId } from '../../src/database/org-id.js';

export function typeTests(projects: ProjectsRepository, rawId: string, orgId: OrgId): void {
  // @ts-expect-error a plain string is not an OrgId: the organization must come from a verified source.
  void projects.find(rawId, 'analytics');
  // @ts-expect-error the organization id cannot be left out.
  void projects.find('analytics');
  void projects.find(orgId, 'analytics');
  void projects.find(orgIdOfMembership({ organizationId: rawId }), 'analytics');
}
