import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { OrganizationDataKey } from '../generated/prisma/client.js';
import type { OrgId } from '../database/org-id.js';

/** An organization's data key as stored: wrapped by a master key. */
export interface WrappedDataKey {
  encryptedKey: Uint8Array<ArrayBuffer>;
  masterKeyId: string;
}

/** Per-organization data keys (wrapped); one row per organization. */
@Injectable()
export class DataKeysRepository {
  constructor(private readonly prisma: PrismaService) {}

  find(orgId: OrgId): Promise<OrganizationDataKey | null> {
    return this.prisma.organizationDataKey.findUnique({ where: { organizationId: orgId } });
  }

  /** Stores the key unless the organization has one already (the first insert wins), then reads it. */
  async createOrGet(orgId: OrgId, key: WrappedDataKey): Promise<OrganizationDataKey> {
    await this.prisma.organizationDataKey.createMany({
      data: [{ organizationId: orgId, ...key }],
      skipDuplicates: true,
    });
    return this.prisma.organizationDataKey.findUniqueOrThrow({ where: { organizationId: orgId } });
  }

  /** Replaces the wrapped key only if it is still `current` (nobody changed it meanwhile). */
  async rewrap(orgId: OrgId, current: WrappedDataKey, next: WrappedDataKey): Promise<boolean> {
    const { count } = await this.prisma.organizationDataKey.updateMany({
      where: {
        organizationId: orgId,
        masterKeyId: current.masterKeyId,
        encryptedKey: { equals: current.encryptedKey },
      },
      data: { ...next, rotatedAt: new Date() },
    });
    return count === 1;
  }
}
