import { Injectable, Logger } from '@nestjs/common';
import { z } from 'zod';
import { AuditService } from '../audit/audit.service.js';
import { validationFailed } from '../common/problem.js';
import { toFieldErrors } from '../common/zod.js';
import { PrismaService } from '../database/prisma.service.js';
import { DeploysService } from '../deploys/deploys.service.js';
import type { GithubInstallation, Prisma } from '../generated/prisma/client.js';
import { pushTouchesProject } from '../meltano/meltano-project.js';
import { GithubAppService } from './github-app.service.js';
import { GithubGrantsService, type ReconcileResult } from './github-grants.service.js';
import {
  installationEvent,
  installationRepositoriesEvent,
  pushEvent,
  repositoryEvent,
  type InstallationEvent,
  type InstallationRepositoriesEvent,
  type PushEvent,
  type RepositoryEvent,
} from './github.schemas.js';

/** GitHub lists at most this many commits in a push payload; a longer push says nothing complete. */
const MAX_PUSH_COMMITS = 2048;
const ZERO_SHA = /^0+$/;

export interface WebhookOutcome {
  /** What was done, for the response and the logs (never payload contents). */
  result: string;
  deploys?: string[];
}

function parse<S extends z.ZodType>(schema: S, payload: unknown): z.output<S> {
  const parsed = schema.safeParse(payload);
  if (!parsed.success) {
    throw validationFailed(
      toFieldErrors(parsed.error, 'body'),
      'The webhook payload is not what GitHub sends for this event.',
    );
  }
  return parsed.data;
}

/** Validates a payload for the events handled (before the delivery is recorded). */
export function parseWebhook(event: string, payload: unknown): unknown {
  switch (event) {
    case 'installation':
      return parse(installationEvent, payload);
    case 'installation_repositories':
      return parse(installationRepositoriesEvent, payload);
    case 'repository':
      return parse(repositoryEvent, payload);
    case 'push':
      return parse(pushEvent, payload);
    default:
      return payload;
  }
}

/**
 * Keeps grants current from GitHub's webhooks and deploys on push. Events
 * for installations not linked to an organization are acknowledged and
 * ignored (the setup callback links them).
 */
@Injectable()
export class GithubWebhooksService {
  private readonly logger = new Logger('github-webhooks');

  constructor(
    private readonly prisma: PrismaService,
    private readonly app: GithubAppService,
    private readonly grants: GithubGrantsService,
    private readonly deploys: DeploysService,
    private readonly audit: AuditService,
  ) {}

  async handle(event: string, payload: unknown): Promise<WebhookOutcome> {
    switch (event) {
      case 'installation':
        return this.onInstallation(payload as InstallationEvent);
      case 'installation_repositories':
        return this.onInstallationRepositories(payload as InstallationRepositoriesEvent);
      case 'repository':
        return this.onRepository(payload as RepositoryEvent);
      case 'push':
        return this.onPush(payload as PushEvent);
      case 'ping':
        return { result: 'pong' };
      default:
        return { result: `ignored: event ${event} is not handled` };
    }
  }

  private async linked(installationId: number | undefined): Promise<GithubInstallation | null> {
    return installationId === undefined ? null : this.grants.findInstallation(installationId);
  }

  private async record(
    db: Prisma.TransactionClient,
    installation: GithubInstallation,
    action: string,
    details: Prisma.InputJsonValue,
  ): Promise<void> {
    await this.audit.record(
      installation.organizationId,
      null,
      null,
      {
        action,
        resourceType: 'github_installation',
        resourceId: installation.id,
        details,
      },
      db,
    );
  }

  private async onInstallation(payload: InstallationEvent): Promise<WebhookOutcome> {
    const installation = await this.linked(payload.installation.id);
    if (!installation) return { result: 'ignored: installation not linked to an organization' };
    const orgId = installation.organizationId;
    let reconciled: ReconcileResult | null = null;
    switch (payload.action) {
      case 'deleted':
        await this.prisma.$transaction(async (tx) => {
          await this.grants.removeInstallation(tx, installation);
          reconciled = await this.grants.reconcileProjects(tx, orgId);
          await this.audit.record(
            orgId,
            null,
            null,
            {
              action: 'github.installation.deleted',
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
        break;
      case 'suspend':
      case 'unsuspend': {
        const suspended = payload.action === 'suspend';
        await this.prisma.$transaction(async (tx) => {
          await this.grants.setSuspended(tx, installation, suspended);
          reconciled = await this.grants.reconcileProjects(tx, orgId);
          await this.record(tx, installation, `github.installation.${payload.action}`, {
            installation_id: Number(installation.installationId),
          });
        });
        // Grants may have changed while suspended (GitHub sends no events then): re-read them.
        if (!suspended) reconciled = (await this.resync(installation)) ?? reconciled;
        break;
      }
      case 'created':
      case 'new_permissions_accepted': {
        const repositories = payload.repositories;
        const selected = payload.installation.repository_selection !== 'all';
        await this.prisma.$transaction(async (tx) => {
          if (repositories) {
            const listed = repositories.map((r) => ({
              id: r.id,
              fullName: r.full_name,
              private: r.private ?? true,
            }));
            if (selected) await this.grants.syncRepositories(tx, installation, listed);
            else await this.grants.grant(tx, installation, listed);
          }
          reconciled = await this.grants.reconcileProjects(tx, orgId);
        });
        break;
      }
      default:
        return { result: `ignored: installation ${payload.action}` };
    }
    return { result: `installation ${payload.action}${describe(reconciled)}` };
  }

  /** Re-reads the installation's repositories from GitHub; null when GitHub cannot be asked. */
  private async resync(installation: GithubInstallation): Promise<ReconcileResult | null> {
    let repositories;
    try {
      repositories = await this.app.installationRepositories(Number(installation.installationId));
    } catch (err) {
      this.logger.warn({
        msg: 'could not re-read the installation’s repositories',
        installation: Number(installation.installationId),
        err: err instanceof Error ? err.message : String(err),
      });
      return null;
    }
    return this.prisma.$transaction(async (tx) => {
      await this.grants.syncRepositories(tx, installation, repositories);
      return this.grants.reconcileProjects(tx, installation.organizationId);
    });
  }

  private async onInstallationRepositories(
    payload: InstallationRepositoriesEvent,
  ): Promise<WebhookOutcome> {
    const installation = await this.linked(payload.installation.id);
    if (!installation) return { result: 'ignored: installation not linked to an organization' };
    if (payload.action !== 'added' && payload.action !== 'removed') {
      return { result: `ignored: installation_repositories ${payload.action}` };
    }
    const reconciled = await this.prisma.$transaction(async (tx) => {
      if (payload.repositories_added.length) {
        await this.grants.grant(
          tx,
          installation,
          payload.repositories_added.map((r) => ({
            id: r.id,
            fullName: r.full_name,
            private: r.private ?? true,
          })),
        );
      }
      if (payload.repositories_removed.length) {
        await this.grants.revoke(
          tx,
          installation,
          payload.repositories_removed.map((r) => r.id),
        );
      }
      await this.record(tx, installation, `github.repositories.${payload.action}`, {
        added: payload.repositories_added.map((r) => r.full_name),
        removed: payload.repositories_removed.map((r) => r.full_name),
      });
      return this.grants.reconcileProjects(tx, installation.organizationId);
    });
    return { result: `repositories ${payload.action}${describe(reconciled)}` };
  }

  private async onRepository(payload: RepositoryEvent): Promise<WebhookOutcome> {
    const installation = await this.linked(payload.installation?.id);
    if (!installation) return { result: 'ignored: installation not linked to an organization' };
    const orgId = installation.organizationId;
    const repo = payload.repository;
    switch (payload.action) {
      case 'renamed':
      case 'transferred': {
        const reconciled = await this.prisma.$transaction(async (tx) => {
          const projects = await this.grants.rename(
            tx,
            orgId,
            repo.id,
            repo.full_name,
            repo.default_branch,
          );
          await this.record(tx, installation, `github.repository.${payload.action}`, {
            repository: repo.full_name,
            projects,
          });
          return this.grants.reconcileProjects(tx, orgId);
        });
        return { result: `repository ${payload.action}${describe(reconciled)}` };
      }
      case 'deleted': {
        const reconciled = await this.prisma.$transaction(async (tx) => {
          await this.grants.repositoryDeleted(tx, orgId, repo.id);
          await this.record(tx, installation, 'github.repository.deleted', {
            repository: repo.full_name,
          });
          return this.grants.reconcileProjects(tx, orgId);
        });
        return { result: `repository deleted${describe(reconciled)}` };
      }
      default:
        return { result: `ignored: repository ${payload.action}` };
    }
  }

  /**
   * Whether the deployment already runs `sha`, or has a deploy of it queued or
   * running: a push re-sent under a new delivery id then queues nothing.
   */
  private async hasCommit(
    deployment: { id: string; organizationId: string; deployedCommitSha: string | null },
    sha: string,
  ): Promise<boolean> {
    if (deployment.deployedCommitSha === sha) return true;
    const pending = await this.prisma.deploy.count({
      where: {
        organizationId: deployment.organizationId,
        deploymentId: deployment.id,
        commitSha: sha,
        status: { in: ['queued', 'running'] },
      },
    });
    return pending > 0;
  }

  /**
   * A push to a deployment's branch deploys it when it touches the project
   * (its root path or a file its include_paths match). When the payload
   * cannot say what changed (no commit list, more commits than GitHub lists,
   * a forced push or a new branch), it deploys anyway.
   */
  private async onPush(payload: PushEvent): Promise<WebhookOutcome> {
    if (!payload.ref.startsWith('refs/heads/')) return { result: 'ignored: not a branch' };
    if (payload.deleted || ZERO_SHA.test(payload.after)) {
      return { result: 'ignored: branch deleted' };
    }
    const installation = await this.linked(payload.installation?.id);
    if (!installation) return { result: 'ignored: installation not linked to an organization' };
    if (installation.suspendedAt) return { result: 'ignored: installation suspended' };
    const orgId = installation.organizationId;
    const branch = payload.ref.slice('refs/heads/'.length);
    const projects = await this.prisma.project.findMany({
      where: {
        organizationId: orgId,
        repositoryAccess: 'granted',
        githubRepository: {
          installationId: installation.id,
          githubRepoId: BigInt(payload.repository.id),
          revokedAt: null,
        },
      },
      include: { deployments: { where: { organizationId: orgId, branch } } },
    });
    const commits = payload.commits ?? [];
    const changed =
      commits.length === 0 ||
      commits.length >= MAX_PUSH_COMMITS ||
      payload.forced ||
      payload.created
        ? null
        : [
            ...new Set(
              commits.flatMap((c) => [
                ...(c.added ?? []),
                ...(c.modified ?? []),
                ...(c.removed ?? []),
              ]),
            ),
          ];
    const deploys: string[] = [];
    for (const project of projects) {
      for (const deployment of project.deployments) {
        if (changed && !touches(changed, project.rootPath, deployment.includePaths)) continue;
        if (await this.hasCommit(deployment, payload.after)) continue;
        const deploy = await this.deploys.request(deployment, 'push', null, payload.after);
        await this.audit.record(orgId, null, null, {
          action: 'deployment.deploy',
          resourceType: 'deployment',
          resourceId: deployment.id,
          details: { deploy_id: deploy.id, trigger: 'push', commit_sha: payload.after, branch },
        });
        deploys.push(deploy.id);
      }
    }
    return {
      result: deploys.length
        ? `push: ${deploys.length} deploy(s) queued`
        : 'push: nothing to deploy',
      deploys,
    };
  }
}

function touches(changed: string[], rootPath: string, includePaths: string[]): boolean {
  try {
    return pushTouchesProject(changed, rootPath, includePaths);
  } catch {
    return false; // a root path outside the repository: no push can touch it
  }
}

function describe(reconciled: ReconcileResult | null): string {
  if (!reconciled) return '';
  const parts: string[] = [];
  if (reconciled.lost.length) parts.push(`${reconciled.lost.length} project(s) lost access`);
  if (reconciled.granted.length)
    parts.push(`${reconciled.granted.length} project(s) regained access`);
  return parts.length ? `; ${parts.join(', ')}` : '';
}
