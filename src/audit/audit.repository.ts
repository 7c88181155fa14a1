import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { AuditEvent, Prisma } from '../generated/prisma/client.js';
import { pastCursor, type Cursor } from '../common/pagination.js';
import type { Actor, RequestOrigin } from '../auth/actor.js';
import type { OrgId } from '../database/org-id.js';
import { clientOf } from '../database/repository.js';
import type { Tx } from '../database/tx.js';

export interface AuditEntry {
  action: string;
  resourceType: string;
  resourceId?: string | null;
  details?: Prisma.InputJsonValue;
}

/**
 * Who changed what, when and from where; readable by admins. Services record
 * an event with the `Tx` of the change it describes, so both commit or neither.
 */
@Injectable()
export class AuditRepository {
  constructor(private readonly prisma: PrismaService) {}

  async record(
    orgId: OrgId,
    actor: Actor | null,
    origin: RequestOrigin | null,
    entry: AuditEntry,
    tx?: Tx,
  ): Promise<void> {
    await clientOf(this.prisma, tx).auditEvent.create({
      data: {
        organizationId: orgId,
        actorUserId: actor?.user.id ?? null,
        actorLogin: actor?.user.login ?? 'system',
        action: entry.action,
        resourceType: entry.resourceType,
        resourceId: entry.resourceId ?? null,
        ip: origin?.ip ?? null,
        userAgent: origin?.userAgent ?? null,
        details: entry.details ?? {},
      },
    });
  }

  /** `record` for a change made by a signed-in member of the organization (`scope`). */
  recordAs(
    scope: { orgId: OrgId; actor: Actor },
    origin: RequestOrigin,
    entry: AuditEntry,
    tx?: Tx,
  ): Promise<void> {
    return this.record(scope.orgId, scope.actor, origin, entry, tx);
  }

  /** Newest first, optionally within a time range; `take` rows after the cursor. */
  list(
    orgId: OrgId,
    take: number,
    cursor?: Cursor,
    range: { since?: Date | undefined; until?: Date | undefined } = {},
  ): Promise<AuditEvent[]> {
    const { since, until } = range;
    return this.prisma.auditEvent.findMany({
      where: {
        organizationId: orgId,
        createdAt: { ...(since ? { gte: since } : {}), ...(until ? { lte: until } : {}) },
        ...pastCursor('createdAt', cursor, 'desc', true),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take,
    });
  }
}
