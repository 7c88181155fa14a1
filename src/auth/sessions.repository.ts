import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Session, User } from '../generated/prisma/client.js';

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

  async delete(sessionId: string): Promise<void> {
    await this.prisma.session.deleteMany({ where: { id: sessionId } });
  }

  findByTokenHash(tokenHash: string): Promise<(Session & { user: User }) | null> {
    return this.prisma.session.findUnique({ where: { tokenHash }, include: { user: true } });
  }
}
