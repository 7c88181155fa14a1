import type { ApiToken, User } from '../generated/prisma/client.js';

export const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

export const presentUser = (u: User) => ({
  id: u.id,
  login: u.login,
  name: u.name,
  email: u.email,
  avatar_url: u.avatarUrl,
  github_id: u.githubId === null ? null : u.githubId.toString(),
});

export const presentToken = (t: ApiToken) => ({
  id: t.id,
  name: t.name,
  prefix: t.prefix,
  expires_at: iso(t.expiresAt),
  last_used_at: iso(t.lastUsedAt),
  created_at: t.createdAt.toISOString(),
});
