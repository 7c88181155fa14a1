import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { User } from '../generated/prisma/client.js';
import { clientOf } from '../database/repository.js';
import type { Tx } from '../database/tx.js';

/** What GitHub (or development sign-in) tells about a user. */
export interface UserProfile {
  login: string;
  name: string | null;
  email: string | null;
  avatarUrl: string | null;
}

/** Who a user is, as shown next to what they did. */
export interface UserName {
  login: string;
  name: string | null;
}

/** A user's columns as `SELECT ${USER_COLUMNS}` over `users u` names them (for `userOfRow`). */
export const USER_COLUMNS = [
  'u.id AS "userId"',
  'u.github_id::text AS "userGithubId"',
  'u.login AS "userLogin"',
  'u.name AS "userName"',
  'u.email AS "userEmail"',
  'u.avatar_url AS "userAvatarUrl"',
  'u.created_at AS "userCreatedAt"',
  'u.updated_at AS "userUpdatedAt"',
  'u.last_login_at AS "userLastLoginAt"',
].join(', ');

export interface UserColumns {
  userId: string;
  userGithubId: string | null;
  userLogin: string;
  userName: string | null;
  userEmail: string | null;
  userAvatarUrl: string | null;
  userCreatedAt: Date;
  userUpdatedAt: Date;
  userLastLoginAt: Date | null;
}

/** The user of a row read with USER_COLUMNS. */
export const userOfRow = (row: UserColumns): User => ({
  id: row.userId,
  githubId: row.userGithubId === null ? null : BigInt(row.userGithubId),
  login: row.userLogin,
  name: row.userName,
  email: row.userEmail,
  avatarUrl: row.userAvatarUrl,
  createdAt: row.userCreatedAt,
  updatedAt: row.userUpdatedAt,
  lastLoginAt: row.userLastLoginAt,
});

/** Users: user-level data (not tenant-owned), keyed on the user's id, GitHub id or login. */
@Injectable()
export class UsersRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Renames away whoever else holds `login` (they renamed on GitHub and this person took it). */
  async freeLogin(login: string, githubId: bigint, tx?: Tx): Promise<void> {
    await clientOf(this.prisma, tx).user.updateMany({
      where: { login, NOT: { githubId } },
      data: { login: `${login}~renamed-${Date.now().toString(36)}` },
    });
  }

  /** Creates or updates the user with this GitHub id, marking them signed in now. */
  upsertByGithubId(githubId: bigint, profile: UserProfile, tx?: Tx): Promise<User> {
    const data = { ...profile, lastLoginAt: new Date() };
    return clientOf(this.prisma, tx).user.upsert({
      where: { githubId },
      create: { githubId, ...data },
      update: data,
    });
  }

  findByLogin(login: string): Promise<User | null> {
    return this.prisma.user.findUnique({ where: { login } });
  }

  /** GitHub logins are case-insensitive. */
  findByLoginIgnoringCase(login: string): Promise<User | null> {
    return this.prisma.user.findFirst({ where: { login: { equals: login, mode: 'insensitive' } } });
  }

  markSignedIn(userId: string): Promise<User> {
    return this.prisma.user.update({ where: { id: userId }, data: { lastLoginAt: new Date() } });
  }

  createSignedIn(login: string): Promise<User> {
    return this.prisma.user.create({ data: { login, name: login, lastLoginAt: new Date() } });
  }

  /** The logins of these users, by id (for showing who did something). */
  async loginsById(ids: string[]): Promise<Map<string, string>> {
    const users = ids.length
      ? await this.prisma.user.findMany({
          where: { id: { in: ids } },
          select: { id: true, login: true },
        })
      : [];
    return new Map(users.map((u) => [u.id, u.login]));
  }

  /** Login and display name of these users, by id (for showing who started a run or made a change). */
  async profilesById(ids: string[]): Promise<Map<string, UserName>> {
    const unique = [...new Set(ids)];
    const users = unique.length
      ? await this.prisma.user.findMany({
          where: { id: { in: unique } },
          select: { id: true, login: true, name: true },
        })
      : [];
    return new Map(users.map((u) => [u.id, { login: u.login, name: u.name }]));
  }
}
