import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { Prisma } from '../generated/prisma/client.js';
import type { Actor, RequestOrigin } from '../auth/actor.js';

export interface AuditEntry {
  action: string;
  resourceType: string;
  resourceId?: string | null;
  details?: Prisma.InputJsonValue;
}

type Db = Pick<PrismaService, 'auditEvent'>;

/** Who changed what, when and from where; readable by admins. */
@Injectable()
export class AuditService {
  constructor(private readonly prisma: PrismaService) {}

  /** Pass a transaction client as `db` to record the event atomically with the change. */
  async record(
    organizationId: string,
    actor: Actor | null,
    origin: RequestOrigin | null,
    entry: AuditEntry,
    db: Db = this.prisma,
  ): Promise<void> {
    await db.auditEvent.create({
      data: {
        organizationId,
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
}
