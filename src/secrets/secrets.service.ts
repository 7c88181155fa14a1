import { Injectable } from '@nestjs/common';
import type { Deployment, Project } from '../generated/prisma/client.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { RequestOrigin } from '../auth/actor.js';
import { UsersRepository } from '../auth/users.repository.js';
import type { Cursor } from '../common/pagination.js';
import { notFound } from '../common/problem.js';
import { orgIdFromJob, type OrgId } from '../database/org-id.js';
import { Transactions } from '../database/transactions.js';
import type { OrgScope } from '../organizations/org-access.js';
import { ProjectsService } from '../projects/projects.service.js';
import { DeploymentsService } from '../deployments/deployments.service.js';
import { decryptValue, encryptValue, secretAad, toBytes } from './crypto.js';
import { DataKeyService } from './data-keys.js';
import { SecretMasker } from './masker.js';
import { SecretsRepository, type SecretMeta, type SecretPlace } from './secrets.repository.js';
import { PROJECT_SCOPE, SECRET_NAME } from './secrets.schemas.js';

/** Where secrets are addressed: a project, or one of its deployments (overrides). */
export interface SecretTarget {
  projectRef: string;
  deploymentRef?: string | undefined;
}

interface ResolvedTarget {
  project: Project;
  deployment: Deployment | null;
  /** The row's scope column: "project" or the deployment id. */
  scope: string;
}

export interface SecretFile {
  /** The variable that receives the file's path. */
  envVar: string;
  /** A safe file name (no path separators, no dots to climb with). */
  fileName: string;
  content: string;
}

export interface RunSecrets {
  env: Record<string, string>;
  files: SecretFile[];
  /** Masks every value (and its encoded forms) in the run's log lines. */
  masker: SecretMasker;
}

export class SecretDecryptionError extends Error {
  constructor(name: string, scope: string) {
    super(
      `secret ${name} (${scope === PROJECT_SCOPE ? 'project' : 'deployment'}) could not be decrypted`,
    );
    this.name = 'SecretDecryptionError';
  }
}

/** A file name for a secret file: its (already safe) name, `.json` when the content is JSON. */
export function secretFileName(name: string, content: string): string {
  const base = SECRET_NAME.test(name) ? name : name.replace(/[^A-Za-z0-9_]/g, '_') || 'secret';
  const trimmed = content.trimStart();
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      JSON.parse(content);
      return `${base}.json`;
    } catch {
      // not JSON: keep the bare name
    }
  }
  return base;
}

/**
 * Secrets: environment variables (or files) for a project's runs, set per
 * project and overridden per deployment. Write-only: values are encrypted
 * on the way in and only ever decrypted for a run (`forRun`).
 */
@Injectable()
export class SecretsService {
  constructor(
    private readonly secrets: SecretsRepository,
    private readonly users: UsersRepository,
    private readonly keys: DataKeyService,
    private readonly projects: ProjectsService,
    private readonly deployments: DeploymentsService,
    private readonly transactions: Transactions,
    private readonly audit: AuditRepository,
  ) {}

  private async resolve(orgId: OrgId, target: SecretTarget): Promise<ResolvedTarget> {
    if (target.deploymentRef === undefined) {
      const project = await this.projects.get(orgId, target.projectRef);
      return { project, deployment: null, scope: PROJECT_SCOPE };
    }
    const { project, deployment } = await this.deployments.get(
      orgId,
      target.projectRef,
      target.deploymentRef,
    );
    return { project, deployment, scope: deployment.id };
  }

  async list(
    orgId: OrgId,
    target: SecretTarget,
    take: number,
    cursor?: Cursor,
  ): Promise<SecretMeta[]> {
    const { project, scope } = await this.resolve(orgId, target);
    return this.secrets.list(orgId, { projectId: project.id, scope }, take, cursor);
  }

  async get(orgId: OrgId, target: SecretTarget, name: string): Promise<SecretMeta> {
    const { project, scope } = await this.resolve(orgId, target);
    const secret = await this.secrets.find(orgId, { projectId: project.id, scope }, name);
    if (!secret) throw notFound('Secret');
    return secret;
  }

  /** Creates or replaces a secret; `created` says which. The value never leaves this method. */
  async set(
    org: OrgScope,
    origin: RequestOrigin,
    target: SecretTarget,
    name: string,
    input: { value: string; kind: 'env' | 'file' },
  ): Promise<{ secret: SecretMeta; created: boolean }> {
    const { orgId } = org;
    const { project, deployment, scope } = await this.resolve(orgId, target);
    const dataKey = await this.keys.forOrganization(orgId);
    const sealed = encryptValue(
      dataKey,
      input.value,
      secretAad({ organizationId: orgId, projectId: project.id, scope, name }),
    );
    const encrypted = {
      ciphertext: toBytes(sealed.ciphertext),
      iv: toBytes(sealed.iv),
      authTag: toBytes(sealed.authTag),
    };
    const place: SecretPlace = { projectId: project.id, scope };
    return this.transactions.run(async (tx) => {
      const existing = await this.secrets.find(orgId, place, name, tx);
      const secret = await this.secrets.upsert(
        orgId,
        { ...place, deploymentId: deployment?.id ?? null },
        name,
        { kind: input.kind, sealed: encrypted, actorId: org.actor.user.id },
        tx,
      );
      await this.audit.recordAs(
        org,
        origin,
        {
          action: 'secret.set',
          resourceType: 'secret',
          resourceId: secret.id,
          details: {
            name,
            kind: input.kind,
            project: project.slug,
            ...(deployment ? { deployment: deployment.slug } : {}),
            created: !existing,
          },
        },
        tx,
      );
      return { secret, created: !existing };
    });
  }

  async delete(
    org: OrgScope,
    origin: RequestOrigin,
    target: SecretTarget,
    name: string,
  ): Promise<void> {
    const { orgId } = org;
    const { project, deployment, scope } = await this.resolve(orgId, target);
    await this.transactions.run(async (tx) => {
      const secret = await this.secrets.find(orgId, { projectId: project.id, scope }, name, tx);
      if (!secret) throw notFound('Secret');
      await this.secrets.delete(orgId, secret.id, tx);
      await this.audit.recordAs(
        org,
        origin,
        {
          action: 'secret.delete',
          resourceType: 'secret',
          resourceId: secret.id,
          details: {
            name,
            project: project.slug,
            ...(deployment ? { deployment: deployment.slug } : {}),
          },
        },
        tx,
      );
    });
  }

  /** Logins of who created and last set these secrets (by user id), for presenting them. */
  loginsOf(rows: SecretMeta[]): Promise<Map<string, string>> {
    const ids = rows.flatMap((r) => [r.createdById, r.updatedById]).filter((v) => v !== null);
    return this.users.loginsById([...new Set(ids)]);
  }

  /**
   * Decrypted secrets for one run of a deployment: project secrets overridden
   * by the deployment's. `kind: 'file'` secrets become files whose path the
   * executor puts in the variable named like the secret. Throws
   * SecretDecryptionError (naming the secret, never its value) when a value
   * cannot be decrypted, so the run fails with a clear reason.
   *
   * Called by the worker's run executor with the organization of its
   * `run.execute` job (a plain string until that caller is converted).
   */
  async forRun(
    organizationId: string,
    projectId: string,
    deploymentId: string,
  ): Promise<RunSecrets> {
    const orgId = orgIdFromJob({ organizationId });
    const rows = await this.secrets.forDeployment(orgId, projectId, deploymentId);
    if (!rows.length) return { env: {}, files: [], masker: SecretMasker.none };
    const dataKey = await this.keys.forOrganization(orgId);
    // Project secrets first, so the deployment's replace them by name.
    rows.sort((a, b) => Number(a.scope !== PROJECT_SCOPE) - Number(b.scope !== PROJECT_SCOPE));
    const effective = new Map<string, { kind: 'env' | 'file'; value: string }>();
    for (const row of rows) {
      let value: string;
      try {
        value = decryptValue(
          dataKey,
          {
            ciphertext: Buffer.from(row.ciphertext),
            iv: Buffer.from(row.iv),
            authTag: Buffer.from(row.authTag),
          },
          secretAad(row),
        ).toString('utf8');
      } catch {
        throw new SecretDecryptionError(row.name, row.scope);
      }
      effective.set(row.name, { kind: row.kind, value });
    }
    const env: Record<string, string> = {};
    const files: SecretFile[] = [];
    for (const [name, { kind, value }] of [...effective].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (kind === 'file')
        files.push({ envVar: name, fileName: secretFileName(name, value), content: value });
      else env[name] = value;
    }
    return {
      env,
      files,
      masker: new SecretMasker([...effective.values()].map((s) => s.value)),
    };
  }
}
