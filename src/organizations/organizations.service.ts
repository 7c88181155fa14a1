import { isUniqueViolation } from '../common/db-errors.js';
import { HttpStatus, Injectable } from '@nestjs/common';
import { randomInt } from 'node:crypto';
import type { AuditEvent, Prisma, Organization, Role } from '../generated/prisma/client.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { Actor, RequestOrigin } from '../auth/actor.js';
import { UsersRepository } from '../auth/users.repository.js';
import { AccessMarks } from '../auth/access-marks.js';
import { ProblemException, conflict, forbidden, notFound } from '../common/problem.js';
import { slugify } from '../common/slug.js';
import type { Cursor } from '../common/pagination.js';
import type { OrgId } from '../database/org-id.js';
import { Transactions } from '../database/transactions.js';
import type { Tx } from '../database/tx.js';
import type { OrgScope } from './org-access.js';
import { roleRank } from './permissions.js';
import { MembershipCache } from './org-access.js';
import { MembershipsRepository } from './memberships.repository.js';
import { OrganizationsRepository } from './organizations.repository.js';
import { BillingService } from '../billing/billing.service.js';

@Injectable()
export class OrganizationsService {
  constructor(
    private readonly organizations: OrganizationsRepository,
    private readonly memberships: MembershipsRepository,
    private readonly users: UsersRepository,
    private readonly transactions: Transactions,
    private readonly audit: AuditRepository,
    private readonly billing: BillingService,
    private readonly marks: AccessMarks,
    private readonly membershipCache: MembershipCache,
  ) {}

  async create(
    actor: Actor,
    origin: RequestOrigin,
    name: string,
    slug?: string,
  ): Promise<Organization> {
    this.membershipCache.clear();
    const orgSlug = slug ?? slugify(name);
    for (let attempt = 0; attempt < 5; attempt++) {
      // A human-quotable number; collisions are retried.
      const billingAccountNumber = `MC-${randomInt(1e9, 1e10 - 1)}`;
      try {
        const created = await this.transactions.run(async (tx) => {
          const { organization, orgId } = await this.organizations.create(
            { name, slug: orgSlug, billingAccountNumber },
            tx,
          );
          await this.memberships.create(orgId, actor.user.id, 'owner', tx);
          await this.audit.record(
            orgId,
            actor,
            origin,
            {
              action: 'organization.create',
              resourceType: 'organization',
              resourceId: orgId,
              details: { name },
            },
            tx,
          );
          return organization;
        });
        await this.membershipsChanged(actor.user.id);
        return created;
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
    return this.memberships.listForUser(userId);
  }

  rename(scope: OrgScope, origin: RequestOrigin, name: string): Promise<Organization> {
    return this.update(scope, origin, { name }, 'organization.rename', {
      from: scope.organization.name,
      to: name,
    });
  }

  updateSettings(
    scope: OrgScope,
    origin: RequestOrigin,
    settings: {
      maxRunTimeoutSeconds?: number;
      maxConcurrentRuns?: number;
      logRetentionDays?: number;
    },
  ): Promise<Organization> {
    return this.update(scope, origin, settings, 'organization.update', settings);
  }

  private async update(
    scope: OrgScope,
    origin: RequestOrigin,
    data: Parameters<OrganizationsRepository['update']>[1],
    action: string,
    details: Prisma.InputJsonValue,
  ): Promise<Organization> {
    this.membershipCache.clear();
    return this.transactions.run(async (tx) => {
      const org = await this.organizations.update(scope.orgId, data, tx);
      await this.audit.recordAs(
        scope,
        origin,
        { action, resourceType: 'organization', resourceId: org.id, details },
        tx,
      );
      return org;
    });
  }

  async delete(scope: OrgScope): Promise<void> {
    this.membershipCache.clear();
    const active = await this.organizations.activeRuns(scope.orgId);
    if (active) {
      throw conflict(
        `The organization has ${active} run(s) queued or running. Cancel them before deleting it.`,
      );
    }
    await this.billing.beforeOrganizationDeleted(scope.orgId); // cancels its Stripe subscription
    await this.organizations.delete(scope.orgId);
  }

  members(orgId: OrgId) {
    return this.memberships.members(orgId);
  }

  invitations(orgId: OrgId) {
    return this.memberships.invitations(orgId);
  }

  /** Adds an existing user by GitHub login, or leaves an invitation they accept when they first sign in. */
  async invite(scope: OrgScope, origin: RequestOrigin, login: string, role: Role) {
    this.membershipCache.clear();
    this.assertMayGrant(scope, role);
    const { orgId } = scope;
    const user = await this.users.findByLoginIgnoringCase(login);
    if (user) {
      const existing = await this.memberships.find(orgId, user.id);
      if (existing)
        throw conflict(`${user.login} is already a member.`, [
          { field: 'body.login', message: 'already a member' },
        ]);
      const added = await this.transactions.run(async (tx) => {
        const membership = await this.memberships.create(orgId, user.id, role, tx);
        await this.audit.recordAs(
          scope,
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
      await this.membershipsChanged(user.id);
      return added;
    }
    return this.transactions.run(async (tx) => {
      const invitation = await this.memberships.invite(orgId, login, role, scope.actor.user.id, tx);
      await this.audit.recordAs(
        scope,
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
    this.membershipCache.clear();
    await this.transactions.run(async (tx) => {
      if (!(await this.memberships.deleteInvitation(scope.orgId, invitationId, tx)))
        throw notFound('Invitation');
      await this.audit.recordAs(
        scope,
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
    this.membershipCache.clear();
    const { orgId } = scope;
    const changed = await this.transactions.run(
      async (tx) => {
        const target = await this.memberships.find(orgId, userId, tx);
        if (!target) throw notFound('Member');
        this.assertMayManage(scope, target.role);
        this.assertMayGrant(scope, role);
        if (target.role === 'owner' && role !== 'owner')
          await this.assertAnotherOwner(tx, orgId, userId, 'demoted');
        const updated = await this.memberships.changeRole(orgId, target.id, role, tx);
        await this.audit.recordAs(
          scope,
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
    await this.membershipsChanged(userId);
    return changed;
  }

  async removeMember(
    scope: OrgScope,
    origin: RequestOrigin,
    userId: string,
    leaving = false,
  ): Promise<void> {
    this.membershipCache.clear();
    const { orgId } = scope;
    await this.transactions.run(
      async (tx) => {
        const target = await this.memberships.find(orgId, userId, tx);
        if (!target) throw notFound('Member');
        if (!leaving) this.assertMayManage(scope, target.role);
        if (target.role === 'owner')
          await this.assertAnotherOwner(tx, orgId, userId, leaving ? 'leave' : 'removed');
        await this.memberships.delete(orgId, target.id, tx);
        await this.audit.recordAs(
          scope,
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
    await this.membershipsChanged(userId);
  }

  /**
   * After a change to a user's memberships committed: this process forgets what it cached, and
   * the mark makes every other API process look the user's memberships up again at once.
   */
  private async membershipsChanged(userId: string): Promise<void> {
    this.membershipCache.clear();
    await this.marks.mark([this.marks.memberships(userId)]);
  }

  auditEvents(
    orgId: OrgId,
    take: number,
    cursor?: Cursor,
    range?: { since?: Date | undefined; until?: Date | undefined },
  ) {
    return this.audit.list(orgId, take, cursor, range);
  }

  /** Who and what a page of audit events is about, by name. */
  auditNames(orgId: OrgId, events: AuditEvent[]) {
    return this.audit.names(orgId, events);
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
    tx: Tx,
    orgId: OrgId,
    userId: string,
    what: 'demoted' | 'removed' | 'leave',
  ): Promise<void> {
    if (!(await this.memberships.otherOwners(orgId, userId, tx))) {
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
