import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Deployment, Project, Secret } from '../generated/prisma/client.js';
import { AuditService } from '../audit/audit.service.js';
import type { RequestOrigin } from '../auth/actor.js';
import { type Cursor, pastCursor } from '../common/pagination.js';
import { notFound } from '../common/problem.js';
import type { OrgScope } from '../organizations/org-access.js';
import { ProjectsService } from '../projects/projects.service.js';
import { DeploymentsService } from '../deployments/deployments.service.js';
import { decryptValue, encryptValue, secretAad, toBytes } from './crypto.js';
import { DataKeyService } from './data-keys.js';
import { SecretMasker } from './masker.js';
import { SECRET_NAME, type SecretOut } from './secrets.schemas.js';

export const PROJECT_SCOPE = 'project';

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

type SecretMeta = Omit<Secret, 'ciphertext' | 'iv' | 'authTag'>;

const metaSelect = {
  id: true,
  organizationId: true,
  projectId: true,
  deploymentId: true,
  scope: true,
  name: true,
  kind: true,
  createdById: true,
  updatedById: true,
  createdAt: true,
  updatedAt: true,
} as const;

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
    private readonly prisma: PrismaService,
    private readonly keys: DataKeyService,
    private readonly projects: ProjectsService,
    private readonly deployments: DeploymentsService,
    private readonly audit: AuditService,
  ) {}

  private async resolve(organizationId: string, target: SecretTarget): Promise<ResolvedTarget> {
    if (target.deploymentRef === undefined) {
      const project = await this.projects.get(organizationId, target.projectRef);
      return { project, deployment: null, scope: PROJECT_SCOPE };
    }
    const { project, deployment } = await this.deployments.get(
      organizationId,
      target.projectRef,
      target.deploymentRef,
    );
    return { project, deployment, scope: deployment.id };
  }

  async list(
    organizationId: string,
    target: SecretTarget,
    take: number,
    cursor?: Cursor,
  ): Promise<SecretMeta[]> {
    const { project, scope } = await this.resolve(organizationId, target);
    return this.prisma.secret.findMany({
      where: {
        organizationId,
        projectId: project.id,
        scope,
        ...pastCursor('name', cursor, 'asc'),
      },
      select: metaSelect,
      orderBy: [{ name: 'asc' }, { id: 'asc' }],
      take,
    });
  }

  async get(organizationId: string, target: SecretTarget, name: string): Promise<SecretMeta> {
    const { project, scope } = await this.resolve(organizationId, target);
    const secret = await this.prisma.secret.findFirst({
      where: { organizationId, projectId: project.id, scope, name },
      select: metaSelect,
    });
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
    const organizationId = org.organization.id;
    const { project, deployment, scope } = await this.resolve(organizationId, target);
    const dataKey = await this.keys.forOrganization(organizationId);
    const sealed = encryptValue(
      dataKey,
      input.value,
      secretAad({ organizationId, projectId: project.id, scope, name }),
    );
    const encrypted = {
      ciphertext: toBytes(sealed.ciphertext),
      iv: toBytes(sealed.iv),
      authTag: toBytes(sealed.authTag),
    };
    const actorId = org.actor.user.id;
    return this.prisma.$transaction(async (tx) => {
      const existing = await tx.secret.findUnique({
        where: { projectId_scope_name: { projectId: project.id, scope, name } },
        select: { id: true },
      });
      const secret = await tx.secret.upsert({
        where: { projectId_scope_name: { projectId: project.id, scope, name } },
        create: {
          organizationId,
          projectId: project.id,
          deploymentId: deployment?.id ?? null,
          scope,
          name,
          kind: input.kind,
          ...encrypted,
          createdById: actorId,
          updatedById: actorId,
        },
        update: { kind: input.kind, ...encrypted, updatedById: actorId },
        select: metaSelect,
      });
      await this.audit.record(
        organizationId,
        org.actor,
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
    const organizationId = org.organization.id;
    const { project, deployment, scope } = await this.resolve(organizationId, target);
    await this.prisma.$transaction(async (tx) => {
      const secret = await tx.secret.findFirst({
        where: { organizationId, projectId: project.id, scope, name },
        select: { id: true },
      });
      if (!secret) throw notFound('Secret');
      await tx.secret.delete({ where: { id: secret.id, organizationId } });
      await this.audit.record(
        organizationId,
        org.actor,
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

  /** Logins of who created and last set each secret, for presenting them. */
  async present(rows: SecretMeta[]): Promise<SecretOut[]> {
    const ids = [
      ...new Set(rows.flatMap((r) => [r.createdById, r.updatedById]).filter((v) => v !== null)),
    ];
    const users = ids.length
      ? await this.prisma.user.findMany({
          where: { id: { in: ids } },
          select: { id: true, login: true },
        })
      : [];
    const login = new Map(users.map((u) => [u.id, u.login]));
    return rows.map((s) => ({
      name: s.name,
      kind: s.kind,
      scope: s.scope === PROJECT_SCOPE ? 'project' : 'deployment',
      project_id: s.projectId,
      deployment_id: s.deploymentId,
      created_by: s.createdById ? (login.get(s.createdById) ?? null) : null,
      updated_by: s.updatedById ? (login.get(s.updatedById) ?? null) : null,
      created_at: s.createdAt.toISOString(),
      updated_at: s.updatedAt.toISOString(),
    }));
  }

  /**
   * Decrypted secrets for one run of a deployment: project secrets overridden
   * by the deployment's. `kind: 'file'` secrets become files whose path the
   * executor puts in the variable named like the secret. Throws
   * SecretDecryptionError (naming the secret, never its value) when a value
   * cannot be decrypted, so the run fails with a clear reason.
   */
  async forRun(
    organizationId: string,
    projectId: string,
    deploymentId: string,
  ): Promise<RunSecrets> {
    const rows = await this.prisma.secret.findMany({
      where: {
        organizationId,
        projectId,
        OR: [{ scope: PROJECT_SCOPE }, { scope: deploymentId, deploymentId }],
      },
    });
    if (!rows.length) return { env: {}, files: [], masker: SecretMasker.none };
    const dataKey = await this.keys.forOrganization(organizationId);
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
