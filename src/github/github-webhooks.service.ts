import { Injectable, Logger } from '@nestjs/common';
import { z } from 'zod';
import { AuditRepository } from '../audit/audit.repository.js';
import { isUniqueViolation } from '../common/db-errors.js';
import { conflict, validationFailed } from '../common/problem.js';
import { toFieldErrors } from '../common/zod.js';
import { orgIdFromVerifiedWebhook, type OrgId } from '../database/org-id.js';
import { SystemRepository } from '../database/system.repository.js';
import { Transactions } from '../database/transactions.js';
import type { Tx } from '../database/tx.js';
import { DeploysService } from '../deploys/deploys.service.js';
import type { GithubInstallation, Prisma } from '../generated/prisma/client.js';
import { pushTouchesProject } from '../meltano/meltano-project.js';
import { GithubAppService } from './github-app.service.js';
import { GithubGrantsService, type ReconcileResult } from './github-grants.service.js';
import { GithubAppRepository } from './github.repository.js';
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

/** A linked installation and its organization, minted once the delivery's signature was checked. */
interface Linked {
  orgId: OrgId;
  installation: GithubInstallation;
}

/**
 * Keeps grants current from GitHub's webhooks and deploys on push. Events
 * for installations not linked to an organization are acknowledged and
 * ignored (the setup callback links them). Called only for deliveries whose
 * signature GithubWebhooksController verified.
 */
@Injectable()
export class GithubWebhooksService {
  private readonly logger = new Logger('github-webhooks');

  constructor(
    private readonly transactions: Transactions,
    private readonly system: SystemRepository,
    private readonly github: GithubAppRepository,
    private readonly app: GithubAppService,
    private readonly grants: GithubGrantsService,
    private readonly deploys: DeploysService,
    private readonly audit: AuditRepository,
  ) {}

  /**
   * Records the delivery id so a replay is refused, then handles the event;
   * a delivery that could not be handled is forgotten so GitHub's
   * redelivery of it is processed.
   */
  async receive(
    deliveryId: string,
    event: string,
    payload: unknown,
  ): Promise<WebhookOutcome & { delivery: string; event: string }> {
    try {
      await this.github.recordDelivery(deliveryId, event);
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw conflict(`Delivery ${deliveryId} was already received; replays are refused.`);
      }
      throw err;
    }
    try {
      const outcome = await this.handle(event, payload);
      this.logger.log({ msg: 'webhook', event, delivery: deliveryId, result: outcome.result });
      return { delivery: deliveryId, event, ...outcome };
    } catch (err) {
      await this.github.forgetDelivery(deliveryId).catch(() => undefined);
      throw err;
    }
  }

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

  /** The organization the installation is linked to (cross-tenant by design: GitHub's id). */
  private async linked(installationId: number | undefined): Promise<Linked | null> {
    if (installationId === undefined) return null;
    const installation = await this.system.githubInstallationAcrossTenants(installationId);
    if (!installation) return null;
    return { orgId: orgIdFromVerifiedWebhook(installation.organizationId), installation };
  }

  private async record(
    { orgId, installation }: Linked,
    action: string,
    details: Prisma.InputJsonValue,
    tx: Tx,
  ): Promise<void> {
    await this.audit.record(
      orgId,
      null,
      null,
      {
        action,
        resourceType: 'github_installation',
        resourceId: installation.id,
        details,
      },
      tx,
    );
  }

  private async onInstallation(payload: InstallationEvent): Promise<WebhookOutcome> {
    const linked = await this.linked(payload.installation.id);
    if (!linked) return { result: 'ignored: installation not linked to an organization' };
    const { orgId, installation } = linked;
    let reconciled: ReconcileResult | null = null;
    switch (payload.action) {
      case 'deleted':
        await this.transactions.run(async (tx) => {
          await this.github.removeInstallation(orgId, installation.id, tx);
          reconciled = await this.grants.reconcileProjects(orgId, tx);
          await this.record(
            linked,
            'github.installation.deleted',
            {
              installation_id: Number(installation.installationId),
              account: installation.accountLogin,
            },
            tx,
          );
        });
        break;
      case 'suspend':
      case 'unsuspend': {
        const suspended = payload.action === 'suspend';
        await this.transactions.run(async (tx) => {
          await this.github.setSuspended(orgId, installation, suspended, tx);
          reconciled = await this.grants.reconcileProjects(orgId, tx);
          await this.record(
            linked,
            `github.installation.${payload.action}`,
            { installation_id: Number(installation.installationId) },
            tx,
          );
        });
        // Grants may have changed while suspended (GitHub sends no events then): re-read them.
        if (!suspended) reconciled = (await this.resync(linked)) ?? reconciled;
        break;
      }
      case 'created':
      case 'new_permissions_accepted': {
        const repositories = payload.repositories;
        const selected = payload.installation.repository_selection !== 'all';
        await this.transactions.run(async (tx) => {
          if (repositories) {
            const listed = repositories.map((r) => ({
              id: r.id,
              fullName: r.full_name,
              private: r.private ?? true,
            }));
            if (selected) await this.grants.syncRepositories(orgId, installation.id, listed, tx);
            else await this.github.grant(orgId, installation.id, listed, tx);
          }
          reconciled = await this.grants.reconcileProjects(orgId, tx);
        });
        break;
      }
      default:
        return { result: `ignored: installation ${payload.action}` };
    }
    return { result: `installation ${payload.action}${describe(reconciled)}` };
  }

  /** Re-reads the installation's repositories from GitHub; null when GitHub cannot be asked. */
  private async resync({ orgId, installation }: Linked): Promise<ReconcileResult | null> {
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
    return this.transactions.run(async (tx) => {
      await this.grants.syncRepositories(orgId, installation.id, repositories, tx);
      return this.grants.reconcileProjects(orgId, tx);
    });
  }

  private async onInstallationRepositories(
    payload: InstallationRepositoriesEvent,
  ): Promise<WebhookOutcome> {
    const linked = await this.linked(payload.installation.id);
    if (!linked) return { result: 'ignored: installation not linked to an organization' };
    const { orgId, installation } = linked;
    if (payload.action !== 'added' && payload.action !== 'removed') {
      return { result: `ignored: installation_repositories ${payload.action}` };
    }
    const reconciled = await this.transactions.run(async (tx) => {
      if (payload.repositories_added.length) {
        await this.github.grant(
          orgId,
          installation.id,
          payload.repositories_added.map((r) => ({
            id: r.id,
            fullName: r.full_name,
            private: r.private ?? true,
          })),
          tx,
        );
      }
      if (payload.repositories_removed.length) {
        await this.github.revoke(
          orgId,
          installation.id,
          payload.repositories_removed.map((r) => r.id),
          tx,
        );
      }
      await this.record(
        linked,
        `github.repositories.${payload.action}`,
        {
          added: payload.repositories_added.map((r) => r.full_name),
          removed: payload.repositories_removed.map((r) => r.full_name),
        },
        tx,
      );
      return this.grants.reconcileProjects(orgId, tx);
    });
    return { result: `repositories ${payload.action}${describe(reconciled)}` };
  }

  private async onRepository(payload: RepositoryEvent): Promise<WebhookOutcome> {
    const linked = await this.linked(payload.installation?.id);
    if (!linked) return { result: 'ignored: installation not linked to an organization' };
    const { orgId } = linked;
    const repo = payload.repository;
    switch (payload.action) {
      case 'renamed':
      case 'transferred': {
        const reconciled = await this.transactions.run(async (tx) => {
          const projects = await this.github.rename(
            orgId,
            repo.id,
            repo.full_name,
            repo.default_branch,
            tx,
          );
          await this.record(
            linked,
            `github.repository.${payload.action}`,
            { repository: repo.full_name, projects },
            tx,
          );
          return this.grants.reconcileProjects(orgId, tx);
        });
        return { result: `repository ${payload.action}${describe(reconciled)}` };
      }
      case 'deleted': {
        const reconciled = await this.transactions.run(async (tx) => {
          await this.github.repositoryDeleted(orgId, repo.id, tx);
          await this.record(
            linked,
            'github.repository.deleted',
            { repository: repo.full_name },
            tx,
          );
          return this.grants.reconcileProjects(orgId, tx);
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
    const linked = await this.linked(payload.installation?.id);
    if (!linked) return { result: 'ignored: installation not linked to an organization' };
    const { orgId, installation } = linked;
    if (installation.suspendedAt) return { result: 'ignored: installation suspended' };
    const branch = payload.ref.slice('refs/heads/'.length);
    const projects = await this.github.pushedProjects(
      orgId,
      installation.id,
      payload.repository.id,
      branch,
    );
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
        // A re-sent push (new delivery id) of a commit already deployed or queued deploys nothing.
        if (await this.deploys.hasCommit(orgId, deployment, payload.after)) continue;
        const deploy = await this.deploys.request(orgId, deployment, {
          trigger: 'push',
          actor: null,
          commitSha: payload.after,
          audit: { origin: null, details: { trigger: 'push', commit_sha: payload.after, branch } },
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
