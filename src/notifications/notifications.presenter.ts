import type {
  NotificationChannel,
  NotificationDelivery,
  Role,
} from '../generated/prisma/client.js';
import { can } from '../organizations/permissions.js';
import { parseFilters } from './events.js';
import { isSlackWebhook } from './messages.js';
import type { DeliveryAttempt } from './notifications.repository.js';

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

/** A channel as seen by a member with `role`: only editors see a webhook's full URL. */
export function presentChannel(
  channel: NotificationChannel,
  role: Role,
  slackHosts: readonly string[],
) {
  const canEdit = can(role, 'notification:write');
  return {
    id: channel.id,
    kind: channel.kind,
    target: canEdit ? channel.target : redactTarget(channel.kind, channel.target),
    active: channel.active,
    project_id: channel.projectId,
    filters: parseFilters(channel.filters),
    slack: channel.kind === 'webhook' && isSlackWebhook(channel.target, slackHosts),
    created_at: channel.createdAt.toISOString(),
    updated_at: channel.updatedAt.toISOString(),
  };
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
