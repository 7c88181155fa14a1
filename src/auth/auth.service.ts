import { Injectable } from '@nestjs/common';
import type { ApiToken, User } from '../generated/prisma/client.js';
import { notFound } from '../common/problem.js';
import { TtlCache } from '../common/ttl-cache.js';
import { Transactions } from '../database/transactions.js';
import { forgetMemberships } from '../organizations/org-access.js';
import { MembershipsRepository } from '../organizations/memberships.repository.js';

/** How long a validated API token is trusted without asking PostgreSQL again. */
export const TOKEN_CACHE_MS = 5_000;
import type { Actor } from './actor.js';
import {
  SESSION_TTL_MS,
  TOKEN_PREFIX,
  hashToken,
  newSecretToken,
  visiblePrefix,
} from './credentials.js';
import { SessionsRepository } from './sessions.repository.js';
import { TokensRepository } from './tokens.repository.js';
import { UsersRepository } from './users.repository.js';

export interface GithubIdentity {
  id: number | string;
  login: string;
  name?: string | null;
  email?: string | null;
  avatarUrl?: string | null;
}

/** Users, browser sessions and personal API tokens. */
@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersRepository,
    private readonly sessions: SessionsRepository,
    private readonly tokens: TokensRepository,
    private readonly memberships: MembershipsRepository,
    private readonly transactions: Transactions,
  ) {}

  /** Keyed by GitHub's numeric id: a renamed GitHub account stays the same user. */
  async upsertGithubUser(identity: GithubIdentity): Promise<User> {
    const githubId = BigInt(identity.id);
    const profile = {
      login: identity.login,
      name: identity.name ?? null,
      email: identity.email ?? null,
      avatarUrl: identity.avatarUrl ?? null,
    };
    const user = await this.transactions.run(async (tx) => {
      // Someone else may hold the login now (they renamed away and this person took it): free it.
      await this.users.freeLogin(identity.login, githubId, tx);
      return this.users.upsertByGithubId(githubId, profile, tx);
    });
    await this.acceptInvitations(user);
    return user;
  }

  /** Development sign-in: a user identified by a chosen login, without GitHub. */
  async upsertDevUser(login: string): Promise<User> {
    const existing = await this.users.findByLogin(login);
    const user = existing
      ? await this.users.markSignedIn(existing.id)
      : await this.users.createSignedIn(login);
    await this.acceptInvitations(user);
    return user;
  }

  /** Invitations are addressed to GitHub logins; they become memberships on first sign-in. */
  private async acceptInvitations(user: User): Promise<void> {
    const invitations = await this.memberships.invitationsForLogin(user.login);
    if (invitations.length) forgetMemberships();
    for (const invitation of invitations) {
      await this.transactions.run(async (tx) => {
        await this.memberships.addIfAbsent(invitation.orgId, user.id, invitation.role, tx);
        await this.memberships.deleteInvitation(invitation.orgId, invitation.id, tx);
      });
    }
  }

  async createSession(
    userId: string,
  ): Promise<{ token: string; csrfToken: string; expiresAt: Date }> {
    const token = newSecretToken();
    const csrfToken = newSecretToken();
    const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
    await this.sessions.create(userId, { tokenHash: hashToken(token), csrfToken, expiresAt });
    return { token, csrfToken, expiresAt };
  }

  async endSession(sessionId: string): Promise<void> {
    await this.sessions.delete(sessionId);
  }

  async actorFromSession(token: string): Promise<Actor | null> {
    const session = await this.sessions.findByTokenHash(hashToken(token));
    if (!session || session.expiresAt < new Date()) return null;
    return {
      user: session.user,
      via: 'session',
      sessionId: session.id,
      csrfToken: session.csrfToken,
    };
  }

  /**
   * Valid tokens are remembered for a few seconds (see TOKEN_CACHE_MS): the
   * lookup is on every API request. Revoking through this process forgets
   * the token at once; other API processes within TOKEN_CACHE_MS.
   */
  private readonly tokenCache = new TtlCache<{ actor: Actor; expiresAt: Date | null }>(
    TOKEN_CACHE_MS,
  );

  async actorFromApiToken(token: string): Promise<Actor | null> {
    if (!token.startsWith(TOKEN_PREFIX)) return null;
    const tokenHash = hashToken(token);
    const cached = this.tokenCache.get(tokenHash);
    if (cached && (!cached.expiresAt || cached.expiresAt > new Date())) return cached.actor;
    const row = await this.tokens.findByHash(tokenHash);
    if (!row || row.revokedAt || (row.expiresAt && row.expiresAt < new Date())) return null;
    this.tokenCache.set(tokenHash, {
      actor: { user: row.user, via: 'token', tokenId: row.id },
      expiresAt: row.expiresAt,
    });
    // last_used_at at minute precision is enough and avoids a write per request.
    if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
      await this.tokens.markUsed(row.id);
    }
    return { user: row.user, via: 'token', tokenId: row.id };
  }

  async createApiToken(
    userId: string,
    name: string,
    expiresInDays: number | undefined,
  ): Promise<{ token: string; row: ApiToken }> {
    const token = newSecretToken(TOKEN_PREFIX);
    const row = await this.tokens.create(userId, {
      name,
      prefix: visiblePrefix(token),
      tokenHash: hashToken(token),
      expiresAt: expiresInDays ? new Date(Date.now() + expiresInDays * 24 * 3600 * 1000) : null,
    });
    return { token, row };
  }

  listApiTokens(userId: string): Promise<ApiToken[]> {
    return this.tokens.listActive(userId);
  }

  async revokeApiToken(userId: string, tokenId: string): Promise<void> {
    if (!(await this.tokens.revoke(userId, tokenId))) throw notFound('API token');
    // The hash is not at hand here: forget every cached token (cheap, and rare).
    this.tokenCache.clear();
  }
}
