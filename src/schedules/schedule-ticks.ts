import type { Deployment, Schedule } from '../generated/prisma/client.js';
import { nextFireTimes } from './interval.js';
import { cachedRunsPerDay } from './runs-per-day.js';
import { effectiveOffsetSeconds } from './spread.js';

/** When a schedule fires next, including the deployment's spread offset. */
export function upcomingTicks(
  schedule: Schedule,
  deployment: Pick<Deployment, 'spreadSchedules'>,
  count: number,
  from = new Date(),
): Date[] {
  if (!schedule.cron || schedule.invalidReason || schedule.archivedAt || count === 0) return [];
  const offsetMs = effectiveOffsetSeconds(schedule, deployment) * 1000;
  return nextFireTimes(
    schedule.cron,
    schedule.timezone,
    new Date(from.getTime() - offsetMs),
    count,
  ).map((d) => new Date(d.getTime() + offsetMs));
}

export const scheduleRunsPerDay = (schedule: Schedule): number =>
  schedule.cron && !schedule.invalidReason && !schedule.archivedAt
    ? cachedRunsPerDay(schedule.cron, schedule.timezone)
    : 0;
