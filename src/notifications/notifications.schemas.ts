import { z } from 'zod';
import { pageQuery } from '../common/zod.js';
import { notificationEventTypes, notificationFilter } from './events.js';

const MAX_TARGET = 2000;

export const webhookTarget = z
  .string()
  .trim()
  .max(MAX_TARGET)
  .refine((v) => {
    try {
      const url = new URL(v);
      return (url.protocol === 'https:' || url.protocol === 'http:') && url.hostname !== '';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL');

export const emailTarget = z.email('must be an email address').max(320);

const projectRef = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9-]*$/, 'must be a project id or slug');

const filters = z
  .array(notificationFilter)
  .min(1, 'add at least one filter')
  .max(50)
  .describe('Filters are ORed; the fields within one filter are ANDed');

/** Checks `target` against `kind`, reporting at `body.target`. */
export function checkTarget(kind: 'webhook' | 'email', target: string): string | null {
  const schema = kind === 'webhook' ? webhookTarget : emailTarget;
  const parsed = schema.safeParse(target);
  return parsed.success ? null : (parsed.error.issues[0]?.message ?? 'is not valid');
}

export const createChannelBody = z
  .strictObject({
    kind: z.enum(['webhook', 'email']),
    target: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(MAX_TARGET)
      .describe('Webhook URL or email address'),
    active: z.boolean().default(true),
    project: projectRef
      .nullable()
      .optional()
      .describe('Only events of this project (id or slug); omit for the whole organization'),
    filters,
  })
  .superRefine((b, ctx) => {
    const problem = checkTarget(b.kind, b.target);
    if (problem) ctx.addIssue({ code: 'custom', path: ['target'], message: problem });
  });

export const updateChannelBody = z
  .strictObject({
    target: z.string().trim().min(1, 'must not be empty').max(MAX_TARGET).optional(),
    active: z.boolean().optional(),
    project: projectRef.nullable().optional(),
    filters: filters.optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'send at least one field');

export const listChannelsQuery = z.object({
  ...pageQuery,
  project: projectRef.optional().describe('Only channels of this project (id or slug)'),
});

export const listDeliveriesQuery = z.object({
  ...pageQuery,
  status: z.enum(['pending', 'delivered', 'failed']).optional(),
});

export const filterOut = z.object({
  events: z.array(z.enum(notificationEventTypes)),
  deployment: z.string().optional(),
  schedule: z.string().optional(),
});

export const channelOut = z.object({
  id: z.uuid(),
  kind: z.enum(['webhook', 'email']),
  target: z
    .string()
    .describe('Webhook URLs are shortened to their origin for roles that cannot edit channels'),
  active: z.boolean(),
  project_id: z.uuid().nullable(),
  filters: z.array(filterOut),
  slack: z.boolean().describe('Webhook deliveries use Slack’s message format'),
  created_at: z.string(),
  updated_at: z.string(),
});

export const createdChannelOut = channelOut.extend({
  signing_secret: z
    .string()
    .nullable()
    .describe('Webhooks only: the HMAC-SHA256 signing secret, shown once'),
});

export const attemptOut = z.object({
  attempt: z.number().int(),
  at: z.string(),
  status_code: z.number().int().nullable(),
  error: z.string().nullable(),
  duration_ms: z.number().int(),
});

export const deliveryOut = z.object({
  id: z.uuid(),
  channel_id: z.uuid(),
  event_type: z.string(),
  idempotency_key: z.string(),
  status: z.enum(['pending', 'delivered', 'failed']),
  attempts: z.array(attemptOut),
  delivered_at: z.string().nullable(),
  created_at: z.string(),
  payload: z.record(z.string(), z.unknown()),
});

export const testSendOut = z.object({ delivery_id: z.uuid(), status: z.literal('pending') });
