import { ACTIVE_STATUSES } from '../runs/runs.schemas.js';
import { isUniqueViolation } from '../common/db-errors.js';
import { HttpStatus, Injectable } from '@nestjs/common';
import { randomInt } from 'node:crypto';
import { PrismaService } from '../database/prisma.service.js';
import { Prisma, type Organization, type Role } from '../generated/prisma/client.js';
import { AuditService } from '../audit/audit.service.js';
import type { Actor, RequestOrigin } from '../auth/actor.js';
import { ProblemException, conflict, forbidden, notFound } from '../common/problem.js';
import { slugify } from '../common/slug.js';
import { pastCursor } from '../common/pagination.js';
import type { OrgScope } from './org-access.js';
import { roleRank } from './permissions.js';
import { forgetMemberships } from './org-access.js';
import { BillingService } from '../billing/billing.service.js';

@Injectable()
export class OrganizationsService {
  constructor(
    private readonly prisma: PrismaService,
    private readonly audit: AuditService,
    private readonly billing: BillingService,
  ) {}

  async create(
    actor: Actor,
    origin: RequestOrigin,
    name: string,
    slug?: string,
  ): Promise<Organization> {
    forgetMemberships();
    const orgSlug = slug ?? slugify(name);
    for (let attempt = 0; attempt < 5; attempt++) {
      // A human-quotable number; collisions are retried.
      const billingAccountNumber = `MC-${randomInt(1e9, 1e10 - 1)}`;
      try {
        return await this.prisma.$transaction(async (tx) => {
          const org = await tx.organization.create({
            data: { name, slug: orgSlug, billingAccountNumber },
          });
          await tx.membership.create({
            data: { organizationId: org.id, userId: actor.user.id, role: 'owner' },
          });
          await this.audit.record(
            org.id,
            actor,
            origin,
            {
              action: 'organization.create',
              resourceType: 'organization',
              resourceId: org.id,
              details: { name },
            },
            tx,
          );
          return org;
        });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        const target = JSON.stringify((err as Prisma.PrismaClientKnownRequestError).meta ?? {});
        if (!target.includes('billing')) {
          throw conflict(`An organization named "${orgSlug}" already exists.`, [
            { field: 'body.slug', message: `"${orgSlug}" is taken` },
          ]);
        }
      }
    }
    throw new Error('could not allocate a billing account number');
  }

  listForUser(userId: string) {
    return this.prisma.membership.findMany({
      where: { userId },
      include: { organization: true },
      orderBy: { organization: { name: 'asc' } },
    });
  }

  async rename(scope: OrgScope, origin: RequestOrigin, name: string): Promise<Organization> {
    forgetMemberships();
    return this.prisma.$transaction(async (tx) => {
      const org = await tx.organization.update({
        where: { id: scope.organization.id },
        data: { name },
      });
      await this.audit.record(
        org.id,
        scope.actor,
        origin,
        {
          action: 'organization.rename',
          resourceType: 'organization',
          resourceId: org.id,
          details: { from: scope.organization.name, to: name },
        },
        tx,
      );
      return org;
    });
  }

  async updateSettings(
    scope: OrgScope,
    origin: RequestOrigin,
    settings: {
      maxRunTimeoutSeconds?: number;
      maxConcurrentRuns?: number;
      logRetentionDays?: number;
    },
  ): Promise<Organization> {
    forgetMemberships();
    return this.prisma.$transaction(async (tx) => {
      const org = await tx.organization.update({
        where: { id: scope.organization.id },
        data: settings,
      });
      await this.audit.record(
        org.id,
        scope.actor,
        origin,
        {
          action: 'organization.update',
          resourceType: 'organization',
          resourceId: org.id,
          details: settings,
        },
        tx,
      );
      return org;
    });
  }

  async delete(scope: OrgScope): Promise<void> {
    forgetMemberships();
    const active = await this.prisma.run.count({
      where: { organizationId: scope.organization.id, status: { in: [...ACTIVE_STATUSES] } },
    });
    if (active) {
      throw conflict(
        `The organization has ${active} run(s) queued or running. Cancel them before deleting it.`,
      );
    }
    await this.billing.beforeOrganizationDeleted(scope.orgId); // billing (issue 11): cancels its subscription
    await this.prisma.organization.delete({ where: { id: scope.organization.id } });
  }

  members(organizationId: string) {
    return this.prisma.membership.findMany({
      where: { organizationId },
      include: { user: true },
      orderBy: { createdAt: 'asc' },
    });
  }

  invitations(organizationId: string) {
    return this.prisma.invitation.findMany({
      where: { organizationId },
      orderBy: { createdAt: 'asc' },
    });
  }

  /** Adds an existing user by GitHub login, or leaves an invitation they accept when they first sign in. */
  async invite(scope: OrgScope, origin: RequestOrigin, login: string, role: Role) {
    forgetMemberships();
    this.assertMayGrant(scope, role);
    const orgId = scope.organization.id;
    const user = await this.prisma.user.findFirst({
      where: { login: { equals: login, mode: 'insensitive' } },
    });
    if (user) {
      const existing = await this.prisma.membership.findUnique({
        where: { organizationId_userId: { organizationId: orgId, userId: user.id } },
      });
      if (existing)
        throw conflict(`${user.login} is already a member.`, [
          { field: 'body.login', message: 'already a member' },
        ]);
      return this.prisma.$transaction(async (tx) => {
        const membership = await tx.membership.create({
          data: { organizationId: orgId, userId: user.id, role },
          include: { user: true },
        });
        await this.audit.record(
          orgId,
          scope.actor,
          origin,
          {
            action: 'member.add',
            resourceType: 'membership',
            resourceId: membership.id,
            details: { login: user.login, role },
          },
          tx,
        );
        return { kind: 'member' as const, membership };
      });
    }
    return this.prisma.$transaction(async (tx) => {
      const invitation = await tx.invitation.upsert({
        where: {
          organizationId_githubLogin: { organizationId: orgId, githubLogin: login.toLowerCase() },
        },
        create: {
          organizationId: orgId,
          githubLogin: login.toLowerCase(),
          role,
          invitedById: scope.actor.user.id,
        },
        update: { role },
      });
      await this.audit.record(
        orgId,
        scope.actor,
        origin,
        {
          action: 'member.invite',
          resourceType: 'invitation',
          resourceId: invitation.id,
          details: { login, role },
        },
        tx,
      );
      return { kind: 'invitation' as const, invitation };
    });
  }

  async revokeInvitation(
    scope: OrgScope,
    origin: RequestOrigin,
    invitationId: string,
  ): Promise<void> {
    forgetMemberships();
    await this.prisma.$transaction(async (tx) => {
      const { count } = await tx.invitation.deleteMany({
        where: { id: invitationId, organizationId: scope.organization.id },
      });
      if (!count) throw notFound('Invitation');
      await this.audit.record(
        scope.organization.id,
        scope.actor,
        origin,
        {
          action: 'member.invitation_revoke',
          resourceType: 'invitation',
          resourceId: invitationId,
        },
        tx,
      );
    });
  }

  async changeRole(scope: OrgScope, origin: RequestOrigin, userId: string, role: Role) {
    forgetMemberships();
    const orgId = scope.organization.id;
    return this.prisma.$transaction(
      async (tx) => {
        const target = await tx.membership.findUnique({
          where: { organizationId_userId: { organizationId: orgId, userId } },
          include: { user: true },
        });
        if (!target) throw notFound('Member');
        this.assertMayManage(scope, target.role);
        this.assertMayGrant(scope, role);
        if (target.role === 'owner' && role !== 'owner')
          await this.assertAnotherOwner(tx, orgId, userId, 'demoted');
        const updated = await tx.membership.update({
          where: { id: target.id },
          data: { role },
          include: { user: true },
        });
        await this.audit.record(
          orgId,
          scope.actor,
          origin,
          {
            action: 'member.role_change',
            resourceType: 'membership',
            resourceId: target.id,
            details: { login: target.user.login, from: target.role, to: role },
          },
          tx,
        );
        return updated;
      },
      { isolationLevel: 'Serializable' },
    );
  }

  async removeMember(
    scope: OrgScope,
    origin: RequestOrigin,
    userId: string,
    leaving = false,
  ): Promise<void> {
    forgetMemberships();
    const orgId = scope.organization.id;
    await this.prisma.$transaction(
      async (tx) => {
        const target = await tx.membership.findUnique({
          where: { organizationId_userId: { organizationId: orgId, userId } },
          include: { user: true },
        });
        if (!target) throw notFound('Member');
        if (!leaving) this.assertMayManage(scope, target.role);
        if (target.role === 'owner')
          await this.assertAnotherOwner(tx, orgId, userId, leaving ? 'leave' : 'removed');
        await tx.membership.delete({ where: { id: target.id } });
        await this.audit.record(
          orgId,
          scope.actor,
          origin,
          {
            action: leaving ? 'member.leave' : 'member.remove',
            resourceType: 'membership',
            resourceId: target.id,
            details: { login: target.user.login, role: target.role },
          },
          tx,
        );
      },
      { isolationLevel: 'Serializable' },
    );
  }

  auditEvents(
    organizationId: string,
    take: number,
    cursor?: { k: string; id: string },
    since?: Date,
    until?: Date,
  ) {
    return this.prisma.auditEvent.findMany({
      where: {
        organizationId,
        createdAt: { ...(since ? { gte: since } : {}), ...(until ? { lte: until } : {}) },
        ...pastCursor('createdAt', cursor, 'desc', true),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take,
    });
  }

  /** Only owners hand out or take away ownership. */
  private assertMayGrant(scope: OrgScope, role: Role): void {
    if (role === 'owner' && scope.membership.role !== 'owner')
      throw forbidden('Only owners can make someone an owner.');
  }

  private assertMayManage(scope: OrgScope, targetRole: Role): void {
    if (roleRank[targetRole] > roleRank[scope.membership.role]) {
      throw forbidden(
        `Your role (${scope.membership.role}) cannot change a member whose role is ${targetRole}.`,
      );
    }
  }

  private async assertAnotherOwner(
    tx: Prisma.TransactionClient,
    organizationId: string,
    userId: string,
    what: 'demoted' | 'removed' | 'leave',
  ): Promise<void> {
    const others = await tx.membership.count({
      where: { organizationId, role: 'owner', NOT: { userId } },
    });
    if (!others) {
      throw new ProblemException(
        HttpStatus.CONFLICT,
        'last-owner',
        what === 'leave'
          ? 'You are the last owner: make someone else an owner before leaving.'
          : `The last owner cannot be ${what}: make someone else an owner first.`,
      );
    }
  }
}
