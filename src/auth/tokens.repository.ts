import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { ApiToken, User } from '../generated/prisma/client.js';
import { USER_COLUMNS, userOfRow, type UserColumns } from './users.repository.js';

/** A token as authentication needs it. */
export interface TokenOfUser {
  id: string;
  expiresAt: Date | null;
  revokedAt: Date | null;
  user: User;
}

/** Personal API tokens: user-level data, keyed on the user (and the token's hash). */
@Injectable()
export class TokensRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * The token with this hash and its user, in one statement that also sets `last_used_at`
   * when it is unset or over a minute old (minute precision is enough; no write per request).
   */
  async useByHash(tokenHash: string): Promise<TokenOfUser | null> {
    const [row] = await this.prisma.readRows<
      UserColumns & { id: string; expiresAt: Date | null; revokedAt: Date | null }
    >(
      `WITH t AS (
         SELECT id, user_id, expires_at, revoked_at FROM api_tokens WHERE token_hash = $1
       ), touched AS (
         UPDATE api_tokens SET last_used_at = now()
          WHERE id = (SELECT id FROM t) AND revoked_at IS NULL
            AND (expires_at IS NULL OR expires_at > now())
            AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
          RETURNING id
       )
       SELECT t.id, t.expires_at AS "expiresAt", t.revoked_at AS "revokedAt", ${USER_COLUMNS}
         FROM t JOIN users u ON u.id = t.user_id`,
      [tokenHash],
    );
    return row
      ? { id: row.id, expiresAt: row.expiresAt, revokedAt: row.revokedAt, user: userOfRow(row) }
      : null;
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

  /** The revoked token's hash; null when the user has no such unrevoked token. */
  async revoke(userId: string, tokenId: string): Promise<string | null> {
    const rows = await this.prisma.$queryRaw<{ token_hash: string }[]>`
      UPDATE api_tokens SET revoked_at = now()
       WHERE id = ${tokenId}::uuid AND user_id = ${userId}::uuid AND revoked_at IS NULL
      RETURNING token_hash`;
    return rows[0]?.token_hash ?? null;
  }
}
