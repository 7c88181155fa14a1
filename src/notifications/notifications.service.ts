import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type {
  NotificationChannel,
  NotificationDelivery,
  Prisma,
} from '../generated/prisma/client.js';
import { AuditRepository } from '../audit/audit.repository.js';
import type { RequestOrigin } from '../auth/actor.js';
import type { Cursor } from '../common/pagination.js';
import { notFound, validationFailed } from '../common/problem.js';
import { orgIdFromJob, type OrgId } from '../database/org-id.js';
import { Transactions } from '../database/transactions.js';
import type { OrgScope } from '../organizations/org-access.js';
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
import { checkTarget } from './notifications.schemas.js';
import { redactTarget } from './notifications.presenter.js';
import { NotificationsRepository } from './notifications.repository.js';
import { newSigningSecret } from './webhook-signature.js';

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
    private readonly notifications: NotificationsRepository,
    private readonly projects: ProjectsRepository,
    private readonly keys: DataKeyService,
    private readonly queues: QueueService,
    private readonly transactions: Transactions,
    private readonly audit: AuditRepository,
  ) {}

  // ---- events -------------------------------------------------------------------------------

  /**
   * Records a delivery for every active channel (the organization's and the
   * project's) whose filters match, and queues them. Idempotent per channel
   * and event (`idempotencyKey`). Never throws: a notification problem is
   * logged and must not affect the run or deploy it reports. Returns the ids
   * of the deliveries queued.
   *
   * Runs and deploys finish in worker jobs, which report their outcomes with
   * the organization of their payload (a plain string until those callers
   * are converted).
   */
  async emit(organizationId: string, event: NotificationEvent): Promise<string[]> {
    const orgId = orgIdFromJob({ organizationId });
    try {
      const channels = await this.notifications.activeChannels(orgId, event.projectId);
      const matching = channels.filter((c) => filtersMatch(parseFilters(c.filters), event));
      if (!matching.length) return [];
      const key = eventIdempotencyKey(event);
      const envelope: WebhookEnvelope = {
        id: randomUUID(),
        type: event.type,
        idempotency_key: key,
        created_at: (event.occurredAt ?? new Date()).toISOString(),
        data: await this.eventData(orgId, event),
      };
      const queued: string[] = [];
      for (const channel of matching) {
        try {
          const id = await this.recordDelivery(orgId, {
            channelId: channel.id,
            eventType: event.type,
            idempotencyKey: key,
            payload: envelope as unknown as Prisma.InputJsonValue,
          });
          if (!id) continue;
          await this.queues.enqueue('notification.deliver', {
            organizationId: orgId,
            deliveryId: id,
          });
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

  private async eventData(orgId: OrgId, event: NotificationEvent): Promise<EventData> {
    const [organization, project, deployment] = await Promise.all([
      this.notifications.organizationRef(orgId),
      event.projectId ? this.notifications.projectRef(orgId, event.projectId) : null,
      event.deploymentId ? this.notifications.deploymentRef(orgId, event.deploymentId) : null,
    ]);
    if (!organization) throw notFound('Organization');
    return {
      organization,
      project,
      deployment:
        deployment ??
        (event.deploymentSlug && event.deploymentId
          ? { id: event.deploymentId, slug: event.deploymentSlug, name: event.deploymentSlug }
          : null),
      schedule: event.scheduleName ?? null,
      [event.subject.kind]: subjectData(event.subject),
    };
  }

  /** The delivery's id, or null when this event already reached this channel (or finally failed). */
  private async recordDelivery(
    orgId: OrgId,
    delivery: Parameters<NotificationsRepository['createDeliveryIfNew']>[1],
  ): Promise<string | null> {
    const created = await this.notifications.createDeliveryIfNew(orgId, delivery);
    if (created) return created;
    // Emitted before: queue it again only if it has not finished (the job id dedupes a live job).
    const existing = await this.notifications.findDeliveryByKey(
      orgId,
      delivery.channelId,
      delivery.idempotencyKey,
    );
    return existing?.status === 'pending' ? existing.id : null;
  }

  /** Sends a test event to one channel (active or not), one attempt. */
  async sendTest(scope: OrgScope, origin: RequestOrigin, id: string): Promise<string> {
    const { orgId } = scope;
    const channel = await this.get(orgId, id);
    const project = channel.projectId
      ? await this.notifications.projectRef(orgId, channel.projectId)
      : null;
    const key = `test:${randomUUID()}`;
    const envelope: WebhookEnvelope = {
      id: randomUUID(),
      type: TEST_EVENT_TYPE,
      idempotency_key: key,
      created_at: new Date().toISOString(),
      data: {
        organization: {
          id: orgId,
          slug: scope.organization.slug,
          name: scope.organization.name,
        },
        project,
        deployment: null,
        schedule: null,
        message: `A test notification sent by ${scope.actor.user.login}. If you can read it, this channel works.`,
      },
    };
    const delivery = await this.transactions.run(async (tx) => {
      const row = await this.notifications.createDelivery(
        orgId,
        {
          channelId: channel.id,
          eventType: TEST_EVENT_TYPE,
          idempotencyKey: key,
          payload: envelope as unknown as Prisma.InputJsonValue,
        },
        tx,
      );
      await this.audit.recordAs(
        scope,
        origin,
        {
          action: 'notification.test',
          resourceType: 'notification_channel',
          resourceId: channel.id,
          details: { delivery_id: row.id },
        },
        tx,
      );
      return row;
    });
    await this.queues.enqueue('notification.test', {
      organizationId: orgId,
      deliveryId: delivery.id,
    });
    return delivery.id;
  }

  // ---- channels -----------------------------------------------------------------------------

  async get(orgId: OrgId, id: string): Promise<NotificationChannel> {
    const channel = await this.notifications.findChannel(orgId, id);
    if (!channel) throw notFound('Notification channel');
    return channel;
  }

  async list(
    orgId: OrgId,
    take: number,
    projectRef?: string,
    cursor?: Cursor,
  ): Promise<NotificationChannel[]> {
    let projectId: string | undefined;
    if (projectRef !== undefined) {
      const project = await this.projects.find(orgId, projectRef);
      if (!project) return [];
      projectId = project.id;
    }
    return this.notifications.listChannels(orgId, take, projectId, cursor);
  }

  private async projectId(orgId: OrgId, ref: string | null): Promise<string | null> {
    if (ref === null) return null;
    const project = await this.projects.find(orgId, ref);
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
    const { orgId } = scope;
    const projectId = await this.projectId(orgId, input.project ?? null);
    const id = randomUUID();
    let signingSecret: string | null = null;
    let sealed: Buffer | null = null;
    if (input.kind === 'webhook') {
      signingSecret = newSigningSecret();
      const dataKey = await this.keys.forOrganization(orgId);
      sealed = sealValue(dataKey, signingSecret, signingSecretAad(orgId, id));
    }
    const channel = await this.transactions.run(async (tx) => {
      const row = await this.notifications.createChannel(
        orgId,
        {
          id,
          projectId,
          kind: input.kind,
          target: input.target,
          active: input.active,
          filters: input.filters,
          signingSecret: sealed ? toBytes(sealed) : null,
        },
        tx,
      );
      await this.audit.recordAs(
        scope,
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
    const { orgId } = scope;
    const channel = await this.get(orgId, id);
    if (changes.target !== undefined) {
      const problem = checkTarget(channel.kind, changes.target);
      if (problem) throw validationFailed([{ field: 'body.target', message: problem }]);
    }
    const projectId =
      changes.project !== undefined ? await this.projectId(orgId, changes.project) : undefined;
    return this.transactions.run(async (tx) => {
      const row = await this.notifications.updateChannel(
        orgId,
        channel.id,
        {
          ...(changes.target !== undefined ? { target: changes.target } : {}),
          ...(changes.active !== undefined ? { active: changes.active } : {}),
          ...(projectId !== undefined ? { projectId } : {}),
          ...(changes.filters !== undefined ? { filters: changes.filters } : {}),
        },
        tx,
      );
      await this.audit.recordAs(
        scope,
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
    const { orgId } = scope;
    const channel = await this.get(orgId, id);
    await this.transactions.run(async (tx) => {
      await this.notifications.deleteChannel(orgId, channel.id, tx);
      await this.audit.recordAs(
        scope,
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

  /**
   * The channel's signing secret in clear, or null for email channels. Used
   * by the `notification.deliver` job on the channel of its delivery, which
   * it read in the organization of its payload.
   */
  async signingSecret(channel: NotificationChannel): Promise<string | null> {
    if (!channel.signingSecret) return null;
    const orgId = orgIdFromJob(channel);
    const dataKey = await this.keys.forOrganization(orgId);
    return openValue(
      dataKey,
      Buffer.from(channel.signingSecret),
      signingSecretAad(orgId, channel.id),
    );
  }

  async deliveries(
    orgId: OrgId,
    channelId: string,
    take: number,
    status?: 'pending' | 'delivered' | 'failed',
    cursor?: Cursor,
  ): Promise<NotificationDelivery[]> {
    const channel = await this.get(orgId, channelId);
    return this.notifications.listDeliveries(orgId, channel.id, take, status, cursor);
  }
}
