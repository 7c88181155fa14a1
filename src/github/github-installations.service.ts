import { HttpStatus, Injectable } from '@nestjs/common';
import { AuditRepository } from '../audit/audit.repository.js';
import type { Actor, RequestOrigin } from '../auth/actor.js';
import { AppConfig } from '../config/app-config.js';
import { ProblemException, conflict, forbidden, notFound } from '../common/problem.js';
import { signPayload, verifyPayload } from '../common/signing.js';
import { orgIdOfMembership, type OrgId } from '../database/org-id.js';
import { SystemRepository } from '../database/system.repository.js';
import { Transactions } from '../database/transactions.js';
import type { GithubInstallation } from '../generated/prisma/client.js';
import type { OrgScope } from '../organizations/org-access.js';
import { can } from '../organizations/permissions.js';
import { GithubApiError, GithubAppService } from './github-app.service.js';
import { GithubGrantsService } from './github-grants.service.js';
import { GithubAppRepository } from './github.repository.js';

const STATE_PURPOSE = 'github-install';
const STATE_TTL_SECONDS = 10 * 60;

interface InstallState extends Record<string, unknown> {
  purpose: string;
  org: string;
  user: string;
}

export interface SetupInput {
  installationId?: number | undefined;
  setupAction?: 'install' | 'update' | 'request' | undefined;
  state?: string | undefined;
  code?: string | undefined;
}

export type InstallationWithCount = GithubInstallation & { _count?: { repositories: number } };

export type SetupOutcome =
  | { status: 'linked'; installation: InstallationWithCount; organizationSlug: string }
  | { status: 'requested' };

const badGateway = (err: GithubApiError): ProblemException =>
  new ProblemException(
    HttpStatus.BAD_GATEWAY,
    'github-unavailable',
    `GitHub could not complete the request: ${err.message}. Try again in a moment.`,
  );

const refused = (detail: string): ProblemException =>
  new ProblemException(HttpStatus.FORBIDDEN, 'github-installation-refused', detail);

/**
 * Linking GitHub App installations to organizations: the install redirect
 * with a signed state, and the setup callback that checks the signed-in user
 * administers both the organization and the installation before linking it.
 */
@Injectable()
export class GithubInstallationsService {
  constructor(
    private readonly config: AppConfig,
    private readonly transactions: Transactions,
    private readonly system: SystemRepository,
    private readonly github: GithubAppRepository,
    private readonly app: GithubAppService,
    private readonly grants: GithubGrantsService,
    private readonly audit: AuditRepository,
  ) {}

  /** Installations linked to the organization, with how many repositories each grants. */
  list(orgId: OrgId) {
    return this.github.listInstallations(orgId);
  }

  /** The App's installation page, carrying a state bound to this organization and user. */
  installUrl(scope: OrgScope): string {
    const state = signPayload(
      this.config.auth.sessionSecret,
      { purpose: STATE_PURPOSE, org: scope.orgId, user: scope.actor.user.id },
      STATE_TTL_SECONDS,
    );
    return this.app.installUrl(state);
  }

  async setup(actor: Actor, origin: RequestOrigin, input: SetupInput): Promise<SetupOutcome> {
    if (!this.app.configured) throw notFound('GitHub App');
    const membership = await this.github.membershipOf(
      actor.user.id,
      await this.organizationFor(actor, input),
    );
    if (!membership || !can(membership.role, 'github:write')) {
      // Without a state the organization came from the installation: an outsider gets the
      // same answer as for an installation linked nowhere, so ids cannot be probed.
      if (!input.state && !membership) throw installationNotLinked();
      throw forbidden(
        'Only admins of the organization can link a GitHub App installation to it, and you are ' +
          'not (or no longer) one.',
      );
    }
    if (input.setupAction === 'request') return { status: 'requested' };
    const orgId = orgIdOfMembership(membership);
    const installationId = input.installationId;
    if (installationId === undefined) {
      throw new ProblemException(
        HttpStatus.BAD_REQUEST,
        'validation-error',
        'GitHub did not say which installation was set up.',
        [{ field: 'query.installation_id', message: 'is required' }],
      );
    }
    try {
      await this.checkUserAdministers(actor, installationId, input.code);
      const info = await this.app.installation(installationId);
      if (!info) throw notFound('GitHub App installation');
      const existing = await this.system.githubInstallationAcrossTenants(installationId);
      if (existing && existing.organizationId !== orgId) {
        throw conflict(
          'This GitHub App installation is already linked to another organization. Unlink it ' +
            'there first.',
        );
      }
      const repositories = info.suspended
        ? null
        : await this.app.installationRepositories(installationId);
      const installation = await this.transactions.run(async (tx) => {
        const linked = await this.github.upsertInstallation(orgId, info, existing, tx);
        if (repositories) await this.grants.syncRepositories(orgId, linked.id, repositories, tx);
        await this.grants.reconcileProjects(orgId, tx);
        await this.audit.record(
          orgId,
          actor,
          origin,
          {
            action: existing ? 'github.installation.update' : 'github.installation.link',
            resourceType: 'github_installation',
            resourceId: linked.id,
            details: {
              installation_id: installationId,
              account: info.accountLogin,
              repositories: repositories?.map((r) => r.fullName) ?? [],
            },
          },
          tx,
        );
        return linked;
      });
      const withCount = await this.github.listInstallations(orgId);
      return {
        status: 'linked',
        installation: withCount.find((i) => i.id === installation.id) ?? installation,
        organizationSlug: membership.organization.slug,
      };
    } catch (err) {
      if (err instanceof GithubApiError) throw badGateway(err);
      throw err;
    }
  }

  /**
   * The organization the setup is for: from the signed state, which must be
   * this user's; or, for a change made later on GitHub (no state), the
   * organization the installation is already linked to.
   */
  private async organizationFor(actor: Actor, input: SetupInput): Promise<string> {
    if (input.state) {
      const state = verifyPayload<InstallState>(this.config.auth.sessionSecret, input.state);
      if (!state || state.purpose !== STATE_PURPOSE || typeof state.org !== 'string') {
        throw new ProblemException(
          HttpStatus.BAD_REQUEST,
          'invalid-state',
          'The installation link is invalid or expired (it lasts 10 minutes). Start again from ' +
            'the organization’s GitHub settings.',
          [{ field: 'query.state', message: 'is invalid or expired' }],
        );
      }
      if (state.user !== actor.user.id) {
        throw refused(
          'This installation was started by another user. Start it again from the ' +
            'organization’s GitHub settings while signed in as yourself.',
        );
      }
      return state.org;
    }
    const existing =
      input.installationId !== undefined
        ? await this.system.githubInstallationAcrossTenants(input.installationId)
        : null;
    if (!existing) throw installationNotLinked();
    return existing.organizationId;
  }

  /** The user must be able to administer the installation on GitHub (checked with their own token). */
  private async checkUserAdministers(
    actor: Actor,
    installationId: number,
    code: string | undefined,
  ): Promise<void> {
    if (!code) {
      throw refused(
        'GitHub sent no user authorization code, so we cannot check that you may administer ' +
          'this installation. Enable “Request user authorization (OAuth) during installation” ' +
          'in the GitHub App’s settings, then install or configure the App again.',
      );
    }
    const token = await this.app.exchangeUserCode(code);
    if (!token) {
      throw refused(
        'GitHub refused the user authorization code (expired, already used, or GitHub sign-in ' +
          'is not configured with the App’s client id and secret). Start the installation again.',
      );
    }
    if (actor.user.githubId !== null) {
      const githubUser = await this.app.userOf(token);
      if (BigInt(githubUser.id) !== actor.user.githubId) {
        throw refused(
          `You are signed in to GitHub as ${githubUser.login}, not as ${actor.user.login}. ` +
            'Sign in to GitHub with your own account and install again.',
        );
      }
    }
    if (!(await this.app.userCanAdminister(token, installationId))) {
      throw refused(
        `Your GitHub account cannot administer installation ${installationId}: only its ` +
          'owners (the account, or owners of the GitHub organization) can link it.',
      );
    }
  }

  async unlink(scope: OrgScope, origin: RequestOrigin, ref: string): Promise<void> {
    const { orgId } = scope;
    const installation = await this.github.findInstallation(orgId, ref);
    if (!installation) throw notFound('GitHub App installation');
    await this.transactions.run(async (tx) => {
      await this.github.removeInstallation(orgId, installation.id, tx);
      await this.grants.reconcileProjects(orgId, tx);
      await this.audit.recordAs(
        scope,
        origin,
        {
          action: 'github.installation.unlink',
          resourceType: 'github_installation',
          resourceId: installation.id,
          details: {
            installation_id: Number(installation.installationId),
            account: installation.accountLogin,
          },
        },
        tx,
      );
    });
  }
}

/** A setup without state for an installation this user cannot see linked (to any organization). */
const installationNotLinked = (): ProblemException =>
  new ProblemException(
    HttpStatus.BAD_REQUEST,
    'invalid-state',
    'Install the GitHub App from the organization’s GitHub settings (GET ' +
      '/orgs/{org}/github/install) so the installation can be linked to it.',
    [{ field: 'query.state', message: 'is required' }],
  );
