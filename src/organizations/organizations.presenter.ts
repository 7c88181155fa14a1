import type { Invitation, Membership, Organization, User } from '../generated/prisma/client.js';

export const presentOrg = (org: Organization, role: Membership['role']) => ({
  id: org.id,
  name: org.name,
  slug: org.slug,
  billing_account_number: org.billingAccountNumber,
  role,
  settings: {
    max_run_timeout_seconds: org.maxRunTimeoutSeconds,
    max_concurrent_runs: org.maxConcurrentRuns,
    log_retention_days: org.logRetentionDays,
  },
  created_at: org.createdAt.toISOString(),
});

export const presentMember = (m: Membership & { user: User }) => ({
  user_id: m.userId,
  login: m.user.login,
  name: m.user.name,
  avatar_url: m.user.avatarUrl,
  role: m.role,
  joined_at: m.createdAt.toISOString(),
});

export const presentInvitation = (i: Invitation) => ({
  id: i.id,
  login: i.githubLogin,
  role: i.role,
  created_at: i.createdAt.toISOString(),
});
