import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type {
  Invitation,
  Membership,
  Organization,
  Role,
  User,
} from '../generated/prisma/client.js';
import { byRef } from '../common/refs.js';
import { orgIdOfRow, type OrgId } from '../database/org-id.js';
import { clientOf } from '../database/repository.js';
import type { Tx } from '../database/tx.js';

export type MemberRow = Membership & { user: User };

/**
 * Memberships and pending invitations. Scoped methods take the `OrgId`; the
 * few keyed on the signed-in user (their memberships, the access guard's
 * lookup, invitations addressed to their login) say so in their names.
 */
@Injectable()
export class MembershipsRepository {
  constructor(private readonly prisma: PrismaService) {}

  // ---- keyed on the signed-in user -------------------------------------------------------------

  /**
   * The user's membership in the organization named by `ref` (id or slug), with the
   * organization, for the access guard: one statement (on every organization request whose
   * membership is not cached).
   */
  async findForUser(
    userId: string,
    ref: string,
  ): Promise<(Membership & { organization: Organization }) | null> {
    const org = byRef(ref);
    const [row] = await this.prisma.readRows<Membership & { organization: Organization }>(
      `SELECT m.id, m.organization_id AS "organizationId", m.user_id AS "userId", m.role,
              m.created_at AS "createdAt", m.updated_at AS "updatedAt",
              json_build_object(
                'id', o.id, 'name', o.name, 'slug', o.slug,
                'billingAccountNumber', o.billing_account_number,
                'stripeCustomerId', o.stripe_customer_id, 'plan', o.plan,
                'maxRunTimeoutSeconds', o.max_run_timeout_seconds,
                'maxConcurrentRuns', o.max_concurrent_runs,
                'logRetentionDays', o.log_retention_days,
                'createdAt', o.created_at, 'updatedAt', o.updated_at
              ) AS organization
         FROM memberships m JOIN organizations o ON o.id = m.organization_id
        WHERE m.user_id = $1::uuid AND ${'id' in org ? 'o.id = $2::uuid' : 'o.slug = $2'}`,
      [userId, 'id' in org ? org.id : org.slug],
    );
    if (!row) return null;
    const o = row.organization as unknown as Record<string, unknown>;
    return {
      ...row,
      organization: {
        ...row.organization,
        createdAt: new Date(o.createdAt as string),
        updatedAt: new Date(o.updatedAt as string),
      },
    };
  }

  listForUser(userId: string): Promise<(Membership & { organization: Organization })[]> {
    return this.prisma.membership.findMany({
      where: { userId },
      include: { organization: true },
      orderBy: { organization: { name: 'asc' } },
    });
  }

  /** Invitations addressed to this GitHub login, in every organization (accepted on sign-in). */
  async invitationsForLogin(login: string): Promise<(Invitation & { orgId: OrgId })[]> {
    const rows = await this.prisma.invitation.findMany({
      where: { githubLogin: { equals: login, mode: 'insensitive' } },
    });
    return rows.map((row) => ({ ...row, orgId: orgIdOfRow(row) }));
  }

  // ---- members of one organization ------------------------------------------------------------

  members(orgId: OrgId): Promise<MemberRow[]> {
    return this.prisma.membership.findMany({
      where: { organizationId: orgId },
      include: { user: true },
      orderBy: { createdAt: 'asc' },
    });
  }

  find(orgId: OrgId, userId: string, tx?: Tx): Promise<MemberRow | null> {
    return clientOf(this.prisma, tx).membership.findUnique({
      where: { organizationId_userId: { organizationId: orgId, userId } },
      include: { user: true },
    });
  }

  create(orgId: OrgId, userId: string, role: Role, tx?: Tx): Promise<MemberRow> {
    return clientOf(this.prisma, tx).membership.create({
      data: { organizationId: orgId, userId, role },
      include: { user: true },
    });
  }

  /** Makes the user a member unless they already are (their role then stays). */
  async addIfAbsent(orgId: OrgId, userId: string, role: Role, tx?: Tx): Promise<void> {
    await clientOf(this.prisma, tx).membership.upsert({
      where: { organizationId_userId: { organizationId: orgId, userId } },
      create: { organizationId: orgId, userId, role },
      update: {},
    });
  }

  changeRole(orgId: OrgId, membershipId: string, role: Role, tx?: Tx): Promise<MemberRow> {
    return clientOf(this.prisma, tx).membership.update({
      where: { id: membershipId, organizationId: orgId },
      data: { role },
      include: { user: true },
    });
  }

  async delete(orgId: OrgId, membershipId: string, tx?: Tx): Promise<void> {
    await clientOf(this.prisma, tx).membership.delete({
      where: { id: membershipId, organizationId: orgId },
    });
  }

  /** Owners other than this user. */
  otherOwners(orgId: OrgId, userId: string, tx?: Tx): Promise<number> {
    return clientOf(this.prisma, tx).membership.count({
      where: { organizationId: orgId, role: 'owner', NOT: { userId } },
    });
  }

  // ---- invitations ----------------------------------------------------------------------------

  invitations(orgId: OrgId): Promise<Invitation[]> {
    return this.prisma.invitation.findMany({
      where: { organizationId: orgId },
      orderBy: { createdAt: 'asc' },
    });
  }

  /** Invites a GitHub login (stored lowercased), or changes the role of its pending invitation. */
  invite(
    orgId: OrgId,
    login: string,
    role: Role,
    invitedById: string,
    tx?: Tx,
  ): Promise<Invitation> {
    const githubLogin = login.toLowerCase();
    return clientOf(this.prisma, tx).invitation.upsert({
      where: { organizationId_githubLogin: { organizationId: orgId, githubLogin } },
      create: { organizationId: orgId, githubLogin, role, invitedById },
      update: { role },
    });
  }

  /** False when the organization has no such invitation. */
  async deleteInvitation(orgId: OrgId, invitationId: string, tx?: Tx): Promise<boolean> {
    const { count } = await clientOf(this.prisma, tx).invitation.deleteMany({
      where: { id: invitationId, organizationId: orgId },
    });
    return count > 0;
  }
}
