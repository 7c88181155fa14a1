import type { Project } from '../generated/prisma/client.js';

/** A project as the API shows it. */
export const presentProject = (p: Project) => ({
  id: p.id,
  name: p.name,
  slug: p.slug,
  repository: p.repository,
  root_path: p.rootPath,
  repository_access: p.repositoryAccess,
  created_at: p.createdAt.toISOString(),
  updated_at: p.updatedAt.toISOString(),
});
