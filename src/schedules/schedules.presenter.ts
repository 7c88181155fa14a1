import type { Deployment, Schedule } from '../generated/prisma/client.js';
import { objectOf } from '../meltano/ordered-entries.js';
import { scheduleRunsPerDay, upcomingTicks } from './schedule-ticks.js';
import { effectiveOffsetSeconds } from './spread.js';

/** A schedule as the API shows it, with its next `upcoming` fire times. */
export const presentSchedule = (s: Schedule, d: Deployment, upcoming = 1) => ({
  id: s.id,
  deployment_id: s.deploymentId,
  name: s.name,
  interval: s.interval,
  cron: s.cron,
  timezone: s.timezone,
  job: s.job,
  extractor: s.extractor,
  loader: s.loader,
  transform: s.transform,
  // Stored as pairs in written order; shown as an object in that order.
  env: objectOf(s.env),
  enabled: s.enabled,
  valid: s.invalidReason === null,
  invalid_reason: s.invalidReason,
  archived: s.archivedAt !== null,
  offset_seconds: effectiveOffsetSeconds(s, d),
  runs_per_day: scheduleRunsPerDay(s),
  upcoming: upcomingTicks(s, d, upcoming).map((t) => t.toISOString()),
  created_at: s.createdAt.toISOString(),
  updated_at: s.updatedAt.toISOString(),
});
