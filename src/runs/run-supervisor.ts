import { unavailableDependency } from '../common/db-errors.js';
import { Transactions } from '../database/transactions.js';
import { UsageLedgerRepository } from '../billing/usage-ledger.repository.js';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { OrgId } from '../database/org-id.js';
import type { Run } from '../generated/prisma/client.js';
import { RepositoryAccessLostError } from '../projects/clone-source.js';
import type {
  ExecutionCallbacks,
  ExecutionHandle,
  Executor,
  RunOutcome,
} from './executors/executor.js';
import { EXECUTOR } from './executors/executor.provider.js';
import { wantsInfraRetry } from './infra-retry.js';
import { RunAdmission } from './run-admission.js';
import { RunFactory } from './run-factory.js';
import { RunEvents } from './run-events.js';
import { RunLogChannel } from './run-log-channel.js';
import { WorkerMetrics } from '../metrics/worker-metrics.js';
import { RunLogWriter } from './run-log-writer.js';
import { RunLogsRepository } from './run-logs.repository.js';
import { RunPreparation, type PreparedRun } from './run-preparation.js';
import { RunQueue } from './run-queue.js';
import { RunSignals } from './run-signals.js';
import { RunsRepository, type RunWithContext } from './runs.repository.js';
import { isFinal } from './runs.schemas.js';
import { WorkerHeartbeat } from './worker-heartbeat.js';

const WAIT_RETRY_MS = 5_000;
const CANCEL_POLL_MS = 3_000;
/** A final status that PostgreSQL could not take (restarting) is written again, this many times. */
const FINISH_ATTEMPTS = 10;
const FINISH_RETRY_MAX_MS = 5_000;

/**
 * The worker side of a run once it is taken: admission, execution through
 * the configured executor, live logs, cancel, and a true final status. A run
 * whose worker vanished is re-attached (Kubernetes) or failed as "worker
 * lost" (local) by the next worker that takes its job.
 */
@Injectable()
export class RunSupervisor {
  private readonly logger = new Logger(RunSupervisor.name);
  private readonly active = new Map<string, ExecutionHandle>();
  /** Runs this process is admitting or following; a second job for the same run is a no-op. */
  private readonly following = new Set<string>();

  constructor(
    private readonly runs: RunsRepository,
    private readonly logs: RunLogsRepository,
    @Inject(EXECUTOR) private readonly executor: Executor,
    private readonly heartbeat: WorkerHeartbeat,
    private readonly admission: RunAdmission,
    private readonly preparation: RunPreparation,
    private readonly signals: RunSignals,
    private readonly events: RunEvents,
    private readonly transactions: Transactions,
    private readonly usageLedger: UsageLedgerRepository,
    private readonly factory: RunFactory,
    private readonly queue: RunQueue,
    private readonly logChannel: RunLogChannel,
    @Optional() private readonly metrics?: WorkerMetrics,
  ) {
    metrics?.countInFlightWith(() => this.inFlight);
  }

  get inFlight(): number {
    return this.active.size;
  }

  /**
   * Takes a run as far as it goes. Returns the milliseconds after which to try
   * again when the run waits for a concurrency slot (the `run.execute` job is
   * then delayed, keeping its one id; a freed slot promotes it at once), or
   * null when there is nothing more to do.
   */
  async execute(orgId: OrgId, runId: string): Promise<number | null> {
    if (this.following.has(runId)) return null;
    this.following.add(runId);
    try {
      return await this.executeOnce(orgId, runId);
    } finally {
      this.following.delete(runId);
    }
  }

  private async executeOnce(orgId: OrgId, runId: string): Promise<number | null> {
    const run = await this.runs.findWithContext(orgId, runId);
    if (!run || isFinal(run.status)) return null;
    const { workerId } = this.heartbeat;
    if (run.status === 'queued') {
      const admission = await this.admission.admit(orgId, run, {
        workerId,
        executor: this.executor.kind,
      });
      if (admission.outcome === 'wait') return WAIT_RETRY_MS;
      if (admission.outcome === 'taken') return null;
      this.metrics?.runsDispatched.inc();
      this.metrics?.observeStep('admitted', run.queuedAt, new Date());
      await this.follow(orgId, admission.run, 'start');
      return null;
    }
    // starting/running: only when the worker that had it is gone (or it is ours after a restart).
    if (this.active.has(run.id)) return null;
    if (run.workerId && run.workerId !== workerId && (await this.heartbeat.isAlive(run.workerId)))
      return null;
    if (!(await this.runs.claim(orgId, run.id, run.workerId, workerId))) return null;
    await this.follow(orgId, await this.runs.findWithContext(orgId, runId), 'reattach');
    return null;
  }

  private async follow(
    orgId: OrgId,
    run: RunWithContext | null,
    mode: 'start' | 'reattach',
  ): Promise<void> {
    if (!run) return;
    let prepared: PreparedRun;
    // The log writer's two reads go alongside the preparation's (neither needs the other).
    const opening = RunLogWriter.open(this.logs, orgId, run.id, undefined, this.logChannel);
    void opening.catch(() => undefined); // awaited below, unless the preparation failed
    try {
      prepared = await this.preparation.prepare(orgId, run);
    } catch (err) {
      if (err instanceof RepositoryAccessLostError) {
        await this.runs.markRepositoryAccessLost(orgId, run.deployment.projectId);
        return this.finish(orgId, run, failed(`repository access lost: ${err.message}`));
      }
      return this.finish(
        orgId,
        run,
        failed(`could not prepare the run: ${err instanceof Error ? err.message : String(err)}`),
      );
    }
    const writer = (await opening).maskWith(prepared.masker);
    writer.note(prepared.stateNote);
    let startedAt: Date | null = null;
    let pipelineObserved = false;
    const callbacks: ExecutionCallbacks = {
      onLog: (line) => writer.write(line),
      onPhase: (phase, at, detail) => {
        if (phase === 'process_created') {
          this.metrics?.observeStep('started', run.admittedAt, at);
          startedAt = at;
        } else if (phase === 'pipeline_started' && !pipelineObserved) {
          // Kubernetes reports the pipeline start again once plugins are ready: observed once.
          pipelineObserved = true;
          this.metrics?.observeStep('pipeline', startedAt ?? run.startedAt, at);
        }
        void this.runs
          .recordPhase(orgId, run.id, phase, at, detail)
          .catch((err: unknown) => this.logger.warn(`phase update failed: ${String(err)}`));
      },
    };
    let handle: ExecutionHandle | null;
    if (mode === 'start') {
      handle = await this.executor.start(prepared.spec, callbacks).catch((err: unknown) => {
        this.metrics?.executorErrors.inc({ executor: this.executor.kind, operation: 'start' });
        throw err;
      });
      await this.runs.setExecutorRef(orgId, run.id, handle.ref);
    } else {
      handle = run.executorRef
        ? await this.executor
            .reattach(run.executorRef, prepared.spec, callbacks)
            .catch((err: unknown) => {
              this.metrics?.executorErrors.inc({
                executor: this.executor.kind,
                operation: 'reattach',
              });
              throw err;
            })
        : null;
      if (!handle) {
        writer.note('the worker running this run stopped; its process could not be followed');
        await writer.flush();
        await this.finish(orgId, run, {
          ...failed('worker lost: the worker running it stopped before it finished'),
          lostTo: 'worker',
        });
        await this.preparation.cleanUp(orgId, run, prepared, false);
        return;
      }
      writer.note(`re-attached by worker ${this.heartbeat.workerId}`);
    }
    let outcome = await this.untilDone(orgId, run, handle, writer);
    if (outcome.cancelled && outcome.status !== 'succeeded')
      outcome = { ...outcome, status: 'cancelled', reason: 'cancelled by a user' };
    if (outcome.reason && outcome.status !== 'succeeded')
      writer.note(`run ${outcome.status}: ${outcome.reason}`);
    await writer.flush();
    await this.preparation.cleanUp(orgId, run, prepared, true);
    await this.finish(orgId, run, outcome);
  }

  /** Waits for the run's outcome, stopping it when a cancel is requested (pub/sub, or the flag in PostgreSQL). */
  private async untilDone(
    orgId: OrgId,
    run: Run,
    handle: ExecutionHandle,
    writer: RunLogWriter,
  ): Promise<RunOutcome & { cancelled: boolean }> {
    this.active.set(run.id, handle);
    let cancelled = false;
    const cancel = (): void => {
      if (cancelled) return;
      cancelled = true;
      writer.note('cancel requested: stopping the run');
      handle
        .cancel()
        .catch((err: unknown) =>
          this.logger.warn(`cancel of run ${run.id} failed: ${String(err)}`),
        );
    };
    const unsubscribe = await this.signals.onCancel(run.id, cancel);
    // Pub/sub can miss a message (reconnects): the flag in PostgreSQL is checked too.
    const poll = setInterval(() => {
      void this.runs
        .cancelWanted(orgId, run.id)
        .then((wanted) => (wanted ? cancel() : undefined))
        .catch(() => undefined);
    }, CANCEL_POLL_MS);
    if (run.cancelRequestedAt) cancel();
    try {
      return { ...(await handle.outcome), cancelled };
    } finally {
      clearInterval(poll);
      unsubscribe();
      this.active.delete(run.id);
    }
  }

  /** The final status, once, with the run's usage-ledger row in the same transaction (billing). */
  private async finish(orgId: OrgId, run: Run, outcome: RunOutcome): Promise<void> {
    const ended = await this.whileUnavailable(`final status of run ${run.id}`, () =>
      this.transactions.run(async (tx) => {
        if (!(await this.runs.finish(orgId, run.id, outcome, tx))) return null;
        await this.usageLedger.recordForRun(orgId, run, tx);
        // Lost to infrastructure before its pipeline started: retried once, linked to this run
        // (read again only then: the run as it ended decides).
        const latest =
          outcome.lostTo !== undefined
            ? await this.runs.findWithDeployment(orgId, run.id, tx)
            : null;
        const retry =
          latest && wantsInfraRetry(latest, latest.deployment, outcome)
            ? await this.factory.infraRetry(orgId, latest, tx)
            : null;
        return { retry };
      }),
    );
    if (!ended) return;
    if (ended.retry) {
      this.logger.log(
        `run ${run.id} lost to infrastructure (${outcome.lostTo}): retried as run ${ended.retry.id}`,
      );
      await this.queue.enqueue(orgId, ended.retry.id);
    }
    await this.events.runFinished(orgId, run.id);
    await this.admission.slotFreed(orgId);
  }

  /** Runs `write` again with backoff while PostgreSQL or Redis is unreachable (a restart); other errors throw. */
  private async whileUnavailable<T>(what: string, write: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await write();
      } catch (err) {
        const dependency = unavailableDependency(err);
        if (!dependency || attempt >= FINISH_ATTEMPTS) throw err;
        const delay = Math.min(250 * 2 ** attempt, FINISH_RETRY_MAX_MS);
        this.logger.warn(
          `${what}: ${dependency} unavailable (${String(err)}); retry in ${delay} ms`,
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}

const failed = (reason: string): RunOutcome => ({ status: 'failed', exitCode: null, reason });
