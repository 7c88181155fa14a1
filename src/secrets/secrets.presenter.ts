import type { SecretMeta } from './secrets.repository.js';
import { PROJECT_SCOPE, type SecretOut } from './secrets.schemas.js';

/** A secret's metadata for the API; `logins` names who created and last set it (by user id). */
export const presentSecret = (s: SecretMeta, logins: ReadonlyMap<string, string>): SecretOut => ({
  name: s.name,
  kind: s.kind,
  scope: s.scope === PROJECT_SCOPE ? 'project' : 'deployment',
  project_id: s.projectId,
  deployment_id: s.deploymentId,
  created_by: s.createdById ? (logins.get(s.createdById) ?? null) : null,
  updated_by: s.updatedById ? (logins.get(s.updatedById) ?? null) : null,
  created_at: s.createdAt.toISOString(),
  updated_at: s.updatedAt.toISOString(),
});
