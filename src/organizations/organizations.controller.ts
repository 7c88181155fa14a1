import { Controller, Delete, Get, HttpCode, Patch, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { CurrentActor, Origin, type Actor, type RequestOrigin } from '../auth/actor.js';
import { decodeCursor, toPage } from '../common/pagination.js';
import { refParam } from '../common/slug.js';
import { ZodBody, ZodParam, ZodQuery, ZodResponse, pageQuery, paginated } from '../common/zod.js';
import { CurrentOrg, RequirePermission, type OrgScope } from './org-access.js';
import { OrganizationsService } from './organizations.service.js';
import {
  auditEventOut,
  createOrgBody,
  inviteBody,
  memberOut,
  orgOut,
  roleBody,
  updateOrgBody,
} from './organizations.schemas.js';
import { presentInvitation, presentMember, presentOrg } from './organizations.presenter.js';
import { presentAuditEvent } from '../audit/audit.presenter.js';

const orgParam = (): ParameterDecorator => ZodParam('org', refParam, 'Organization id or slug');

const auditQuery = z.object({
  ...pageQuery,
  since: z.iso.datetime({ offset: true }).optional().describe('Only events at or after this time'),
  until: z.iso.datetime({ offset: true }).optional().describe('Only events at or before this time'),
});

@ApiTags('organizations')
@Controller('orgs')
export class OrganizationsController {
  constructor(private readonly orgs: OrganizationsService) {}

  @Post()
  @ApiOperation({ summary: 'Create an organization; you become its owner' })
  @ZodResponse(201, orgOut, 'Created', {
    id: '0b7c…',
    name: 'Acme Data',
    slug: 'acme-data',
    billing_account_number: 'MC-4812093311',
    role: 'owner',
  })
  async create(
    @CurrentActor() actor: Actor,
    @Origin() origin: RequestOrigin,
    @ZodBody(createOrgBody, { name: 'Acme Data' }) body: z.infer<typeof createOrgBody>,
  ) {
    return presentOrg(await this.orgs.create(actor, origin, body.name, body.slug), 'owner');
  }

  @Get()
  @ApiOperation({ summary: 'Organizations I belong to' })
  @ZodResponse(200, z.object({ results: z.array(orgOut) }), 'My organizations')
  async list(@CurrentActor() actor: Actor) {
    const memberships = await this.orgs.listForUser(actor.user.id);
    return { results: memberships.map((m) => presentOrg(m.organization, m.role)) };
  }

  @Get(':org')
  @ApiOperation({ summary: 'One organization' })
  @ZodResponse(200, orgOut, 'The organization')
  get(@orgParam() _org: string, @CurrentOrg() scope: OrgScope) {
    return presentOrg(scope.organization, scope.membership.role);
  }

  @Patch(':org')
  @RequirePermission('org:write')
  @ApiOperation({ summary: 'Rename an organization or change its limits (admin)' })
  @ZodResponse(200, orgOut, 'Updated')
  async update(
    @orgParam() _org: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
    @ZodBody(updateOrgBody, { name: 'Acme Analytics' }) body: z.infer<typeof updateOrgBody>,
  ) {
    let org = scope.organization;
    if (body.name !== undefined) org = await this.orgs.rename(scope, origin, body.name);
    const settings = {
      ...(body.max_run_timeout_seconds !== undefined
        ? { maxRunTimeoutSeconds: body.max_run_timeout_seconds }
        : {}),
      ...(body.max_concurrent_runs !== undefined
        ? { maxConcurrentRuns: body.max_concurrent_runs }
        : {}),
      ...(body.log_retention_days !== undefined
        ? { logRetentionDays: body.log_retention_days }
        : {}),
    };
    if (Object.keys(settings).length) org = await this.orgs.updateSettings(scope, origin, settings);
    return presentOrg(org, scope.membership.role);
  }

  @Delete(':org')
  @HttpCode(204)
  @RequirePermission('org:delete')
  @ApiOperation({
    summary: 'Delete an organization (owner; refused while runs are queued or running)',
  })
  async remove(@orgParam() _org: string, @CurrentOrg() scope: OrgScope): Promise<void> {
    await this.orgs.delete(scope);
  }

  @Get(':org/members')
  @ApiOperation({ summary: 'Members and pending invitations' })
  @ZodResponse(
    200,
    z.object({ results: z.array(memberOut), invitations: z.array(z.unknown()) }),
    'Members',
  )
  async members(@orgParam() _org: string, @CurrentOrg() scope: OrgScope) {
    const [members, invitations] = await Promise.all([
      this.orgs.members(scope.orgId),
      this.orgs.invitations(scope.orgId),
    ]);
    return { results: members.map(presentMember), invitations: invitations.map(presentInvitation) };
  }

  @Post(':org/members')
  @RequirePermission('member:write')
  @ApiOperation({
    summary: 'Add a member by GitHub login (an invitation if they have not signed in yet)',
  })
  async invite(
    @orgParam() _org: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
    @ZodBody(inviteBody, { login: 'hubot', role: 'member' }) body: z.infer<typeof inviteBody>,
  ) {
    const result = await this.orgs.invite(scope, origin, body.login, body.role);
    return result.kind === 'member'
      ? { member: presentMember(result.membership) }
      : { invitation: presentInvitation(result.invitation) };
  }

  @Delete(':org/invitations/:invitationId')
  @HttpCode(204)
  @RequirePermission('member:write')
  @ApiOperation({ summary: 'Withdraw an invitation' })
  async revokeInvitation(
    @orgParam() _org: string,
    @ZodParam('invitationId', z.uuid()) invitationId: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
  ): Promise<void> {
    await this.orgs.revokeInvitation(scope, origin, invitationId);
  }

  @Patch(':org/members/:userId')
  @RequirePermission('member:write')
  @ApiOperation({ summary: 'Change a member’s role (the last owner cannot be demoted)' })
  @ZodResponse(200, memberOut, 'Updated')
  async changeRole(
    @orgParam() _org: string,
    @ZodParam('userId', z.uuid()) userId: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
    @ZodBody(roleBody, { role: 'admin' }) body: z.infer<typeof roleBody>,
  ) {
    return presentMember(await this.orgs.changeRole(scope, origin, userId, body.role));
  }

  @Delete(':org/members/:userId')
  @HttpCode(204)
  @RequirePermission('member:write')
  @ApiOperation({ summary: 'Remove a member (the last owner cannot be removed)' })
  async removeMember(
    @orgParam() _org: string,
    @ZodParam('userId', z.uuid()) userId: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
  ): Promise<void> {
    await this.orgs.removeMember(scope, origin, userId);
  }

  @Post(':org/leave')
  @HttpCode(204)
  @ApiOperation({ summary: 'Leave the organization (the last owner cannot leave)' })
  async leave(
    @orgParam() _org: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
  ): Promise<void> {
    await this.orgs.removeMember(scope, origin, scope.actor.user.id, true);
  }

  @Get(':org/audit-events')
  @RequirePermission('audit:read')
  @ApiOperation({ summary: 'Audit trail, newest first (admin)' })
  @ZodResponse(200, paginated(auditEventOut), 'Audit events')
  async auditEvents(
    @orgParam() _org: string,
    @CurrentOrg() scope: OrgScope,
    @ZodQuery(auditQuery) query: z.infer<typeof auditQuery>,
  ) {
    const cursor = decodeCursor(query.page_token);
    const rows = await this.orgs.auditEvents(scope.orgId, query.page_size + 1, cursor, {
      since: query.since ? new Date(query.since) : undefined,
      until: query.until ? new Date(query.until) : undefined,
    });
    const names = await this.orgs.auditNames(scope.orgId, rows.slice(0, query.page_size));
    return toPage(
      rows,
      query.page_size,
      (e) => ({ k: e.createdAt.toISOString(), id: e.id }),
      (e) => presentAuditEvent(e, names),
    );
  }
}
