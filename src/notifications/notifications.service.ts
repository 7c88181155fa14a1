import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { PrismaService } from '../database/prisma.service.js';
import type {
  NotificationChannel,
  NotificationDelivery,
  Prisma,
} from '../generated/prisma/client.js';
import { AuditService } from '../audit/audit.service.js';
import type { RequestOrigin } from '../auth/actor.js';
import { pastCursor, type Cursor } from '../common/pagination.js';
import { notFound, validationFailed } from '../common/problem.js';
import type { OrgScope } from '../organizations/org-access.js';
import { can } from '../organizations/permissions.js';
import { ProjectsRepository } from '../projects/projects.repository.js';
import { QueueService } from '../queue/queue.service.js';
import { openValue, sealValue, toBytes } from '../secrets/crypto.js';
import { DataKeyService } from '../secrets/data-keys.js';
import {
  TEST_EVENT_TYPE,
  eventIdempotencyKey,
  filtersMatch,
  parseFilters,
  subjectData,
  type EventData,
  type NotificationEvent,
  type NotificationFilter,
  type WebhookEnvelope,
} from './events.js';
import { isSlackWebhook } from './messages.js';
import { NotificationSettings } from './notification-settings.js';
import { checkTarget } from './notifications.schemas.js';
import { newSigningSecret } from './webhook-signature.js';

/** One delivery attempt, as recorded on the delivery (and shown by the API). */
export interface DeliveryAttempt {
  attempt: number;
  at: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

export interface ChannelInput {
  kind: 'webhook' | 'email';
  target: string;
  active: boolean;
  project?: string | null | undefined;
  filters: NotificationFilter[];
}

export interface ChannelChanges {
  target?: string | undefined;
  active?: boolean | undefined;
  project?: string | null | undefined;
  filters?: NotificationFilter[] | undefined;
}

/** The AAD binding a channel's encrypted signing secret to the channel. */
export const signingSecretAad = (organizationId: string, channelId: string): string =>
  JSON.stringify(['meltano-cloud:notification-signing-secret:v1', organizationId, channelId]);

/** A webhook URL without path, query or credentials, for people who may not edit channels. */
export function redactTarget(kind: 'webhook' | 'email', target: string): string {
  if (kind !== 'webhook') return target;
  try {
    const url = new URL(target);
    return url.pathname === '/' && !url.search ? url.origin : `${url.origin}/…`;
  } catch {
    return '…';
  }
}

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Notification channels (webhook or email recipients with filters) and the
 * events sent to them. `emit` is how the rest of the system reports an event;
 * deliveries happen on the worker (`notification.deliver`).
 */
@Injectable()
export class NotificationsService {
  private readonly logger = new Logger('notifications');

  constructor(
    private readonly prisma: PrismaService,
    private readonly projects: ProjectsRepository,
    private readonly keys: DataKeyService,
    private readonly queues: QueueService,
    private readonly audit: AuditService,
    private readonly settings: NotificationSettings,
  ) {}

  // ---- events -------------------------------------------------------------------------------

  /**
   * Records a delivery for every active channel (the organization's and the
   * project's) whose filters match, and queues them. Idempotent per channel
   * and event (`idempotencyKey`). Never throws: a notification problem is
   * logged and must not affect the run or deploy it reports. Returns the ids
   * of the deliveries queued.
   */
  async emit(organizationId: string, event: NotificationEvent): Promise<string[]> {
    try {
      const channels = await this.prisma.notificationChannel.findMany({
        where: {
          organizationId,
          active: true,
          OR: [{ projectId: null }, { projectId: event.projectId }],
        },
        orderBy: { createdAt: 'asc' },
      });
      const matching = channels.filter((c) => filtersMatch(parseFilters(c.filters), event));
      if (!matching.length) return [];
      const key = eventIdempotencyKey(event);
      const envelope: WebhookEnvelope = {
        id: randomUUID(),
        type: event.type,
        idempotency_key: key,
        created_at: (event.occurredAt ?? new Date()).toISOString(),
        data: await this.eventData(organizationId, event),
      };
      const queued: string[] = [];
      for (const channel of matching) {
        try {
          const id = await this.recordDelivery(
            organizationId,
            channel.id,
            event.type,
            key,
            envelope,
          );
          if (!id) continue;
          await this.queues.enqueue('notification.deliver', { organizationId, deliveryId: id });
          queued.push(id);
        } catch (err) {
          this.logger.warn({
            msg: 'notification not queued',
            channel_id: channel.id,
            event: event.type,
            err: errorMessage(err),
          });
        }
      }
      return queued;
    } catch (err) {
      this.logger.warn({
        msg: 'notification event dropped',
        event: event.type,
        subject: event.subject.id,
        err: errorMessage(err),
      });
      return [];
    }
  }

  private async eventData(organizationId: string, event: NotificationEvent): Promise<EventData> {
    const [organization, project, deployment] = await Promise.all([
      this.prisma.organization.findUniqueOrThrow({
        where: { id: organizationId },
        select: { id: true, slug: true, name: true },
      }),
      this.prisma.project.findFirst({
        where: { id: event.projectId, organizationId },
        select: { id: true, slug: true, name: true },
      }),
      this.prisma.deployment.findFirst({
        where: { id: event.deploymentId, organizationId },
        select: { id: true, slug: true, name: true },
      }),
    ]);
    return {
      organization,
      project,
      deployment:
        deployment ??
        (event.deploymentSlug
          ? { id: event.deploymentId, slug: event.deploymentSlug, name: event.deploymentSlug }
          : null),
      schedule: event.scheduleName ?? null,
      [event.subject.kind]: subjectData(event.subject),
    };
  }

  /** The delivery's id, or null when this event already reached this channel (or finally failed). */
  private async recordDelivery(
    organizationId: string,
    channelId: string,
    eventType: string,
    idempotencyKey: string,
    envelope: WebhookEnvelope,
  ): Promise<string | null> {
    const [created] = await this.prisma.notificationDelivery.createManyAndReturn({
      data: [
        {
          organizationId,
          channelId,
          eventType,
          idempotencyKey,
          payload: envelope as unknown as Prisma.InputJsonValue,
        },
      ],
      skipDuplicates: true,
      select: { id: true },
    });
    if (created) return created.id;
    // Emitted before: queue it again only if it has not finished (the job id dedupes a live job).
    const existing = await this.prisma.notificationDelivery.findUnique({
      where: { channelId_idempotencyKey: { channelId, idempotencyKey } },
      select: { id: true, status: true },
    });
    return existing?.status === 'pending' ? existing.id : null;
  }

  /** Sends a test event to one channel (active or not), one attempt. */
  async sendTest(scope: OrgScope, origin: RequestOrigin, id: string): Promise<string> {
    const organizationId = scope.organization.id;
    const channel = await this.get(organizationId, id);
    const project = channel.projectId
      ? await this.prisma.project.findFirst({
          where: { id: channel.projectId, organizationId },
          select: { id: true, slug: true, name: true },
        })
      : null;
    const key = `test:${randomUUID()}`;
    const envelope: WebhookEnvelope = {
      id: randomUUID(),
      type: TEST_EVENT_TYPE,
      idempotency_key: key,
      created_at: new Date().toISOString(),
      data: {
        organization: {
          id: organizationId,
          slug: scope.organization.slug,
          name: scope.organization.name,
        },
        project,
        deployment: null,
        schedule: null,
        message: `A test notification sent by ${scope.actor.user.login}. If you can read it, this channel works.`,
      },
    };
    const delivery = await this.prisma.notificationDelivery.create({
      data: {
        organizationId,
        channelId: channel.id,
        eventType: TEST_EVENT_TYPE,
        idempotencyKey: key,
        payload: envelope as unknown as Prisma.InputJsonValue,
      },
    });
    await this.audit.record(organizationId, scope.actor, origin, {
      action: 'notification.test',
      resourceType: 'notification_channel',
      resourceId: channel.id,
      details: { delivery_id: delivery.id },
    });
    await this.queues.enqueue('notification.test', { organizationId, deliveryId: delivery.id });
    return delivery.id;
  }

  // ---- channels -----------------------------------------------------------------------------

  async get(organizationId: string, id: string): Promise<NotificationChannel> {
    const channel = await this.prisma.notificationChannel.findFirst({
      where: { id, organizationId },
    });
    if (!channel) throw notFound('Notification channel');
    return channel;
  }

  async list(
    organizationId: string,
    take: number,
    projectRef?: string,
    cursor?: Cursor,
  ): Promise<NotificationChannel[]> {
    let projectId: string | undefined;
    if (projectRef !== undefined) {
      const project = await this.projects.find(organizationId, projectRef);
      if (!project) return [];
      projectId = project.id;
    }
    return this.prisma.notificationChannel.findMany({
      where: {
        organizationId,
        ...(projectId ? { projectId } : {}),
        ...pastCursor('createdAt', cursor, 'asc', true),
      },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take,
    });
  }

  private async projectId(organizationId: string, ref: string | null): Promise<string | null> {
    if (ref === null) return null;
    const project = await this.projects.find(organizationId, ref);
    if (!project) {
      throw validationFailed([
        { field: 'body.project', message: 'no project with this id or slug in the organization' },
      ]);
    }
    return project.id;
  }

  /** Creates a channel; webhooks get a signing secret, returned here once and stored encrypted. */
  async create(
    scope: OrgScope,
    origin: RequestOrigin,
    input: ChannelInput,
  ): Promise<{ channel: NotificationChannel; signingSecret: string | null }> {
    const organizationId = scope.organization.id;
    const projectId = await this.projectId(organizationId, input.project ?? null);
    const id = randomUUID();
    let signingSecret: string | null = null;
    let sealed: Buffer | null = null;
    if (input.kind === 'webhook') {
      signingSecret = newSigningSecret();
      const dataKey = await this.keys.forOrganization(organizationId);
      sealed = sealValue(dataKey, signingSecret, signingSecretAad(organizationId, id));
    }
    const channel = await this.prisma.$transaction(async (tx) => {
      const row = await tx.notificationChannel.create({
        data: {
          id,
          organizationId,
          projectId,
          kind: input.kind,
          target: input.target,
          active: input.active,
          filters: input.filters,
          signingSecret: sealed ? toBytes(sealed) : null,
        },
      });
      await this.audit.record(
        organizationId,
        scope.actor,
        origin,
        {
          action: 'notification.create',
          resourceType: 'notification_channel',
          resourceId: id,
          details: {
            kind: input.kind,
            target: redactTarget(input.kind, input.target),
            project_id: projectId,
            active: input.active,
          },
        },
        tx,
      );
      return row;
    });
    return { channel, signingSecret };
  }

  async update(
    scope: OrgScope,
    origin: RequestOrigin,
    id: string,
    changes: ChannelChanges,
  ): Promise<NotificationChannel> {
    const organizationId = scope.organization.id;
    const channel = await this.get(organizationId, id);
    if (changes.target !== undefined) {
      const problem = checkTarget(channel.kind, changes.target);
      if (problem) throw validationFailed([{ field: 'body.target', message: problem }]);
    }
    const projectId =
      changes.project !== undefined
        ? await this.projectId(organizationId, changes.project)
        : undefined;
    return this.prisma.$transaction(async (tx) => {
      const row = await tx.notificationChannel.update({
        where: { id: channel.id, organizationId },
        data: {
          ...(changes.target !== undefined ? { target: changes.target } : {}),
          ...(changes.active !== undefined ? { active: changes.active } : {}),
          ...(projectId !== undefined ? { projectId } : {}),
          ...(changes.filters !== undefined ? { filters: changes.filters } : {}),
        },
      });
      await this.audit.record(
        organizationId,
        scope.actor,
        origin,
        {
          action: 'notification.update',
          resourceType: 'notification_channel',
          resourceId: channel.id,
          details: {
            ...(changes.target !== undefined
              ? { target: redactTarget(channel.kind, changes.target) }
              : {}),
            ...(changes.active !== undefined ? { active: changes.active } : {}),
            ...(projectId !== undefined ? { project_id: projectId } : {}),
            ...(changes.filters !== undefined ? { filters: changes.filters.length } : {}),
          },
        },
        tx,
      );
      return row;
    });
  }

  async delete(scope: OrgScope, origin: RequestOrigin, id: string): Promise<void> {
    const organizationId = scope.organization.id;
    const channel = await this.get(organizationId, id);
    await this.prisma.$transaction(async (tx) => {
      await tx.notificationChannel.delete({ where: { id: channel.id, organizationId } });
      await this.audit.record(
        organizationId,
        scope.actor,
        origin,
        {
          action: 'notification.delete',
          resourceType: 'notification_channel',
          resourceId: channel.id,
          details: { kind: channel.kind, target: redactTarget(channel.kind, channel.target) },
        },
        tx,
      );
    });
  }

  /** The channel's signing secret in clear (for signing deliveries), or null for email channels. */
  async signingSecret(channel: NotificationChannel): Promise<string | null> {
    if (!channel.signingSecret) return null;
    const dataKey = await this.keys.forOrganization(channel.organizationId);
    return openValue(
      dataKey,
      Buffer.from(channel.signingSecret),
      signingSecretAad(channel.organizationId, channel.id),
    );
  }

  async deliveries(
    organizationId: string,
    channelId: string,
    take: number,
    status?: 'pending' | 'delivered' | 'failed',
    cursor?: Cursor,
  ): Promise<NotificationDelivery[]> {
    const channel = await this.get(organizationId, channelId);
    return this.prisma.notificationDelivery.findMany({
      where: {
        organizationId,
        channelId: channel.id,
        ...(status ? { status } : {}),
        ...pastCursor('createdAt', cursor, 'desc', true),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take,
    });
  }

  // ---- presenting ---------------------------------------------------------------------------

  presentChannel(channel: NotificationChannel, scope: OrgScope) {
    const canEdit = can(scope.membership.role, 'notification:write');
    return {
      id: channel.id,
      kind: channel.kind,
      target: canEdit ? channel.target : redactTarget(channel.kind, channel.target),
      active: channel.active,
      project_id: channel.projectId,
      filters: parseFilters(channel.filters),
      slack: channel.kind === 'webhook' && isSlackWebhook(channel.target, this.settings.slackHosts),
      created_at: channel.createdAt.toISOString(),
      updated_at: channel.updatedAt.toISOString(),
    };
  }
}

export function presentDelivery(d: NotificationDelivery) {
  return {
    id: d.id,
    channel_id: d.channelId,
    event_type: d.eventType,
    idempotency_key: d.idempotencyKey,
    status: d.status,
    attempts: Array.isArray(d.attempts) ? (d.attempts as unknown as DeliveryAttempt[]) : [],
    delivered_at: d.deliveredAt?.toISOString() ?? null,
    created_at: d.createdAt.toISOString(),
    payload: (d.payload ?? {}) as Record<string, unknown>,
  };
}
