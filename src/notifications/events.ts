import { z } from 'zod';

/** What a notification channel can subscribe to. */
export const notificationEventTypes = [
  'run.succeeded',
  'run.failed',
  'run.cancelled',
  'run.timed_out',
  'schedule.skipped',
  'deploy.failed',
  'billing.limit_reached',
] as const;
export type NotificationEventType = (typeof notificationEventTypes)[number];

/** The event type of test sends (`POST /orgs/:org/notifications/:id/test`). */
export const TEST_EVENT_TYPE = 'notification.test';

export interface NotificationSubject {
  kind: 'run' | 'deploy' | 'billing';
  id: string;
  /** Where a person can see it. */
  url: string;
  status: string;
  reason?: string | null;
  commitSha?: string | null;
  /** Anything else worth sending (camelCase keys become snake_case in webhook bodies). */
  [extra: string]: unknown;
}

/** An event reported through `NotificationsService.emit`. */
export interface NotificationEvent {
  type: NotificationEventType;
  /** Null for events of the whole organization (billing): only its organization-wide channels hear them. */
  projectId: string | null;
  deploymentId: string | null;
  deploymentSlug?: string;
  scheduleName?: string | null;
  subject: NotificationSubject;
  /** Same key, same event: a repeated emit does not notify twice. Default `<type>:<kind>:<id>`. */
  idempotencyKey?: string;
  occurredAt?: Date;
}

export const eventIdempotencyKey = (event: NotificationEvent): string =>
  event.idempotencyKey ?? `${event.type}:${event.subject.kind}:${event.subject.id}`;

export const notificationFilter = z.strictObject({
  events: z
    .array(z.enum(notificationEventTypes))
    .min(1, 'list at least one event')
    .max(notificationEventTypes.length)
    .transform((events) => [...new Set(events)]),
  deployment: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .optional()
    .describe('Only this deployment (id or slug)'),
  schedule: z.string().trim().min(1).max(200).optional().describe('Only this schedule (name)'),
});
export type NotificationFilter = z.infer<typeof notificationFilter>;

const storedFilters = z.array(notificationFilter);

/** Filters as stored on a channel; a row that does not parse matches nothing. */
export function parseFilters(value: unknown): NotificationFilter[] {
  const parsed = storedFilters.safeParse(value);
  return parsed.success ? parsed.data : [];
}

/** Fields within a filter are ANDed; a channel matches when any of its filters does. */
export function filterMatches(filter: NotificationFilter, event: NotificationEvent): boolean {
  if (!filter.events.includes(event.type)) return false;
  if (
    filter.deployment !== undefined &&
    filter.deployment !== event.deploymentId &&
    filter.deployment !== event.deploymentSlug
  )
    return false;
  if (filter.schedule !== undefined && filter.schedule !== (event.scheduleName ?? undefined))
    return false;
  return true;
}

export const filtersMatch = (filters: NotificationFilter[], event: NotificationEvent): boolean =>
  filters.some((f) => filterMatches(f, event));

/** The JSON a webhook receives (also stored as the delivery's payload). */
export interface WebhookEnvelope {
  id: string;
  type: string;
  idempotency_key: string;
  created_at: string;
  data: EventData;
}

export interface EventData {
  organization: { id: string; slug: string; name: string };
  project: { id: string; slug: string; name: string } | null;
  deployment: { id: string; slug: string; name: string } | null;
  schedule: string | null;
  run?: Record<string, unknown>;
  deploy?: Record<string, unknown>;
  billing?: Record<string, unknown>;
  /** Test sends only. */
  message?: string;
}

const snake = (key: string): string => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The subject with snake_case keys (`commitSha` → `commit_sha`), kind left out. */
export function subjectData(subject: NotificationSubject): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(subject)) {
    if (key === 'kind' || value === undefined) continue;
    out[snake(key)] = value instanceof Date ? value.toISOString() : value;
  }
  return out;
}
