import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { ApiToken, User } from '../generated/prisma/client.js';

/** Personal API tokens: user-level data, keyed on the user (and the token's hash). */
@Injectable()
export class TokensRepository {
  constructor(private readonly prisma: PrismaService) {}

  findByHash(tokenHash: string): Promise<(ApiToken & { user: User }) | null> {
    return this.prisma.apiToken.findUnique({ where: { tokenHash }, include: { user: true } });
  }

  async markUsed(tokenId: string): Promise<void> {
    await this.prisma.apiToken.update({ where: { id: tokenId }, data: { lastUsedAt: new Date() } });
  }

  create(
    userId: string,
    token: { name: string; prefix: string; tokenHash: string; expiresAt: Date | null },
  ): Promise<ApiToken> {
    return this.prisma.apiToken.create({ data: { userId, ...token } });
  }

  listActive(userId: string): Promise<ApiToken[]> {
    return this.prisma.apiToken.findMany({
      where: { userId, revokedAt: null },
      orderBy: { createdAt: 'desc' },
    });
  }

  /** False when the user has no such unrevoked token. */
  async revoke(userId: string, tokenId: string): Promise<boolean> {
    const { count } = await this.prisma.apiToken.updateMany({
      where: { id: tokenId, userId, revokedAt: null },
      data: { revokedAt: new Date() },
    });
    return count > 0;
  }
}
