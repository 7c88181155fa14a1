import type { GithubInstallation } from '../generated/prisma/client.js';

/** A linked installation as the API shows it, with how many repositories it grants. */
export const presentInstallation = (
  i: GithubInstallation & { _count?: { repositories: number } },
) => ({
  id: i.id,
  installation_id: Number(i.installationId),
  account_login: i.accountLogin,
  account_type: i.accountType,
  suspended: i.suspendedAt !== null,
  suspended_at: i.suspendedAt?.toISOString() ?? null,
  granted_repositories: i._count?.repositories ?? 0,
  created_at: i.createdAt.toISOString(),
  updated_at: i.updatedAt.toISOString(),
});
