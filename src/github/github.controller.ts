import { Controller, Delete, Get, HttpCode, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { CurrentActor, Origin, type Actor, type RequestOrigin } from '../auth/actor.js';
import { refParam } from '../common/slug.js';
import { ZodParam, ZodQuery, ZodResponse } from '../common/zod.js';
import { CurrentOrg, RequirePermission, type OrgScope } from '../organizations/org-access.js';
import { GithubInstallationsService } from './github-installations.service.js';
import { installationOut, installationRefParam, setupQuery } from './github.schemas.js';
import { GithubAppService, notConfigured } from './github-app.service.js';
import { presentInstallation } from './github.presenter.js';

const example = {
  id: '0b6c1d9e-3f0a-4f5e-9d51-6a7f3c2e8b14',
  installation_id: 51234567,
  account_login: 'acme',
  account_type: 'Organization',
  suspended: false,
  suspended_at: null,
  granted_repositories: 3,
  created_at: '2026-11-21T09:00:00.000Z',
  updated_at: '2026-11-21T09:00:00.000Z',
};

const wantsHtml = (req: FastifyRequest): boolean =>
  (req.headers.accept ?? '').includes('text/html');

@ApiTags('github')
@Controller()
export class GithubController {
  constructor(
    private readonly app: GithubAppService,
    private readonly installations: GithubInstallationsService,
  ) {}

  @Get('orgs/:org/github/install')
  @RequirePermission('github:write')
  @ApiOperation({
    summary:
      'Install the GitHub App for this organization: redirects to GitHub with a signed state (admin)',
  })
  @ApiResponse({ status: 302, description: 'To the App’s installation page on GitHub' })
  async install(
    @ZodParam('org', refParam) _org: string,
    @CurrentOrg() scope: OrgScope,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!this.app.configured) throw notConfigured();
    await reply.redirect(this.installations.installUrl(scope), 302);
  }

  /**
   * GitHub's "Setup URL": after an installation is created or changed,
   * GitHub sends the user here with the installation id, our state and a
   * user authorization code.
   */
  @Get('github/setup')
  @ApiOperation({
    summary:
      'GitHub App setup callback: links the installation to the organization of the signed state',
  })
  @ZodResponse(200, installationOut, 'Linked (API clients; browsers are redirected)', example)
  async setup(
    @ZodQuery(setupQuery) query: z.infer<typeof setupQuery>,
    @CurrentActor() actor: Actor,
    @Origin() origin: RequestOrigin,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const outcome = await this.installations.setup(actor, origin, {
      installationId: query.installation_id,
      setupAction: query.setup_action,
      state: query.state,
      code: query.code,
    });
    if (wantsHtml(req)) {
      await reply.redirect('/', 302);
      return;
    }
    if (outcome.status === 'requested') {
      await reply.status(202).send({
        status: 'requested',
        detail:
          'The installation was requested: an owner of the GitHub account must approve it, ' +
          'then install it from the organization’s GitHub settings.',
      });
      return;
    }
    await reply.status(200).send(presentInstallation(outcome.installation));
  }

  @Get('orgs/:org/github/installations')
  @ApiOperation({ summary: 'GitHub App installations linked to this organization' })
  @ZodResponse(200, z.object({ results: z.array(installationOut) }), 'Installations', {
    results: [example],
  })
  async list(@ZodParam('org', refParam) _org: string, @CurrentOrg() scope: OrgScope) {
    const rows = await this.installations.list(scope.orgId);
    return { results: rows.map(presentInstallation) };
  }

  @Delete('orgs/:org/github/installations/:installation')
  @HttpCode(204)
  @RequirePermission('github:write')
  @ApiOperation({
    summary:
      'Unlink an installation (its projects lose repository access; the App stays installed on GitHub) (admin)',
  })
  async unlink(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('installation', installationRefParam, 'Our id, or GitHub’s installation id')
    installation: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
  ): Promise<void> {
    await this.installations.unlink(scope, origin, installation);
  }
}
