import { FINAL_STATUSES, isFinal } from './runs.schemas.js';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { rm } from 'node:fs/promises';
import { AppConfig } from '../config/app-config.js';
import { PrismaService } from '../database/prisma.service.js';
import type {
  Deployment,
  Organization,
  Project,
  Run,
  RunStatus,
  Schedule,
} from '../generated/prisma/client.js';
import { QueueService } from '../queue/queue.service.js';
import { CloneSourceProvider, RepositoryAccessLostError } from '../projects/clone-source.js';
import { SecretsService } from '../secrets/secrets.service.js';
import type {
  ExecutionCallbacks,
  ExecutionHandle,
  Executor,
  RunOutcome,
  RunSpec,
} from './executors/executor.js';
import { MeltanoStateService } from './meltano-state.service.js';
import { RunEvents } from './run-events.js';
import { RunLogWriter } from './run-log-writer.js';
import { RunSignals } from './run-signals.js';
import { RunsService } from './runs.service.js';
import { EXECUTOR } from './executors/executor.provider.js';
import { UsageLedgerRepository } from '../billing/usage-ledger.repository.js';
import { orgIdOfRow } from '../database/org-id.js';
import { asTx } from '../database/tx.js';

type RunWithContext = Run & {
  deployment: Deployment & { project: Project; organization: Organization };
  schedule: Schedule | null;
};

const FINAL: RunStatus[] = [...FINAL_STATUSES];
const HEARTBEAT_TTL_SECONDS = 30;
const WAIT_RETRY_MS = 5_000;
const CANCEL_POLL_MS = 3_000;

/**
 * The worker side of a run: admission past concurrency limits, execution
 * through the configured executor, live logs, cancel, and a true final
 * status. Each worker keeps a heartbeat in Redis so runs of a vanished worker
 * are noticed and re-attached (Kubernetes) or failed as "worker lost" (local).
 */
@Injectable()
export class RunExecutor implements OnModuleDestroy {
  private readonly logger = new Logger(RunExecutor.name);
  readonly workerId: string;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private readonly active = new Map<string, ExecutionHandle>();

  constructor(
    private readonly config: AppConfig,
    private readonly prisma: PrismaService,
    private readonly queues: QueueService,
    @Inject(EXECUTOR) private readonly executor: Executor,
    private readonly cloneSources: CloneSourceProvider,
    private readonly secrets: SecretsService,
    private readonly states: MeltanoStateService,
    private readonly signals: RunSignals,
    private readonly events: RunEvents,
    private readonly runs: RunsService,
    private readonly usageLedger: UsageLedgerRepository,
  ) {
    this.workerId = config.worker.id ?? `${hostname()}:${process.pid}`;
  }

  private heartbeatKey(workerId: string): string {
    return `${this.queues.prefix}:worker:${workerId}`;
  }

  async startHeartbeat(): Promise<void> {
    const beat = () =>
      this.queues.connection.set(
        this.heartbeatKey(this.workerId),
        new Date().toISOString(),
        'EX',
        HEARTBEAT_TTL_SECONDS,
      );
    await beat();
    this.heartbeatTimer = setInterval(() => void beat().catch(() => undefined), 10_000);
    this.heartbeatTimer.unref();
  }

  async isWorkerAlive(workerId: string): Promise<boolean> {
    if (workerId === this.workerId) return true;
    return (await this.queues.connection.exists(this.heartbeatKey(workerId))) === 1;
  }

  get inFlight(): number {
    return this.active.size;
  }

  /** Runs this process is admitting or following; a second job for the same run is a no-op. */
  private readonly following = new Set<string>();

  /**
   * Takes a run as far as it goes. Returns the milliseconds after which to try
   * again when the run waits for a concurrency slot (the `run.execute` job is
   * then delayed, keeping its one id; a freed slot promotes it at once), or
   * null when there is nothing more to do.
   */
  async execute(organizationId: string, runId: string): Promise<number | null> {
    if (this.following.has(runId)) return null;
    this.following.add(runId);
    try {
      return await this.executeOnce(organizationId, runId);
    } finally {
      this.following.delete(runId);
    }
  }

  private async executeOnce(organizationId: string, runId: string): Promise<number | null> {
    const run = await this.load(organizationId, runId);
    if (!run || isFinal(run.status)) return null;
    if (run.status === 'queued') {
      const admission = await this.admit(run);
      if (admission === 'wait') return WAIT_RETRY_MS;
      if (admission === 'taken') return null;
      await this.follow(await this.load(organizationId, runId), 'start');
      return null;
    }
    // starting/running: only when the worker that had it is gone (or it is ours after a restart).
    if (this.active.has(run.id)) return null;
    if (run.workerId && run.workerId !== this.workerId && (await this.isWorkerAlive(run.workerId)))
      return null;
    const claimed = await this.prisma.run.updateMany({
      where: { id: run.id, workerId: run.workerId, status: { in: ['starting', 'running'] } },
      data: { workerId: this.workerId },
    });
    if (!claimed.count) return null;
    await this.follow(await this.load(organizationId, runId), 'reattach');
    return null;
  }

  private load(organizationId: string, runId: string): Promise<RunWithContext | null> {
    return this.prisma.run.findFirst({
      where: { organizationId, id: runId },
      include: { deployment: { include: { project: true, organization: true } }, schedule: true },
    });
  }

  /** Past the deployment's and organization's concurrency limits, or left waiting saying why. */
  private async admit(run: RunWithContext): Promise<'admitted' | 'wait' | 'taken'> {
    const { deployment } = run;
    const org = deployment.organization;
    const waiting = await this.prisma.$transaction(async (tx) => {
      // One admission at a time per organization, so two workers cannot both take the last slot.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${run.organizationId}))`;
      const [forDeployment, forOrg] = await Promise.all([
        tx.run.count({
          where: {
            organizationId: run.organizationId,
            deploymentId: deployment.id,
            status: { in: ['starting', 'running'] },
          },
        }),
        tx.run.count({
          where: { organizationId: run.organizationId, status: { in: ['starting', 'running'] } },
        }),
      ]);
      let reason: string | null = null;
      if (forDeployment >= deployment.maxConcurrentRuns) {
        reason = `waiting: the deployment's limit of ${deployment.maxConcurrentRuns} concurrent run(s) is reached`;
      } else if (forOrg >= org.maxConcurrentRuns) {
        reason = `waiting: the organization's limit of ${org.maxConcurrentRuns} concurrent run(s) is reached`;
      }
      if (reason) {
        await tx.run.updateMany({
          where: { id: run.id, status: 'queued' },
          data: { waitingReason: reason },
        });
        return reason;
      }
      const admitted = await tx.run.updateMany({
        where: { id: run.id, status: 'queued' },
        data: {
          status: 'starting',
          admittedAt: new Date(),
          waitingReason: null,
          workerId: this.workerId,
          executor: this.executor.kind,
        },
      });
      return admitted.count ? null : 'taken';
    });
    if (waiting === 'taken') return 'taken';
    return waiting ? 'wait' : 'admitted';
  }

  private async buildSpec(
    run: RunWithContext,
    stateDir: string | null,
  ): Promise<{ spec: RunSpec; masker: { maskLine(l: string): string } }> {
    const { deployment } = run;
    const { project } = deployment;
    const source = await this.cloneSources.sourceFor(project);
    const forRun = await this.secrets.forRun(run.organizationId, project.id, deployment.id);
    const env: Record<string, string> = {
      ...forRun.env,
      MELTANO_CLOUD_RUN_ID: run.id,
      MELTANO_CLOUD_DEPLOYMENT: deployment.slug,
    };
    if (stateDir) env.MELTANO_STATE_BACKEND_URI = `file://${stateDir}`;
    const spec: RunSpec = {
      runId: run.id,
      organizationId: run.organizationId,
      projectId: project.id,
      deploymentId: deployment.id,
      repository: {
        cloneUrl: source.url,
        commitSha: run.commitSha ?? deployment.deployedCommitSha ?? '',
        branch: deployment.branch,
        ...(source.token ? { token: source.token } : {}),
      },
      rootPath: project.rootPath,
      environment: deployment.environment,
      command:
        run.scheduleId && run.schedule
          ? { kind: 'schedule', name: run.target }
          : { kind: 'job', name: run.jobName ?? run.target },
      env,
      files: forRun.files,
      timeoutSeconds: run.timeoutSeconds,
    };
    return { spec, masker: forRun.masker };
  }

  private stateDirFor(run: Run): string | null {
    // The filesystem state backend only reaches processes on this machine (see README: Kubernetes uses a state URI secret).
    if (this.executor.kind !== 'local') return null;
    return path.join(
      this.config.worker.runWorkdir ?? path.join(tmpdir(), 'meltano-cloud-runs'),
      `state-${run.id}`,
    );
  }

  private async follow(run: RunWithContext | null, mode: 'start' | 'reattach'): Promise<void> {
    if (!run) return;
    const stateDir = this.stateDirFor(run);
    let built;
    try {
      if (stateDir) await this.states.materialise(run.organizationId, run.deploymentId, stateDir);
      built = await this.buildSpec(run, stateDir);
    } catch (err) {
      if (err instanceof RepositoryAccessLostError) {
        await this.prisma.project.update({
          where: { id: run.deployment.projectId },
          data: { repositoryAccess: 'lost' },
        });
        await this.finish(run, {
          status: 'failed',
          exitCode: null,
          reason: `repository access lost: ${err.message}`,
        });
        return;
      }
      await this.finish(run, {
        status: 'failed',
        exitCode: null,
        reason: `could not prepare the run: ${err instanceof Error ? err.message : String(err)}`,
      });
      return;
    }
    const writer = await RunLogWriter.open(this.prisma, run.organizationId, run.id, built.masker);
    const callbacks: ExecutionCallbacks = {
      onLog: (line) => writer.write(line),
      onPhase: (phase, at) => {
        const data =
          phase === 'process_created'
            ? { startedAt: at }
            : { status: 'running' as const, pipelineStartedAt: at };
        void this.prisma.run
          .updateMany({ where: { id: run.id, status: { in: ['starting', 'running'] } }, data })
          .catch((err: unknown) => this.logger.warn(`phase update failed: ${String(err)}`));
      },
    };
    let handle: ExecutionHandle | null;
    if (mode === 'start') {
      handle = await this.executor.start(built.spec, callbacks);
      await this.prisma.run.update({ where: { id: run.id }, data: { executorRef: handle.ref } });
    } else {
      handle = run.executorRef
        ? await this.executor.reattach(run.executorRef, built.spec, callbacks)
        : null;
      if (!handle) {
        writer.note('the worker running this run stopped; its process could not be followed');
        await writer.flush();
        await this.finish(run, {
          status: 'failed',
          exitCode: null,
          reason: 'worker lost: the worker running it stopped before it finished',
        });
        if (stateDir) await rm(stateDir, { recursive: true, force: true });
        return;
      }
      writer.note(`re-attached by worker ${this.workerId}`);
    }
    this.active.set(run.id, handle);
    const current = handle;
    let cancelRequested = false;
    const cancel = (): void => {
      if (cancelRequested) return;
      cancelRequested = true;
      writer.note('cancel requested: stopping the run');
      void current.cancel();
    };
    const unsubscribe = await this.signals.onCancel(run.id, cancel);
    // Pub/sub can miss a message (reconnects): the flag in PostgreSQL is checked too.
    const poll = setInterval(() => {
      void this.prisma.run
        .findUnique({ where: { id: run.id }, select: { cancelRequestedAt: true } })
        .then((r) => (r === null || r.cancelRequestedAt ? cancel() : undefined))
        .catch(() => undefined);
    }, CANCEL_POLL_MS);
    if (run.cancelRequestedAt) cancel();
    let outcome: RunOutcome;
    try {
      outcome = await current.outcome;
    } finally {
      clearInterval(poll);
      unsubscribe();
      this.active.delete(run.id);
    }
    if (cancelRequested && outcome.status !== 'succeeded')
      outcome = { ...outcome, status: 'cancelled', reason: 'cancelled by a user' };
    if (outcome.reason && outcome.status !== 'succeeded')
      writer.note(`run ${outcome.status}: ${outcome.reason}`);
    await writer.flush();
    if (stateDir) {
      await this.states.collect(run.organizationId, run.deploymentId, stateDir).catch(() => 0);
      await rm(stateDir, { recursive: true, force: true });
    }
    await this.finish(run, outcome);
  }

  private async finish(run: Run, outcome: RunOutcome): Promise<void> {
    // billing (issue 11): the run's ledger row commits in the transaction of its final status.
    const updated = await this.prisma.$transaction(async (client) => {
      const result = await client.run.updateMany({
        where: { id: run.id, status: { notIn: FINAL } },
        data: {
          status: outcome.status,
          exitCode: outcome.exitCode,
          statusReason: outcome.reason,
          finishedAt: new Date(),
          waitingReason: null,
        },
      });
      if (result.count) await this.usageLedger.recordForRun(orgIdOfRow(run), run, asTx(client));
      return result;
    });
    if (!updated.count) return;
    await this.events.runFinished(run.id);
    await this.wakeWaiting(run);
  }

  /** A slot freed up: runs waiting on a limit in this organization get another try now rather than after their delay. */
  private async wakeWaiting(run: Run): Promise<void> {
    const waiting = await this.prisma.run.findMany({
      where: {
        organizationId: run.organizationId,
        status: 'queued',
        waitingReason: { startsWith: 'waiting:' },
      },
      orderBy: { queuedAt: 'asc' },
      take: 5,
    });
    for (const w of waiting) {
      await this.queues.wake('run.execute', { organizationId: w.organizationId, runId: w.id });
    }
  }

  /**
   * Runs whose worker vanished are taken over; queued runs whose queue job
   * was lost (a Redis wipe) are queued again. Safe to run on every worker.
   */
  async sweep(): Promise<{ orphaned: number; requeued: number }> {
    const inFlight = await this.prisma.run.findMany({
      where: { status: { in: ['starting', 'running'] } },
      select: { id: true, organizationId: true, workerId: true },
    });
    let orphaned = 0;
    for (const run of inFlight) {
      if (run.workerId && (await this.isWorkerAlive(run.workerId))) continue;
      orphaned++;
      // Taken over through the queue (bounded by worker concurrency), not inline: following a run takes as long as the run.
      await this.queues.enqueue('run.execute', {
        organizationId: run.organizationId,
        runId: run.id,
      });
    }
    const stale = await this.prisma.run.findMany({
      where: { status: 'queued', queuedAt: { lt: new Date(Date.now() - 60_000) } },
      select: { id: true, organizationId: true },
      take: 500,
    });
    for (const run of stale) {
      // A no-op while the run's job lives (waiting, delayed or active): only lost jobs come back.
      await this.queues.enqueue('run.execute', {
        organizationId: run.organizationId,
        runId: run.id,
      });
    }
    return { orphaned, requeued: stale.length };
  }

  /** Removes executor leftovers (Jobs, directories) of runs that already ended. */
  async cleanupLeftovers(): Promise<void> {
    await this.executor.cleanup(async (runId) => {
      const run = await this.prisma.run.findUnique({
        where: { id: runId },
        select: { status: true },
      });
      return run !== null && !isFinal(run.status);
    });
  }

  /** On shutdown: runs in hand are left to their executor and taken over by the next worker (Kubernetes) or failed (local). */
  async onModuleDestroy(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    if (this.queues.connection.status === 'ready') {
      await this.queues.connection.del(this.heartbeatKey(this.workerId)).catch(() => undefined);
    }
  }
}
