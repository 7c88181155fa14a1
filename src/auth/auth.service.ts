import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { ApiToken, User } from '../generated/prisma/client.js';
import { notFound } from '../common/problem.js';
import { TtlCache } from '../common/ttl-cache.js';
import { forgetMemberships } from '../organizations/org-access.js';

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
  constructor(private readonly prisma: PrismaService) {}

  /** Keyed by GitHub's numeric id: a renamed GitHub account stays the same user. */
  async upsertGithubUser(identity: GithubIdentity): Promise<User> {
    const githubId = BigInt(identity.id);
    const data = {
      login: identity.login,
      name: identity.name ?? null,
      email: identity.email ?? null,
      avatarUrl: identity.avatarUrl ?? null,
      lastLoginAt: new Date(),
    };
    const user = await this.prisma.$transaction(async (tx) => {
      // Someone else may hold the login now (they renamed away and this person took it): free it.
      await tx.user.updateMany({
        where: { login: identity.login, NOT: { githubId } },
        data: { login: `${identity.login}~renamed-${Date.now().toString(36)}` },
      });
      return tx.user.upsert({ where: { githubId }, create: { githubId, ...data }, update: data });
    });
    await this.acceptInvitations(user);
    return user;
  }

  /** Development sign-in: a user identified by a chosen login, without GitHub. */
  async upsertDevUser(login: string): Promise<User> {
    const existing = await this.prisma.user.findUnique({ where: { login } });
    const user = existing
      ? await this.prisma.user.update({
          where: { id: existing.id },
          data: { lastLoginAt: new Date() },
        })
      : await this.prisma.user.create({ data: { login, name: login, lastLoginAt: new Date() } });
    await this.acceptInvitations(user);
    return user;
  }

  /** Invitations are addressed to GitHub logins; they become memberships on first sign-in. */
  private async acceptInvitations(user: User): Promise<void> {
    const invitations = await this.prisma.invitation.findMany({
      where: { githubLogin: { equals: user.login, mode: 'insensitive' } },
    });
    if (invitations.length) forgetMemberships();
    for (const invitation of invitations) {
      await this.prisma.$transaction([
        this.prisma.membership.upsert({
          where: {
            organizationId_userId: { organizationId: invitation.organizationId, userId: user.id },
          },
          create: {
            organizationId: invitation.organizationId,
            userId: user.id,
            role: invitation.role,
          },
          update: {},
        }),
        this.prisma.invitation.delete({ where: { id: invitation.id } }),
      ]);
    }
  }

  async createSession(
    userId: string,
  ): Promise<{ token: string; csrfToken: string; expiresAt: Date }> {
    const token = newSecretToken();
    const csrfToken = newSecretToken();
    const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
    await this.prisma.session.create({
      data: { userId, tokenHash: hashToken(token), csrfToken, expiresAt },
    });
    return { token, csrfToken, expiresAt };
  }

  async endSession(sessionId: string): Promise<void> {
    await this.prisma.session.deleteMany({ where: { id: sessionId } });
  }

  async actorFromSession(token: string): Promise<Actor | null> {
    const session = await this.prisma.session.findUnique({
      where: { tokenHash: hashToken(token) },
      include: { user: true },
    });
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
    const row = await this.prisma.apiToken.findUnique({
      where: { tokenHash },
      include: { user: true },
    });
    if (!row || row.revokedAt || (row.expiresAt && row.expiresAt < new Date())) return null;
    this.tokenCache.set(tokenHash, {
      actor: { user: row.user, via: 'token', tokenId: row.id },
      expiresAt: row.expiresAt,
    });
    // last_used_at at minute precision is enough and avoids a write per request.
    if (!row.lastUsedAt || Date.now() - row.lastUsedAt.getTime() > 60_000) {
      await this.prisma.apiToken.update({
        where: { id: row.id },
        data: { lastUsedAt: new Date() },
      });
    }
    return { user: row.user, via: 'token', tokenId: row.id };
  }

  async createApiToken(
    userId: string,
    name: string,
    expiresInDays: number | undefined,
  ): Promise<{ token: string; row: ApiToken }> {
    const token = newSecretToken(TOKEN_PREFIX);
    const row = await this.prisma.apiToken.create({
      data: {
        userId,
        name,
        prefix: visiblePrefix(token),
        tokenHash: hashToken(token),
        expiresAt: expiresInDays ? new Date(Date.now() + expiresInDays * 24 * 3600 * 1000) : null,
      },
    });
    return { token, row };
  }

  listApiTokens(userId: string): Promise<ApiToken[]> {
    return this.prisma.apiToken.findMany({
      where: { userId, revokedAt: null },
      orderBy: { createdAt: 'desc' },
    });
  }

  async revokeApiToken(userId: string, tokenId: string): Promise<void> {
    const { count } = await this.prisma.apiToken.updateMany({
      where: { id: tokenId, userId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    if (!count) throw notFound('API token');
    // The hash is not at hand here: forget every cached token (cheap, and rare).
    this.tokenCache.clear();
  }
}
