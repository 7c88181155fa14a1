import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';
import type {
  Deploy,
  DeliveryStatus,
  NotificationChannel,
  NotificationDelivery,
  Prisma,
} from '../generated/prisma/client.js';
import { pastCursor, type Cursor } from '../common/pagination.js';
import type { OrgId } from '../database/org-id.js';
import { clientOf } from '../database/repository.js';
import type { Tx } from '../database/tx.js';

/** One delivery attempt, as recorded on the delivery (and shown by the API). */
export interface DeliveryAttempt {
  attempt: number;
  at: string;
  status_code: number | null;
  error: string | null;
  duration_ms: number;
}

/** What a channel is made of, besides its organization. */
export type ChannelData = Omit<Prisma.NotificationChannelUncheckedCreateInput, 'organizationId'>;

export type ChannelChangesData = Pick<
  Prisma.NotificationChannelUncheckedUpdateInput,
  'target' | 'active' | 'projectId' | 'filters'
>;

/** A delivery to record: one event for one channel. */
export interface DeliveryData {
  channelId: string;
  eventType: string;
  idempotencyKey: string;
  payload: Prisma.InputJsonValue;
}

/** Id, slug and name: how messages name an organization, project or deployment. */
export interface NamedRef {
  id: string;
  slug: string;
  name: string;
}

const named = { id: true, slug: true, name: true } as const;

/** Notification channels and their deliveries (with their attempts), scoped by organization. */
@Injectable()
export class NotificationsRepository {
  constructor(private readonly prisma: PrismaService) {}

  // ---- channels -----------------------------------------------------------------------------

  findChannel(orgId: OrgId, id: string): Promise<NotificationChannel | null> {
    return this.prisma.notificationChannel.findFirst({ where: { id, organizationId: orgId } });
  }

  /** Active channels of the organization and of this project, oldest first. */
  activeChannels(orgId: OrgId, projectId: string | null): Promise<NotificationChannel[]> {
    return this.prisma.notificationChannel.findMany({
      where: { organizationId: orgId, active: true, OR: [{ projectId: null }, { projectId }] },
      orderBy: { createdAt: 'asc' },
    });
  }

  listChannels(
    orgId: OrgId,
    take: number,
    projectId?: string,
    cursor?: Cursor,
  ): Promise<NotificationChannel[]> {
    return this.prisma.notificationChannel.findMany({
      where: {
        organizationId: orgId,
        ...(projectId ? { projectId } : {}),
        ...pastCursor('createdAt', cursor, 'asc', true),
      },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      take,
    });
  }

  createChannel(orgId: OrgId, data: ChannelData, tx?: Tx): Promise<NotificationChannel> {
    return clientOf(this.prisma, tx).notificationChannel.create({
      data: { ...data, organizationId: orgId },
    });
  }

  updateChannel(
    orgId: OrgId,
    id: string,
    data: ChannelChangesData,
    tx?: Tx,
  ): Promise<NotificationChannel> {
    return clientOf(this.prisma, tx).notificationChannel.update({
      where: { id, organizationId: orgId },
      data,
    });
  }

  async deleteChannel(orgId: OrgId, id: string, tx?: Tx): Promise<void> {
    await clientOf(this.prisma, tx).notificationChannel.delete({
      where: { id, organizationId: orgId },
    });
  }

  // ---- deliveries ---------------------------------------------------------------------------

  createDelivery(orgId: OrgId, data: DeliveryData, tx?: Tx): Promise<NotificationDelivery> {
    return clientOf(this.prisma, tx).notificationDelivery.create({
      data: { ...data, organizationId: orgId },
    });
  }

  /** The new delivery's id, or null when the channel already has one for this idempotency key. */
  async createDeliveryIfNew(orgId: OrgId, data: DeliveryData): Promise<string | null> {
    const [created] = await this.prisma.notificationDelivery.createManyAndReturn({
      data: [{ ...data, organizationId: orgId }],
      skipDuplicates: true,
      select: { id: true },
    });
    return created?.id ?? null;
  }

  findDeliveryByKey(
    orgId: OrgId,
    channelId: string,
    idempotencyKey: string,
  ): Promise<{ id: string; status: DeliveryStatus } | null> {
    return this.prisma.notificationDelivery.findUnique({
      where: { channelId_idempotencyKey: { channelId, idempotencyKey }, organizationId: orgId },
      select: { id: true, status: true },
    });
  }

  findDeliveryWithChannel(
    orgId: OrgId,
    id: string,
  ): Promise<(NotificationDelivery & { channel: NotificationChannel }) | null> {
    return this.prisma.notificationDelivery.findFirst({
      where: { id, organizationId: orgId },
      include: { channel: true },
    });
  }

  listDeliveries(
    orgId: OrgId,
    channelId: string,
    take: number,
    status?: DeliveryStatus,
    cursor?: Cursor,
  ): Promise<NotificationDelivery[]> {
    return this.prisma.notificationDelivery.findMany({
      where: {
        organizationId: orgId,
        channelId,
        ...(status ? { status } : {}),
        ...pastCursor('createdAt', cursor, 'desc', true),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take,
    });
  }

  /** Appends an attempt in SQL, so concurrent writers cannot lose one. */
  async appendAttempt(
    orgId: OrgId,
    deliveryId: string,
    attempt: DeliveryAttempt,
    tx?: Tx,
  ): Promise<void> {
    await clientOf(this.prisma, tx).$executeRaw`
      UPDATE notification_deliveries
         SET attempts = attempts || jsonb_build_array(${JSON.stringify(attempt)}::jsonb)
       WHERE id = ${deliveryId}::uuid AND organization_id = ${orgId}::uuid`;
  }

  async finishDelivery(
    orgId: OrgId,
    deliveryId: string,
    status: 'delivered' | 'failed',
    tx?: Tx,
  ): Promise<void> {
    await clientOf(this.prisma, tx).notificationDelivery.updateMany({
      where: { id: deliveryId, organizationId: orgId },
      data: { status, deliveredAt: status === 'delivered' ? new Date() : null },
    });
  }

  // ---- names for messages (read-only) -------------------------------------------------------

  organizationRef(orgId: OrgId): Promise<NamedRef | null> {
    return this.prisma.organization.findUnique({ where: { id: orgId }, select: named });
  }

  projectRef(orgId: OrgId, projectId: string): Promise<NamedRef | null> {
    return this.prisma.project.findFirst({
      where: { id: projectId, organizationId: orgId },
      select: named,
    });
  }

  deploymentRef(orgId: OrgId, deploymentId: string): Promise<NamedRef | null> {
    return this.prisma.deployment.findFirst({
      where: { id: deploymentId, organizationId: orgId },
      select: named,
    });
  }

  /** What a deploy failure message says about the deploy. */
  deployDetails(
    orgId: OrgId,
    deployId: string,
  ): Promise<Pick<Deploy, 'commitSha' | 'branch' | 'trigger'> | null> {
    return this.prisma.deploy.findFirst({
      where: { id: deployId, organizationId: orgId },
      select: { commitSha: true, branch: true, trigger: true },
    });
  }
}
