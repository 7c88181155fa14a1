import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Secret, SecretKind } from '../generated/prisma/client.js';
import { type Cursor, pastCursor } from '../common/pagination.js';
import type { OrgId } from '../database/org-id.js';
import { clientOf } from '../database/repository.js';
import type { Tx } from '../database/tx.js';
import { PROJECT_SCOPE } from './secrets.schemas.js';

/** A secret without its value. */
export type SecretMeta = Omit<Secret, 'ciphertext' | 'iv' | 'authTag'>;

/** Where a secret lives: a project, and "project" or a deployment id as its scope. */
export interface SecretPlace {
  projectId: string;
  scope: string;
}

export interface SealedSecret {
  ciphertext: Uint8Array<ArrayBuffer>;
  iv: Uint8Array<ArrayBuffer>;
  authTag: Uint8Array<ArrayBuffer>;
}

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

/** Secrets (encrypted values and their metadata), scoped by organization. */
@Injectable()
export class SecretsRepository {
  constructor(private readonly prisma: PrismaService) {}

  list(orgId: OrgId, place: SecretPlace, take: number, cursor?: Cursor): Promise<SecretMeta[]> {
    return this.prisma.secret.findMany({
      where: { organizationId: orgId, ...place, ...pastCursor('name', cursor, 'asc') },
      select: metaSelect,
      orderBy: [{ name: 'asc' }, { id: 'asc' }],
      take,
    });
  }

  find(orgId: OrgId, place: SecretPlace, name: string, tx?: Tx): Promise<SecretMeta | null> {
    return clientOf(this.prisma, tx).secret.findFirst({
      where: { organizationId: orgId, ...place, name },
      select: metaSelect,
    });
  }

  /** Creates or replaces the value (and kind) of a secret. */
  upsert(
    orgId: OrgId,
    place: SecretPlace & { deploymentId: string | null },
    name: string,
    value: { kind: SecretKind; sealed: SealedSecret; actorId: string },
    tx?: Tx,
  ): Promise<SecretMeta> {
    const { projectId, scope, deploymentId } = place;
    const { kind, sealed, actorId } = value;
    return clientOf(this.prisma, tx).secret.upsert({
      where: { projectId_scope_name: { projectId, scope, name }, organizationId: orgId },
      create: {
        organizationId: orgId,
        projectId,
        deploymentId,
        scope,
        name,
        kind,
        ...sealed,
        createdById: actorId,
        updatedById: actorId,
      },
      update: { kind, ...sealed, updatedById: actorId },
      select: metaSelect,
    });
  }

  async delete(orgId: OrgId, id: string, tx?: Tx): Promise<void> {
    await clientOf(this.prisma, tx).secret.delete({ where: { id, organizationId: orgId } });
  }

  /** With their values: the project's secrets and the deployment's overrides. */
  forDeployment(orgId: OrgId, projectId: string, deploymentId: string): Promise<Secret[]> {
    return this.prisma.secret.findMany({
      where: {
        organizationId: orgId,
        projectId,
        OR: [{ scope: PROJECT_SCOPE }, { scope: deploymentId, deploymentId }],
      },
    });
  }
}
