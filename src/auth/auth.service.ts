import { Injectable } from '@nestjs/common';
import type { ApiToken, User } from '../generated/prisma/client.js';
import { notFound } from '../common/problem.js';
import { TtlCache } from '../common/ttl-cache.js';
import { Transactions } from '../database/transactions.js';
import { MembershipCache } from '../organizations/org-access.js';
import { MembershipsRepository } from '../organizations/memberships.repository.js';

import { ACCESS_CACHE_MS, AccessMarks } from './access-marks.js';
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

/** How a request proves who it is: an API token (Bearer) or the session cookie. */
export interface Credential {
  kind: 'token' | 'session';
  secret: string;
}

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
    private readonly marks: AccessMarks,
    private readonly membershipCache: MembershipCache,
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
    for (const invitation of invitations) {
      await this.transactions.run(async (tx) => {
        await this.memberships.addIfAbsent(invitation.orgId, user.id, invitation.role, tx);
        await this.memberships.deleteInvitation(invitation.orgId, invitation.id, tx);
      });
    }
    if (invitations.length) {
      this.membershipCache.clear();
      await this.marks.mark([this.marks.memberships(user.id)]);
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

  /** Ends the session; every API process refuses it from now on (AccessMarks). */
  async endSession(sessionId: string): Promise<void> {
    const tokenHash = await this.sessions.delete(sessionId);
    if (tokenHash) {
      this.credentials.delete(tokenHash);
      await this.marks.mark([this.marks.credential(tokenHash)]);
    }
  }

  /**
   * Validated credentials are remembered for ACCESS_CACHE_MS: the lookup is on every API
   * request. Revoking a token or ending a session marks it (AccessMarks), and the mark is read
   * with each request's rate limit, so no process uses a revoked credential after the revoke
   * answered.
   */
  private readonly credentials = new TtlCache<{ actor: Actor; expiresAt: Date | null }>(
    ACCESS_CACHE_MS,
  );

  /** The hash a credential is cached and marked by (null: not a credential this API issues). */
  credentialHash(kind: Credential['kind'], secret: string): string | null {
    if (kind === 'token' && !secret.startsWith(TOKEN_PREFIX)) return null;
    return secret ? hashToken(secret) : null;
  }

  /** The actor of a credential validated moments ago by this process, without any I/O. */
  cachedActor(tokenHash: string): Actor | undefined {
    const cached = this.credentials.get(tokenHash);
    if (!cached) return undefined;
    if (cached.expiresAt && cached.expiresAt <= new Date()) {
      this.credentials.delete(tokenHash);
      return undefined;
    }
    return cached.actor;
  }

  /** Drops what this process remembers of a credential (its mark was seen). */
  forgetCredential(tokenHash: string): void {
    this.credentials.delete(tokenHash);
  }

  /** Looks the credential up in PostgreSQL (one statement) and remembers it when valid. */
  async actorFrom(kind: Credential['kind'], tokenHash: string): Promise<Actor | null> {
    if (kind === 'session') {
      const session = await this.sessions.findByTokenHash(tokenHash);
      if (!session || session.expiresAt < new Date()) return null;
      const actor: Actor = {
        user: session.user,
        via: 'session',
        sessionId: session.id,
        csrfToken: session.csrfToken,
      };
      this.credentials.set(tokenHash, { actor, expiresAt: session.expiresAt });
      return actor;
    }
    // The same statement sets last_used_at (at most once a minute).
    const row = await this.tokens.useByHash(tokenHash);
    if (!row || row.revokedAt || (row.expiresAt && row.expiresAt < new Date())) return null;
    const actor: Actor = { user: row.user, via: 'token', tokenId: row.id };
    this.credentials.set(tokenHash, { actor, expiresAt: row.expiresAt });
    return actor;
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

  /** Revokes the token; every API process refuses it from now on (AccessMarks). */
  async revokeApiToken(userId: string, tokenId: string): Promise<void> {
    const tokenHash = await this.tokens.revoke(userId, tokenId);
    if (!tokenHash) throw notFound('API token');
    this.credentials.delete(tokenHash);
    await this.marks.mark([this.marks.credential(tokenHash)]);
  }
}
