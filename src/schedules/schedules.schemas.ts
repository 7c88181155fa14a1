import { z } from 'zod';
import { isValidTimezone } from './interval.js';
import { pageQuery } from '../common/zod.js';

export const timezone = z
  .string()
  .max(64)
  .refine(isValidTimezone, 'must be an IANA timezone such as Europe/Berlin');

export const updateScheduleBody = z
  .strictObject({ enabled: z.boolean().optional(), timezone: timezone.optional() })
  .refine((b) => Object.keys(b).length > 0, 'send at least one field');

export const listSchedulesQuery = z.object({
  ...pageQuery,
  name_prefix: z.string().max(200).optional(),
  enabled: z.enum(['true', 'false']).optional(),
  include_archived: z
    .enum(['true', 'false'])
    .optional()
    .describe('Also list schedules removed from meltano.yml'),
});

export const getScheduleQuery = z.object({
  num_upcoming: z.coerce
    .number()
    .int()
    .min(0)
    .max(100)
    .default(10)
    .describe('How many next fire times to show'),
});

/** Schedule names come from meltano.yml and may hold spaces; in paths they are URL-encoded. */
export const scheduleRef = z.string().min(1).max(200);

export const scheduleOut = z.object({
  id: z.uuid(),
  deployment_id: z.uuid(),
  name: z.string(),
  interval: z.string().nullable(),
  cron: z.string().nullable(),
  timezone: z.string(),
  job: z.string().nullable(),
  extractor: z.string().nullable(),
  loader: z.string().nullable(),
  transform: z.string().nullable(),
  env: z.record(z.string(), z.unknown()),
  enabled: z.boolean(),
  valid: z.boolean(),
  invalid_reason: z.string().nullable(),
  archived: z.boolean(),
  offset_seconds: z.number(),
  runs_per_day: z.number(),
  upcoming: z.array(z.string()),
  created_at: z.string(),
  updated_at: z.string(),
});
