import {
  HttpStatus,
  Injectable,
  SetMetadata,
  createParamDecorator,
  type CanActivate,
  type ExecutionContext,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Membership, Organization } from '../generated/prisma/client.js';
import { ProblemException, notFound } from '../common/problem.js';
import { TtlCache } from '../common/ttl-cache.js';
import { ACCESS_CACHE_MS } from '../auth/access-marks.js';
import type { Actor, AuthenticatedRequest } from '../auth/actor.js';
import { can, type Permission } from './permissions.js';
import { orgIdOfMembership, type OrgId } from '../database/org-id.js';
import { MembershipsRepository } from './memberships.repository.js';

export interface OrgScope {
  /** The organization's id, verified through the signed-in user's membership. */
  orgId: OrgId;
  organization: Organization;
  membership: Membership;
  actor: Actor;
}

const REQUIRED_PERMISSION = 'mc:permission';
/** The permission a route needs inside the organization named by its `:org` parameter. */
export const RequirePermission = (permission: Permission): MethodDecorator =>
  SetMetadata(REQUIRED_PERMISSION, permission);

/**
 * Memberships are looked up on every organization request; they are
 * remembered for ACCESS_CACHE_MS. Changes made through this process (roles,
 * members, organization settings) forget them (OrganizationsService); a
 * change to a user's memberships made through any process is seen by the
 * next request of that user everywhere (AccessMarks, read by AuthGuard).
 */
@Injectable()
export class MembershipCache extends TtlCache<
  (Membership & { organization: Organization }) | null
> {
  constructor() {
    super(ACCESS_CACHE_MS);
  }
}

/**
 * Resolves `:org` (id or slug) for the signed-in user. Outsiders get 404 for
 * everything in an organization, so they learn nothing about it; members
 * whose role lacks the route's permission get 403.
 */
@Injectable()
export class OrgAccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly memberships: MembershipsRepository,
    private readonly membershipCache: MembershipCache,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx
      .switchToHttp()
      .getRequest<
        AuthenticatedRequest & { params?: Record<string, string>; orgScope?: OrgScope }
      >();
    const ref = req.params?.org;
    if (ref === undefined || !req.actor) return true;
    const permission =
      this.reflector.get<Permission | undefined>(REQUIRED_PERMISSION, ctx.getHandler()) ??
      'org:read';
    const cacheKey = `${req.actor.user.id}|${ref}`;
    let membership = req.membershipsChanged ? undefined : this.membershipCache.get(cacheKey);
    if (membership === undefined) {
      membership = await this.memberships.findForUser(req.actor.user.id, ref);
      this.membershipCache.set(cacheKey, membership);
    }
    if (!membership) throw notFound('Organization');
    if (!can(membership.role, permission)) {
      throw new ProblemException(
        HttpStatus.FORBIDDEN,
        'forbidden',
        `Your role (${membership.role}) does not allow this: it needs ${permission}.`,
      );
    }
    const { organization, ...rest } = membership;
    req.orgScope = {
      orgId: orgIdOfMembership(rest),
      organization,
      membership: rest,
      actor: req.actor,
    };
    return true;
  }
}

export const CurrentOrg = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): OrgScope => {
    const scope = ctx.switchToHttp().getRequest<{ orgScope?: OrgScope }>().orgScope;
    if (!scope) throw new Error('CurrentOrg used on a route without :org');
    return scope;
  },
);
