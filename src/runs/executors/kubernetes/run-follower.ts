/**
 * Follows one run's Job until it ends: watches the Job (the outcome) and its
 * Pod (phases, stuck or fatal states), streams the main container's log, and
 * turns all of it into exactly one RunOutcome. A watch that ends (the
 * server's timeout, a dropped connection) is resumed from the last
 * resourceVersion seen, bookmarks included (`allowWatchBookmarks`); when
 * that history has expired (an ERROR event with a 410 Status) the follower
 * lists again and watches from the list. Other failures re-list after a pause.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  V1Job,
  V1Pod,
  Watch,
} from '@kubernetes/client-node';
import type {
  ExecutionCallbacks,
  ExecutionHandle,
  LogLine,
  RunOutcome,
  RunPhase,
  RunSpec,
} from '../executor.js';
import { describeApiError, isApiStatus } from './api-errors.js';
import {
  CLONE_CONTAINER,
  MELTANO_CONTAINER,
  RUN_LABEL,
  type KubernetesSettings,
} from './manifests.js';
import { sinceTimeFor, streamPodLog, timestampKey, type PodLogEntry } from './pod-logs.js';
import {
  cloneExitCode,
  describeFailure,
  jobEnd,
  mainContainerDone,
  mainExitCode,
  newestPod,
  pipelineStartedAt,
  podProblem,
  toDate,
} from './pod-state.js';

export interface FollowerTimings {
  unschedulableGraceMs: number;
  retryDelayMs: number;
  logDrainMs: number;
  stopTimeoutMs: number;
  pollIntervalMs: number;
  deadlineSlackMs: number;
}

export interface FollowerContext {
  kubeConfig: KubeConfig;
  batch: BatchV1Api;
  core: CoreV1Api;
  watch: Watch;
  settings: KubernetesSettings;
  timings: FollowerTimings;
  warn(message: string): void;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
/** The API server ends each watch after this long and it is re-listed: no connection is trusted forever. */
const WATCH_SECONDS = 300;

type WatchEvent = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

interface FinishOptions {
  /** Delete the Job (foreground): it would otherwise keep waiting or running. */
  deleteJob: boolean;
  /** Return only once the Job (and so its Pods) is gone. */
  awaitJobGone?: boolean;
}

export class RunFollower {
  readonly outcome: Promise<RunOutcome>;
  private resolveOutcome!: (outcome: RunOutcome) => void;
  private readonly namespace: string;
  /** Stops watches and pauses once the run is ending. */
  private readonly watching = new AbortController();
  /** Stops the log stream (later than the watches: lines still drain). */
  private readonly streaming = new AbortController();
  /** Event handling one at a time, in arrival order. */
  private events: Promise<void> = Promise.resolve();
  private finishing = false;
  private reported = new Set<RunPhase>();
  /**
   * Until the first Pod list is handled, Pod states seen were reached before
   * this follower existed (a re-attach): their phases get the cluster's
   * timestamps, not the time we happened to look.
   */
  private caughtUp = false;
  private logs: Promise<void> | null = null;
  private stuck: {
    base: string;
    detail: string | undefined;
    reason: string;
    timer: NodeJS.Timeout;
  } | null = null;
  private deadlineTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly ctx: FollowerContext,
    readonly jobName: string,
    private readonly spec: RunSpec,
    private readonly callbacks: ExecutionCallbacks,
    /** Deliver log lines written from this moment on; undefined: from the container's start. */
    private readonly logsFrom?: Date,
  ) {
    this.namespace = ctx.settings.namespace;
    this.outcome = new Promise((resolve) => (this.resolveOutcome = resolve));
  }

  handle(): ExecutionHandle {
    return { ref: this.jobName, outcome: this.outcome, cancel: () => this.cancel() };
  }

  /** Starts following; `job` is the Job as last read (its start time arms the deadline backstop). */
  begin(job: V1Job): void {
    this.armDeadline(job);
    void this.keepWatching('Job watch', (cursor) => this.watchJob(cursor));
    void this.keepWatching('Pod watch', (cursor) => this.watchPods(cursor));
  }

  async cancel(): Promise<void> {
    await this.finish(
      { status: 'cancelled', exitCode: null, reason: 'cancelled' },
      { deleteJob: true, awaitJobGone: true },
    );
    await this.outcome;
  }

  // --- watching -----------------------------------------------------------

  private get stopped(): boolean {
    return this.watching.signal.aborted;
  }

  /** Runs `once` (a list + watch) again and again, pausing in between, until the run ends. */
  /**
   * Runs `once` (a list + watch, or a watch resumed from the cursor) again
   * and again until the run ends. A watch that closed cleanly resumes at
   * once; an expired history (410) re-lists at once; other failures re-list
   * after a pause.
   */
  private async keepWatching(
    what: string,
    once: (cursor: WatchCursor) => Promise<void>,
  ): Promise<void> {
    const cursor: WatchCursor = { resourceVersion: null };
    while (!this.stopped) {
      try {
        await once(cursor);
        continue;
      } catch (error) {
        if (error instanceof WatchExpiredError) {
          cursor.resourceVersion = null;
          continue;
        }
        cursor.resourceVersion = null;
        if (!this.stopped)
          this.warn(`${what} of ${this.jobName} failed (${describeApiError(error)}); retrying`);
      }
      await this.pause(this.ctx.timings.retryDelayMs, this.watching.signal);
    }
  }

  private async watchJob(cursor: WatchCursor): Promise<void> {
    const fieldSelector = `metadata.name=${this.jobName}`;
    if (cursor.resourceVersion === null) {
      const list = await this.ctx.batch.listNamespacedJob({
        namespace: this.namespace,
        fieldSelector,
      });
      const job = list.items[0];
      this.enqueue(() => (job ? this.onJob(job) : this.onJobGone()));
      if (!job) {
        // Nothing to follow any more: wait for the run to end rather than list again at once.
        await this.pause(this.ctx.timings.retryDelayMs, this.watching.signal);
        return;
      }
      cursor.resourceVersion = list.metadata?.resourceVersion ?? null;
    }
    await this.watchUntilClosed(
      `/apis/batch/v1/namespaces/${this.namespace}/jobs`,
      fieldSelector,
      cursor,
      (type, object) => {
        if (type === 'ADDED' || type === 'MODIFIED')
          this.enqueue(() => this.onJob(object as V1Job));
        else if (type === 'DELETED') this.enqueue(() => this.onJobGone());
      },
    );
  }

  private async watchPods(cursor: WatchCursor): Promise<void> {
    const labelSelector = `${RUN_LABEL}=${this.spec.runId}`;
    if (cursor.resourceVersion === null) {
      const list = await this.ctx.core.listNamespacedPod({
        namespace: this.namespace,
        labelSelector,
      });
      const pod = newestPod(list.items);
      if (pod) this.enqueue(() => this.onPod(pod));
      this.enqueue(() => {
        this.caughtUp = true;
      });
      cursor.resourceVersion = list.metadata?.resourceVersion ?? null;
    }
    await this.watchUntilClosed(
      `/api/v1/namespaces/${this.namespace}/pods`,
      `label:${labelSelector}`,
      cursor,
      (type, object) => {
        // Deleted Pods: the Job's conditions (or its deletion) tell what happened.
        if (type === 'ADDED' || type === 'MODIFIED')
          this.enqueue(() => this.onPod(object as V1Pod));
      },
    );
  }

  /**
   * One watch connection from `cursor.resourceVersion`, which follows every
   * event and bookmark; resolves when it closes (by the server or the run
   * ending), rejects on an ERROR event (WatchExpiredError for 410).
   */
  private async watchUntilClosed(
    path: string,
    selector: string,
    cursor: WatchCursor,
    onEvent: (type: WatchEvent, object: unknown) => void,
  ): Promise<void> {
    if (this.stopped) return;
    const query: Record<string, string | number | boolean | undefined> = {
      ...(selector.startsWith('label:')
        ? { labelSelector: selector.slice('label:'.length) }
        : { fieldSelector: selector }),
      resourceVersion: cursor.resourceVersion ?? undefined,
      allowWatchBookmarks: true,
      timeoutSeconds: WATCH_SECONDS,
    };
    let controller: AbortController | undefined;
    const stop = () => controller?.abort();
    await new Promise<void>((resolve, reject) => {
      let closed = false;
      const close = (error?: unknown) => {
        if (closed) return;
        closed = true;
        this.watching.signal.removeEventListener('abort', stop);
        if (error && !this.stopped && !isAbort(error)) reject(toError(error));
        else resolve();
      };
      this.ctx.watch
        .watch(
          path,
          query,
          (type: string, object: unknown) => {
            if (type === 'ERROR') {
              controller?.abort();
              const status = object as { code?: number; message?: string } | null;
              // 410: the history from our resourceVersion is gone; a fresh list brings us up to date.
              close(
                status?.code === 410
                  ? new WatchExpiredError(status.message ?? 'resource version too old')
                  : new Error(`watch error: ${JSON.stringify(object)}`),
              );
              return;
            }
            const version = (object as { metadata?: { resourceVersion?: string } } | null)?.metadata
              ?.resourceVersion;
            if (version) cursor.resourceVersion = version;
            // A bookmark only moves the cursor.
            if (type !== 'BOOKMARK') onEvent(type as WatchEvent, object);
          },
          // The body can close before its last line (an ERROR event) is handed over: let it come first.
          (error: unknown) => setImmediate(() => close(error ?? undefined)),
        )
        .then((started) => {
          controller = started;
          if (closed || this.stopped) started.abort();
          else this.watching.signal.addEventListener('abort', stop, { once: true });
        })
        .catch((error: unknown) => close(error));
    });
  }

  private enqueue(handler: () => Promise<void> | void): void {
    this.events = this.events
      .then(async () => {
        if (!this.finishing) await handler();
      })
      .catch((error: unknown) =>
        this.warn(`following ${this.jobName}: ${describeApiError(error)}`),
      );
  }

  // --- reacting -------------------------------------------------------------

  private async onJob(job: V1Job): Promise<void> {
    const end = jobEnd(job);
    if (!end) return;
    // The Pod watch may lag behind the Job's: read the Pod as it is now.
    const pod = await this.currentPod();
    if (pod) this.onPodProgress(pod);
    if (this.finishing) return;

    switch (end.kind) {
      case 'complete':
        await this.finish({ status: 'succeeded', exitCode: 0, reason: null }, { deleteJob: false });
        return;
      case 'deadline_exceeded':
        await this.finish(this.timedOut(mainExitCode(pod)), { deleteJob: true });
        return;
      case 'failed': {
        const cloneLogLine =
          cloneExitCode(pod) !== null && pod ? await this.lastCloneLogLine(pod) : null;
        const failure = describeFailure(pod, end, this.ctx.settings.memory, cloneLogLine);
        // The failed Job stays (until its TTL) so its Pod can be inspected.
        await this.finish({ status: 'failed', ...failure }, { deleteJob: false });
        return;
      }
    }
  }

  private async onJobGone(): Promise<void> {
    await this.finish(
      { status: 'failed', exitCode: null, reason: 'the Job was deleted outside meltano-cloud' },
      { deleteJob: false },
    );
  }

  private async onPod(pod: V1Pod): Promise<void> {
    const problem = podProblem(pod);
    if (problem?.kind === 'fatal') {
      await this.finish(
        { status: 'failed', exitCode: null, reason: problem.reason },
        { deleteJob: true },
      );
      return;
    }
    if (problem?.kind === 'stuck') {
      // ErrImagePull and ImagePullBackOff alternate: one stuck period, its reason the latest detail.
      const detail =
        problem.detail ?? (this.stuck?.base === problem.reason ? this.stuck.detail : undefined);
      this.armStuck(problem.reason, detail);
    } else this.clearStuck();
    this.onPodProgress(pod);
  }

  /** Phases and the log stream, from whatever Pod state is at hand. */
  private onPodProgress(pod: V1Pod): void {
    const at = (clusterTime: Date | null) =>
      this.caughtUp ? new Date() : (clusterTime ?? new Date());
    this.report('process_created', at(toDate(pod.metadata?.creationTimestamp)));
    const startedAt = pipelineStartedAt(pod);
    if (!startedAt) return;
    this.report('pipeline_started', at(startedAt));
    const podName = pod.metadata?.name;
    if (!this.logs && podName) this.logs = this.streamLogs(podName);
  }

  private report(phase: RunPhase, at: Date): void {
    if (this.reported.has(phase)) return;
    this.reported.add(phase);
    try {
      this.callbacks.onPhase(phase, at);
    } catch (error) {
      this.warn(`onPhase(${phase}) of ${this.jobName} threw: ${describeApiError(error)}`);
    }
  }

  /** Unschedulable (or unconfigurable) for longer than the grace period: give up. */
  private armStuck(base: string, detail?: string): void {
    const reason = detail ? `${base}: ${detail}` : base;
    if (this.stuck) {
      Object.assign(this.stuck, { base, detail, reason });
      return;
    }
    const timer = setTimeout(() => {
      const latest = this.stuck?.reason ?? reason;
      void this.finish({ status: 'failed', exitCode: null, reason: latest }, { deleteJob: true });
    }, this.ctx.timings.unschedulableGraceMs);
    timer.unref();
    this.stuck = { base, detail, reason, timer };
  }

  private clearStuck(): void {
    if (!this.stuck) return;
    clearTimeout(this.stuck.timer);
    this.stuck = null;
  }

  /**
   * Backstop for activeDeadlineSeconds: should the Job controller not end the
   * Job (or its condition not reach us), the run still times out.
   */
  private armDeadline(job: V1Job): void {
    const deadlineSeconds = job.spec?.activeDeadlineSeconds ?? this.spec.timeoutSeconds;
    const startedAt =
      toDate(job.status?.startTime) ?? toDate(job.metadata?.creationTimestamp) ?? new Date();
    const deadline =
      startedAt.getTime() + deadlineSeconds * 1000 + this.ctx.timings.deadlineSlackMs;
    const arm = () => {
      const delay = deadline - Date.now();
      // setTimeout fires at once for delays past ~24.8 days: wait in steps.
      this.deadlineTimer = setTimeout(
        () =>
          delay > MAX_TIMER_MS ? arm() : void this.finish(this.timedOut(null), { deleteJob: true }),
        Math.min(Math.max(0, delay), MAX_TIMER_MS),
      );
      this.deadlineTimer.unref();
    };
    arm();
  }

  private timedOut(exitCode: number | null): RunOutcome {
    return {
      status: 'timed_out',
      exitCode,
      reason: `exceeded the time limit of ${this.spec.timeoutSeconds}s`,
    };
  }

  // --- logs -----------------------------------------------------------------

  /**
   * Follows the main container's log until the container is done. A stream
   * that ends while the container still runs (API server restart, dropped
   * connection) resumes from the last line's second; lines already delivered
   * are skipped by their kubelet timestamp.
   */
  private async streamLogs(pod: string): Promise<void> {
    const signal = this.streaming.signal;
    // The last delivered timestamp and how many lines carried it (several lines can share one).
    // Starting later than the container (a re-attach with 'new' logs) is resuming from that moment.
    const delivered: { last: { key: string; count: number } | null } = {
      last: this.logsFrom ? { key: timestampKey(this.logsFrom), count: 0 } : null,
    };
    while (!signal.aborted) {
      const resumeAt = delivered.last;
      let skip = resumeAt ? { ...resumeAt } : null;
      try {
        await streamPodLog(
          this.ctx.kubeConfig,
          {
            namespace: this.namespace,
            pod,
            container: MELTANO_CONTAINER,
            follow: true,
            sinceTime: resumeAt ? sinceTimeFor(resumeAt.key) : undefined,
          },
          (entry) => {
            if (skip) {
              if (entry.key < skip.key || (entry.key === skip.key && skip.count-- > 0)) return;
              skip = null;
            }
            const last = delivered.last;
            delivered.last =
              last?.key === entry.key
                ? { key: entry.key, count: last.count + 1 }
                : { key: entry.key, count: 1 };
            this.deliver(entry);
          },
          signal,
        );
      } catch (error) {
        if (!signal.aborted) this.warn(`log stream of ${pod} failed (${describeApiError(error)})`);
      }
      if (signal.aborted || (await this.podFinished(pod))) return;
      await this.pause(this.ctx.timings.retryDelayMs, signal);
    }
  }

  private deliver(entry: PodLogEntry): void {
    // The Pod log interleaves stdout and stderr; it cannot tell them apart.
    const line: LogLine = { stream: 'stdout', line: entry.line, timestamp: entry.timestamp };
    try {
      this.callbacks.onLog(line);
    } catch (error) {
      this.warn(`onLog of ${this.jobName} threw: ${describeApiError(error)}`);
    }
  }

  private async podFinished(pod: string): Promise<boolean> {
    try {
      const list = await this.ctx.core.listNamespacedPod({
        namespace: this.namespace,
        fieldSelector: `metadata.name=${pod}`,
      });
      return mainContainerDone(list.items[0]);
    } catch {
      return false;
    }
  }

  private async lastCloneLogLine(pod: V1Pod): Promise<string | null> {
    const lines: string[] = [];
    try {
      await streamPodLog(
        this.ctx.kubeConfig,
        {
          namespace: this.namespace,
          pod: pod.metadata?.name ?? '',
          container: CLONE_CONTAINER,
          follow: false,
          tailLines: 20,
        },
        (entry) => {
          if (entry.line.trim() !== '') lines.push(entry.line.trim());
        },
        this.streaming.signal,
      );
    } catch (error) {
      this.warn(`reading the clone log of ${this.jobName} failed (${describeApiError(error)})`);
    }
    const line = lines.at(-1);
    return line === undefined ? null : this.redact(line);
  }

  // --- ending ---------------------------------------------------------------

  /** The one way a run ends: the first caller decides the outcome. */
  private async finish(outcome: RunOutcome, options: FinishOptions): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    this.clearStuck();
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.watching.abort();

    if (options.deleteJob) await this.deleteJob();
    // Deleted Pods stop gracefully (the entrypoint stores Meltano's partial state): the run ends once they are gone.
    if (options.awaitJobGone || options.deleteJob) await this.awaitJobGone();
    if (this.logs)
      await Promise.race([
        this.logs,
        sleep(this.ctx.timings.logDrainMs, undefined, { ref: false }),
      ]);
    this.streaming.abort();
    await this.deleteSecret();
    this.resolveOutcome({
      ...outcome,
      reason: outcome.reason === null ? null : this.redact(outcome.reason),
    });
  }

  private async deleteJob(): Promise<void> {
    try {
      await this.ctx.batch.deleteNamespacedJob({
        name: this.jobName,
        namespace: this.namespace,
        // Foreground: the Job disappears only after its Pods, so "gone" means stopped.
        propagationPolicy: 'Foreground',
        body: { propagationPolicy: 'Foreground' },
      });
    } catch (error) {
      if (!isApiStatus(error, 404)) {
        this.warn(
          `deleting Job ${this.jobName} failed (${describeApiError(error)}); cleanup will retry`,
        );
      }
    }
  }

  private async awaitJobGone(): Promise<void> {
    const giveUpAt = Date.now() + this.ctx.timings.stopTimeoutMs;
    while (Date.now() < giveUpAt) {
      try {
        await this.ctx.batch.readNamespacedJob({ name: this.jobName, namespace: this.namespace });
      } catch (error) {
        if (isApiStatus(error, 404)) return;
      }
      await sleep(this.ctx.timings.pollIntervalMs);
    }
    this.warn(
      `Job ${this.jobName} still exists ${this.ctx.timings.stopTimeoutMs} ms after its deletion`,
    );
  }

  private async deleteSecret(): Promise<void> {
    try {
      await this.ctx.core.deleteNamespacedSecret({ name: this.jobName, namespace: this.namespace });
    } catch (error) {
      if (!isApiStatus(error, 404)) {
        this.warn(
          `deleting Secret ${this.jobName} failed (${describeApiError(error)}); cleanup will retry`,
        );
      }
    }
  }

  private async currentPod(): Promise<V1Pod | undefined> {
    try {
      const list = await this.ctx.core.listNamespacedPod({
        namespace: this.namespace,
        labelSelector: `${RUN_LABEL}=${this.spec.runId}`,
      });
      return newestPod(list.items);
    } catch (error) {
      this.warn(`listing the Pods of ${this.jobName} failed (${describeApiError(error)})`);
      return undefined;
    }
  }

  // --- helpers --------------------------------------------------------------

  private async pause(ms: number, signal: AbortSignal): Promise<void> {
    try {
      await sleep(ms, undefined, { signal });
    } catch {
      // aborted: the run is ending
    }
  }

  /** The clone token must not reach logs or reasons, whatever an error message echoes. */
  private redact(text: string): string {
    const token = this.spec.repository.token;
    return token ? text.split(token).join('***') : text;
  }

  private warn(message: string): void {
    this.ctx.warn(this.redact(message));
  }
}

interface WatchCursor {
  /** Where the next watch starts; null: list first. */
  resourceVersion: string | null;
}

/** The API server no longer has the history a watch asked for (410 Expired / Gone). */
class WatchExpiredError extends Error {}

function isAbort(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'AbortError';
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
