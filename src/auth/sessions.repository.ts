import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { User } from '../generated/prisma/client.js';
import { USER_COLUMNS, userOfRow, type UserColumns } from './users.repository.js';

/** A session as authentication needs it. */
export interface SessionOfUser {
  id: string;
  csrfToken: string;
  expiresAt: Date;
  user: User;
}

/** Browser sessions: user-level data, keyed on the user (and the session's token hash). */
@Injectable()
export class SessionsRepository {
  constructor(private readonly prisma: PrismaService) {}

  async create(
    userId: string,
    session: { tokenHash: string; csrfToken: string; expiresAt: Date },
  ): Promise<void> {
    await this.prisma.session.create({ data: { userId, ...session } });
  }

  /** The ended session's token hash (null when it was already gone). */
  async delete(sessionId: string): Promise<string | null> {
    const rows = await this.prisma.$queryRaw<{ token_hash: string }[]>`
      DELETE FROM sessions WHERE id = ${sessionId}::uuid RETURNING token_hash`;
    return rows[0]?.token_hash ?? null;
  }

  /** The session with this token hash and its user, in one statement. */
  async findByTokenHash(tokenHash: string): Promise<SessionOfUser | null> {
    const [row] = await this.prisma.readRows<
      UserColumns & { id: string; csrfToken: string; expiresAt: Date }
    >(
      `SELECT s.id, s.csrf_token AS "csrfToken", s.expires_at AS "expiresAt", ${USER_COLUMNS}
         FROM sessions s JOIN users u ON u.id = s.user_id
        WHERE s.token_hash = $1`,
      [tokenHash],
    );
    return row
      ? { id: row.id, csrfToken: row.csrfToken, expiresAt: row.expiresAt, user: userOfRow(row) }
      : null;
  }
}
