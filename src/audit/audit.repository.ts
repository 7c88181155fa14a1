import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type { AuditEvent, Prisma } from '../generated/prisma/client.js';
import { pastCursor, type Cursor } from '../common/pagination.js';
import type { Actor, RequestOrigin } from '../auth/actor.js';
import type { OrgId } from '../database/org-id.js';
import { clientOf } from '../database/repository.js';
import type { Tx } from '../database/tx.js';
import { redactTarget } from '../notifications/notifications.presenter.js';

/** Names to show for a page of events: the actors' display names and each resource's name. */
export interface AuditNames {
  /** User id → display name (null when the user has none). */
  actors: Map<string, string | null>;
  /** `resource_type:resource_id` → a name a person recognizes ("Analytics / prod", "daily load"). */
  resources: Map<string, string>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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

  /**
   * The names behind a page of events, looked up now in this organization (one
   * query per resource type present): a renamed resource shows its new name, a
   * deleted one none (the presenter then falls back to the event's details).
   */
  async names(orgId: OrgId, events: AuditEvent[]): Promise<AuditNames> {
    const ids = (type: string) => [
      ...new Set(
        events.flatMap((e) =>
          e.resourceType === type && e.resourceId && UUID.test(e.resourceId) ? [e.resourceId] : [],
        ),
      ),
    ];
    const where = (type: string) => ({ organizationId: orgId, id: { in: ids(type) } });
    const some = (type: string) => ids(type).length > 0;
    const db = this.prisma;
    const actorIds = [...new Set(events.flatMap((e) => (e.actorUserId ? [e.actorUserId] : [])))];
    const [actors, projects, deployments, schedules, runs, secrets, channels, memberships, orgs] =
      await Promise.all([
        actorIds.length
          ? db.user.findMany({ where: { id: { in: actorIds } }, select: { id: true, name: true } })
          : [],
        some('project')
          ? db.project.findMany({ where: where('project'), select: { id: true, name: true } })
          : [],
        some('deployment')
          ? db.deployment.findMany({
              where: where('deployment'),
              select: { id: true, name: true, project: { select: { name: true } } },
            })
          : [],
        some('schedule')
          ? db.schedule.findMany({
              where: where('schedule'),
              select: { id: true, name: true, deployment: { select: { name: true } } },
            })
          : [],
        some('run')
          ? db.run.findMany({
              where: where('run'),
              select: { id: true, target: true, deployment: { select: { name: true } } },
            })
          : [],
        some('secret')
          ? db.secret.findMany({ where: where('secret'), select: { id: true, name: true } })
          : [],
        some('notification_channel')
          ? db.notificationChannel.findMany({
              where: where('notification_channel'),
              select: { id: true, kind: true, target: true },
            })
          : [],
        some('membership')
          ? db.membership.findMany({
              where: where('membership'),
              select: { id: true, user: { select: { login: true } } },
            })
          : [],
        some('organization')
          ? db.organization.findMany({
              where: { id: { in: ids('organization').filter((id) => id === orgId) } },
              select: { id: true, name: true },
            })
          : [],
      ]);
    const resources = new Map<string, string>();
    const put = (type: string, id: string, name: string) => resources.set(`${type}:${id}`, name);
    for (const p of projects) put('project', p.id, p.name);
    for (const d of deployments) put('deployment', d.id, `${d.project.name} / ${d.name}`);
    for (const s of schedules) put('schedule', s.id, `${s.deployment.name} / ${s.name}`);
    for (const r of runs) put('run', r.id, `${r.deployment.name} / ${r.target}`);
    for (const s of secrets) put('secret', s.id, s.name);
    for (const c of channels)
      put('notification_channel', c.id, `${c.kind} ${redactTarget(c.kind, c.target)}`);
    for (const m of memberships) put('membership', m.id, m.user.login);
    for (const o of orgs) put('organization', o.id, o.name);
    return { actors: new Map(actors.map((u) => [u.id, u.name])), resources };
  }
}
