import { TENTHS_PER_CREDIT } from '../billing/plans.js';
import type { UserName } from '../auth/users.repository.js';
import type { MeltanoState, Run } from '../generated/prisma/client.js';

/** Who started runs, by user id (`UsersRepository.profilesById`). */
export type RunStarters = ReadonlyMap<string, UserName>;

/** The person who started the run (by hand, CLI, API or retry), when known. */
const starter = (r: Run, starters?: RunStarters) => {
  const user = r.triggeredById ? starters?.get(r.triggeredById) : undefined;
  return user ? { login: user.login, name: user.name } : null;
};

export const presentRun = (r: Run, starters?: RunStarters) => ({
  id: r.id,
  deployment_id: r.deploymentId,
  schedule_id: r.scheduleId,
  target: r.target,
  job_name: r.jobName,
  trigger: r.trigger,
  status: r.status,
  status_reason: r.statusReason,
  waiting_reason: r.waitingReason,
  commit_sha: r.commitSha,
  attempt: r.attempt,
  exit_code: r.exitCode,
  tick_at: r.tickAt?.toISOString() ?? null,
  queued_at: r.queuedAt.toISOString(),
  admitted_at: r.admittedAt?.toISOString() ?? null,
  started_at: r.startedAt?.toISOString() ?? null,
  pipeline_started_at: r.pipelineStartedAt?.toISOString() ?? null,
  finished_at: r.finishedAt?.toISOString() ?? null,
  duration_seconds:
    r.finishedAt && (r.pipelineStartedAt ?? r.startedAt)
      ? Math.round(
          (r.finishedAt.getTime() -
            (r.pipelineStartedAt ?? r.startedAt ?? r.finishedAt).getTime()) /
            1000,
        )
      : null,
  timeout_seconds: r.timeoutSeconds,
  triggered_by: starter(r, starters),
});

/** One run with what it cost: `credits` from its usage ledger row (null until it has one). */
export const presentRunWithCredits = (
  r: Run,
  usage: { creditsTenths: number } | null,
  starters?: RunStarters,
) => ({
  ...presentRun(r, starters),
  credits: usage ? usage.creditsTenths / TENTHS_PER_CREDIT : null,
});

export const presentLogLine = (l: {
  seq: number;
  timestamp: Date;
  stream: string;
  line: string;
}) => ({
  seq: l.seq,
  timestamp: l.timestamp.toISOString(),
  stream: l.stream,
  line: l.line,
});

/** A state in a list: its id and when it changed. */
export const presentStateSummary = (s: MeltanoState) => ({
  state_id: s.stateId,
  updated_at: s.updatedAt.toISOString(),
});

export const presentState = (s: MeltanoState) => ({
  state_id: s.stateId,
  value: s.value,
  updated_at: s.updatedAt.toISOString(),
});
