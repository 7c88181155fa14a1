import type { Deployment, Schedule } from '../generated/prisma/client.js';
import { upcomingTicks } from '../schedules/schedule-ticks.js';
import type { RecentRun } from './schedule-health.repository.js';

/** Outcomes a success rate counts: a cancelled, skipped or unfinished run says nothing about health. */
const COUNTED = new Set(['succeeded', 'failed', 'timed_out']);
const BAD = new Set(['failed', 'timed_out']);

const seconds = (r: RecentRun): number | null => {
  const from = r.pipelineStartedAt ?? r.startedAt;
  return r.finishedAt && from ? Math.round((r.finishedAt.getTime() - from.getTime()) / 1000) : null;
};

/**
 * A schedule's health from its latest runs (newest first): the success rate over
 * the runs that ended succeeded, failed or timed out, and whether it is failing
 * (the latest such run failed or timed out).
 */
export function presentScheduleHealth(
  schedule: Schedule,
  deployment: Pick<Deployment, 'spreadSchedules'>,
  runs: RecentRun[],
  now = new Date(),
) {
  const counted = runs.filter((r) => COUNTED.has(r.status));
  const succeeded = counted.filter((r) => r.status === 'succeeded').length;
  const last = runs[0] ?? null;
  const next = schedule.enabled ? (upcomingTicks(schedule, deployment, 1, now)[0] ?? null) : null;
  return {
    schedule_id: schedule.id,
    name: schedule.name,
    enabled: schedule.enabled,
    valid: schedule.invalidReason === null,
    last_run_at: last?.queuedAt.toISOString() ?? null,
    last_status: last?.status ?? null,
    next_run_at: next?.toISOString() ?? null,
    counted_runs: counted.length,
    success_rate: counted.length ? succeeded / counted.length : null,
    failing: counted.length > 0 && BAD.has(counted[0]!.status),
    runs: runs.map((r) => ({
      id: r.id,
      status: r.status,
      trigger: r.trigger,
      queued_at: r.queuedAt.toISOString(),
      finished_at: r.finishedAt?.toISOString() ?? null,
      duration_seconds: seconds(r),
      status_reason: r.statusReason,
    })),
  };
}
