import { TENTHS_PER_CREDIT } from '../billing/plans.js';
import type { UserName } from '../auth/users.repository.js';
import type { MeltanoState } from '../generated/prisma/client.js';
import type { RunListRow, RunView } from './runs.repository.js';

/** Who started runs, by user id (`UsersRepository.profilesById`). */
export type RunStarters = ReadonlyMap<string, UserName>;

/** The person who started the run (by hand, CLI, API or retry), when known. */
const starter = (r: RunView, starters?: RunStarters) => {
  const user = r.triggeredById ? starters?.get(r.triggeredById) : undefined;
  return user ? { login: user.login, name: user.name } : null;
};

export const presentRun = (r: RunView, starters?: RunStarters) => runShape(r, starter(r, starters));

/** A run of a list, whose starter's login and name came joined on the row. */
export const presentRunRow = (r: RunListRow) =>
  runShape(
    r,
    r.triggeredById && r.triggeredByLogin !== null
      ? { login: r.triggeredByLogin, name: r.triggeredByName }
      : null,
  );

const runShape = (r: RunView, triggeredBy: { login: string; name: string | null } | null) => ({
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
  retry_of: r.retryOfId,
  exit_code: r.exitCode,
  tick_at: r.tickAt?.toISOString() ?? null,
  queued_at: r.queuedAt.toISOString(),
  admitted_at: r.admittedAt?.toISOString() ?? null,
  started_at: r.startedAt?.toISOString() ?? null,
  install_started_at: r.installStartedAt?.toISOString() ?? null,
  install_finished_at: r.installFinishedAt?.toISOString() ?? null,
  plugin_install: r.pluginInstall,
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
  steps: runSteps(r),
  triggered_by: triggeredBy,
});

const INSTALL_NOTES = {
  installed: 'meltano install ran for this run',
  cached: 'install skipped (cached): an earlier run of this deployment installed the same plugins',
  image: "install skipped (image): the deployment's image has the plugins installed",
} as const;

/**
 * The run's timeline as steps, in order, each once it began: waiting in the
 * queue, cloning the commit, installing plugins (or skipping the install),
 * the pipeline. Only the pipeline is billed.
 */
export function runSteps(r: RunView) {
  const iso = (d: Date | null) => d?.toISOString() ?? null;
  const step = (
    name: 'queued' | 'clone' | 'install' | 'pipeline',
    start: Date | null,
    end: Date | null,
    note: string | null = null,
  ) =>
    start
      ? [
          {
            name,
            started_at: start.toISOString(),
            finished_at: iso(end),
            duration_seconds: end
              ? Math.max(0, Math.round((end.getTime() - start.getTime()) / 1000))
              : null,
            note,
            billed: name === 'pipeline',
          },
        ]
      : [];
  const afterQueue = r.startedAt ?? r.pipelineStartedAt ?? r.finishedAt;
  const afterClone = r.installStartedAt ?? r.pipelineStartedAt ?? r.finishedAt;
  const afterInstall = r.installFinishedAt ?? r.pipelineStartedAt ?? r.finishedAt;
  return [
    ...step('queued', r.queuedAt, r.admittedAt ?? afterQueue),
    ...step('clone', r.startedAt, afterClone),
    ...step(
      'install',
      r.installStartedAt,
      afterInstall,
      r.pluginInstall ? INSTALL_NOTES[r.pluginInstall] : null,
    ),
    ...step('pipeline', r.pipelineStartedAt, r.finishedAt),
  ];
}

/** One run with what it cost: `credits` from its usage ledger row (null until it has one). */
export const presentRunWithCredits = (
  r: RunView,
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
