/**
 * A local stand-in for the Kubernetes API server: a real HTTP server speaking
 * the paths the Kubernetes executor uses (Jobs, Secrets, Pods, Pod logs,
 * list + watch), with a tiny "Job controller + kubelet" that plays a Pod
 * lifecycle scripted by the test (`schedulePod`). Answers use the API's
 * shapes: Status objects for errors, `<Kind>List` with
 * `metadata.resourceVersion`, newline-delimited `{type, object}` watch events,
 * `<RFC3339Nano> <line>` log lines. Created Jobs and Secrets are validated
 * against the official schemas (kubernetes-models); invalid ones get a 422.
 *
 * Where the executor depends on it, the fake does what the real API server
 * and kubelet do: watch history expires (a watch from a compacted
 * resourceVersion gets an `ERROR` event with a 410 `Expired` Status, as does
 * an open watch whose history is expired under it), bookmarks are sent to
 * watches that allow them (`allowWatchBookmarks`, also just before a watch
 * times out), Pods are deleted gracefully (deletionTimestamp, SIGTERM, the
 * containers exit, then the Pod goes), image pulls alternate `ErrImagePull`
 * and `ImagePullBackOff`, the Job controller counts finished Pods through
 * `status.uncountedTerminatedPods` (Pods carry the
 * `batch.kubernetes.io/job-tracking` finalizer) and defaults `backoffLimit`
 * to 6, retrying failed Pods up to it.
 *
 * A scenario can also `execute` the main container for real (a local
 * /bin/sh with the container's command, env resolved from the manifest and
 * its Secret, volume mounts mapped to temporary folders), so the stand-in
 * meltano runs inside a "Pod".
 *
 * Objects are stored keyed by `<namespace>/<name>`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type {
  V1Container,
  V1ContainerState,
  V1ContainerStatus,
  V1Job,
  V1JobCondition,
  V1ObjectMeta,
  V1Pod,
  V1Secret,
} from '@kubernetes/client-node';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Secret } from 'kubernetes-models/v1/Secret';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

export interface PodScenario {
  /** Stay Pending: PodScheduled=False, reason Unschedulable (with this message when a string). */
  unschedulable?: boolean | string;
  /** A container stuck waiting with this reason (image pull failures...). */
  waiting?: 'ImagePullBackOff' | 'ErrImagePull' | 'CreateContainerConfigError';
  /** Which container waits (default: the main one, after a successful clone). */
  waitingContainer?: 'init' | 'main';
  /** Lines the clone (init) container prints. */
  initLogs?: string[];
  /** Exit code of the clone container (default 0). */
  initExit?: number;
  /** Lines the main container prints, one every `logIntervalMs`. */
  logs?: string[];
  logIntervalMs?: number;
  /** Exit code of the main container (default 0). */
  exitCode?: number;
  /** Termination reason of the main container (default Completed / Error by exit code). */
  reason?: 'OOMKilled' | 'Error' | 'Completed';
  /** The kubelet evicts the Pod instead of the container exiting. */
  evicted?: boolean;
  /** Keep the main container running after its logs (until deleted or past its deadline). */
  hold?: boolean;
  /** Delay between lifecycle steps (default 5 ms). */
  stepMs?: number;
  /** With `waiting` ErrImagePull/ImagePullBackOff: pull attempts that fail before one succeeds (default: all fail). */
  imagePullFailures?: number;
  /** The ErrImagePull message (default: the registry says the image is not found). */
  imagePullError?: string;
  /** How long the main container takes to exit after SIGTERM (graceful deletion; default `stepMs`). */
  sigtermExitMs?: number;
  /** Run the main container's command for real instead of playing `logs`/`exitCode`. */
  execute?: ExecuteScenario;
}

export interface ExecuteScenario {
  /** Files the clone container "checks out", relative to the repository root (MC_REPO_DIR). */
  files: Record<string, string>;
  /** Folders put first on PATH (e.g. one holding `meltano` and `python3`); then /usr/bin:/bin. */
  pathPrefix: string[];
}

export interface FakeKubernetes {
  url: string;
  close(): Promise<void>;
  jobs: Map<string, V1Job>;
  secrets: Map<string, V1Secret>;
  pods: Map<string, V1Pod>;
  /** Every request, in arrival order (body parsed as JSON). */
  requests: RecordedRequest[];
  /** Objects refused by validation. */
  rejected: { kind: string; body: unknown; message: string }[];
  /** Plays this Pod lifecycle for the Job (now if it exists, else once it is created). */
  schedulePod(jobName: string, scenario?: PodScenario): void;
  /** What the Job controller does at activeDeadlineSeconds (also done on its own after that many seconds). */
  exceedDeadline(jobName: string): void;
  /** The running main container of the Job's Pod prints a line. */
  printLog(jobName: string, line: string): void;
  /** The running main container of the Job's Pod exits; the Job completes or fails accordingly. */
  exitMain(
    jobName: string,
    exit?: { exitCode?: number; reason?: 'OOMKilled' | 'Error' | 'Completed' },
  ): void;
  /** Ends every open watch and log stream, as an API server restart would; returns how many. */
  dropConnections(): number;
  /** The watch cache forgets history up to now: watches resuming from an older resourceVersion get 410. */
  compactHistory(): void;
  /** Open watches get an ERROR event with a 410 Expired Status and are closed (history expired under them); returns how many. */
  expireWatches(): number;
  /** A BOOKMARK event (the current resourceVersion) to every watch that allowed bookmarks; returns how many. */
  sendBookmarks(): number;
  /** Open watch and follow-log connections. */
  openStreams(): { watches: number; logs: number };
  podsOf(jobName: string): V1Pod[];
}

type Resource = 'jobs' | 'pods' | 'secrets';
type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
type KubeObject = V1Job | V1Pod | V1Secret;

interface Watcher {
  resource: Resource;
  namespace: string;
  matches(object: KubeObject): boolean;
  res: ServerResponse;
  bookmarks: boolean;
}

interface LogEntry {
  /** Nanoseconds since the epoch: orders entries and serves sinceTime. */
  nanos: bigint;
  stamp: string;
  line: string;
}

interface ContainerLog {
  entries: LogEntry[];
  done: boolean;
  followers: Set<{ res: ServerResponse; timestamps: boolean }>;
}

interface JobRuntime {
  /** False once the Job is being deleted or ended by its deadline: the lifecycle stops. */
  alive: boolean;
  started: boolean;
  /** Pods created so far (retries up to backoffLimit). */
  attempts: number;
}

interface PodRuntime {
  /** The executing main container (scenario `execute`). */
  child?: ChildProcess;
  /** The Pod's temporary folders (scenario `execute`). */
  root?: string;
  sigtermExitMs: number;
}

const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';

const LIST_KINDS: Record<Resource, { kind: string; apiVersion: string }> = {
  jobs: { kind: 'JobList', apiVersion: 'batch/v1' },
  pods: { kind: 'PodList', apiVersion: 'v1' },
  secrets: { kind: 'SecretList', apiVersion: 'v1' },
};
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** metav1.Time: RFC3339 in whole seconds. */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Dates as the API writes them (the holder's original value: toJSON already ran on `value`). */
function toJson(object: unknown): string {
  return JSON.stringify(object, function (this: Record<string, unknown>, key, value: unknown) {
    const original = this[key];
    return original instanceof Date ? rfc3339(original) : value;
  });
}

function clone<T>(object: T): T {
  return JSON.parse(toJson(object)) as T;
}

function status(code: number, reason: string, message: string, details?: Record<string, unknown>) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    details,
    code,
  };
}

function successStatus(name: string, group: string, kind: string, uid: string | undefined) {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name, group, kind, uid },
  };
}

/** `a=b,c!=d,e` as the API parses labelSelector (the subset the executor needs). */
function labelMatcher(
  selector: string | undefined,
): (labels: Record<string, string> | undefined) => boolean {
  const terms = (selector ?? '')
    .split(',')
    .map((term) => term.trim())
    .filter(Boolean);
  return (labels = {}) =>
    terms.every((term) => {
      const notEqual = /^([^!=]+)!=(.*)$/.exec(term);
      if (notEqual) return labels[notEqual[1]!] !== notEqual[2];
      const equal = /^([^=]+)==?(.*)$/.exec(term);
      if (equal) return labels[equal[1]!] === equal[2];
      return term in labels;
    });
}

/** The `labelSelector` and `fieldSelector` of a list or watch request, together. */
function selectorMatcher(query: Record<string, string>): (object: KubeObject) => boolean {
  const labels = labelMatcher(query.labelSelector);
  const fields = fieldMatcher(query.fieldSelector);
  return (o) => labels(o.metadata?.labels) && fields(o);
}

function fieldMatcher(selector: string | undefined): (object: KubeObject) => boolean {
  const terms = (selector ?? '')
    .split(',')
    .filter(Boolean)
    .map((term) => /^([^=]+)==?(.*)$/.exec(term));
  return (object) =>
    terms.every((term) => {
      if (!term) return false;
      const [, field, value] = term;
      if (field === 'metadata.name') return object.metadata?.name === value;
      if (field === 'metadata.namespace') return object.metadata?.namespace === value;
      return false;
    });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeKubernetes(
  options: { token?: string } = {},
): Promise<FakeKubernetes> {
  const stores: Record<Resource, Map<string, KubeObject>> = {
    jobs: new Map(),
    pods: new Map(),
    secrets: new Map(),
  };
  const jobs = stores.jobs as Map<string, V1Job>;
  const pods = stores.pods as Map<string, V1Pod>;
  const secrets = stores.secrets as Map<string, V1Secret>;
  const requests: RecordedRequest[] = [];
  const rejected: FakeKubernetes['rejected'] = [];
  const history: { rv: number; resource: Resource; type: EventType; object: KubeObject }[] = [];
  const watchers = new Set<Watcher>();
  const logs = new Map<string, Map<string, ContainerLog>>();
  const scenarios = new Map<string, PodScenario>();
  const runtimes = new Map<string, JobRuntime>();
  const podRuntimes = new Map<string, PodRuntime>();
  /** Watch history before this resourceVersion is gone (the watch cache's window). */
  let compactedRv = 0;
  const timers = new Set<NodeJS.Timeout>();
  let resourceVersion = 1000;
  let lastLogNanos = 0n;

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };
  const wait = (ms: number) => new Promise<void>((resolve) => later(ms, resolve));
  const keyOf = (object: KubeObject) => `${object.metadata?.namespace}/${object.metadata?.name}`;

  // --- storage and watch events ----------------------------------------------

  function write(resource: Resource, object: KubeObject, type: EventType): void {
    resourceVersion += 1;
    object.metadata!.resourceVersion = String(resourceVersion);
    if (type === 'DELETED') stores[resource].delete(keyOf(object));
    else stores[resource].set(keyOf(object), object);
    const snapshot = clone(object);
    history.push({ rv: resourceVersion, resource, type, object: snapshot });
    for (const watcher of watchers) {
      if (
        watcher.resource === resource &&
        watcher.namespace === object.metadata?.namespace &&
        watcher.matches(snapshot)
      ) {
        watcher.res.write(`${toJson({ type, object: snapshot })}\n`);
      }
    }
  }

  function newMeta(namespace: string, name: string, labels?: Record<string, string>): V1ObjectMeta {
    return {
      name,
      namespace,
      uid: randomUUID(),
      creationTimestamp: new Date(),
      labels,
      resourceVersion: '',
    };
  }

  // --- logs ----------------------------------------------------------------------

  function containerLog(podKey: string, container: string): ContainerLog {
    let byContainer = logs.get(podKey);
    if (!byContainer) logs.set(podKey, (byContainer = new Map()));
    let log = byContainer.get(container);
    if (!log)
      byContainer.set(container, (log = { entries: [], done: false, followers: new Set() }));
    return log;
  }

  /** RFC3339Nano as Go writes it (trailing zeros of the fraction trimmed). */
  function nextStamp(): { nanos: bigint; stamp: string } {
    let nanos = BigInt(Date.now()) * 1_000_000n;
    if (nanos <= lastLogNanos) nanos = lastLogNanos + 1n;
    lastLogNanos = nanos;
    const seconds = nanos / 1_000_000_000n;
    const fraction = (nanos % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
    const base = rfc3339(new Date(Number(seconds) * 1000)).slice(0, -1);
    return { nanos, stamp: `${base}${fraction ? `.${fraction}` : ''}Z` };
  }

  function appendLog(podKey: string, container: string, line: string): void {
    const log = containerLog(podKey, container);
    const entry = { ...nextStamp(), line };
    log.entries.push(entry);
    for (const follower of log.followers) follower.res.write(formatLog(entry, follower.timestamps));
  }

  function endLog(podKey: string, container: string): void {
    const log = containerLog(podKey, container);
    log.done = true;
    for (const follower of log.followers) follower.res.end();
    log.followers.clear();
  }

  const formatLog = (entry: LogEntry, timestamps: boolean) =>
    timestamps ? `${entry.stamp} ${entry.line}\n` : `${entry.line}\n`;

  // --- the Job controller and kubelet ----------------------------------------------

  function podsOfJob(job: V1Job): V1Pod[] {
    return [...pods.values()].filter(
      (pod) =>
        pod.metadata?.namespace === job.metadata?.namespace &&
        pod.metadata?.labels?.['batch.kubernetes.io/job-name'] === job.metadata?.name,
    );
  }

  function findJob(name: string): V1Job | undefined {
    return [...jobs.values()].find((job) => job.metadata?.name === name);
  }

  function updateJob(job: V1Job, change: (job: V1Job) => void): void {
    if (!jobs.has(keyOf(job))) return;
    change(job);
    write('jobs', job, 'MODIFIED');
  }

  function setCondition(job: V1Job, type: string, reason: string, message: string): void {
    const now = new Date();
    const condition: V1JobCondition = {
      type,
      status: 'True',
      reason,
      message,
      lastProbeTime: now,
      lastTransitionTime: now,
    };
    job.status!.conditions = [...(job.status!.conditions ?? []), condition];
  }

  /** The final conditions, in the order Kubernetes 1.31+ writes them. */
  function endJob(job: V1Job, succeeded: boolean, reason: string, message: string): void {
    const runtime = runtimes.get(keyOf(job));
    if (runtime) runtime.alive = false;
    updateJob(job, (j) => {
      j.status = { ...j.status, active: 0, ready: 0, terminating: 0 };
      if (succeeded) {
        j.status.succeeded = Math.max(j.status.succeeded ?? 0, 1);
        setCondition(
          j,
          'SuccessCriteriaMet',
          'CompletionsReached',
          'Reached expected number of succeeded pods',
        );
      } else {
        j.status.failed = Math.max(j.status.failed ?? 0, 1);
        setCondition(j, 'FailureTarget', reason, message);
      }
    });
    updateJob(job, (j) => {
      if (succeeded) {
        j.status!.completionTime = new Date();
        setCondition(
          j,
          'Complete',
          'CompletionsReached',
          'Reached expected number of succeeded pods',
        );
      } else {
        setCondition(j, 'Failed', reason, message);
      }
    });
    const ttl = job.spec?.ttlSecondsAfterFinished;
    if (ttl !== undefined) later(ttl * 1000, () => deleteJob(job, 'Background'));
  }

  function containerStatus(container: V1Container, state: V1ContainerState): V1ContainerStatus {
    return {
      name: container.name,
      image: container.image ?? '',
      imageID: '',
      ready: state.running !== undefined,
      restartCount: 0,
      started: state.running !== undefined,
      state,
    };
  }

  function setState(pod: V1Pod, which: 'init' | 'main', state: V1ContainerState): void {
    const container = which === 'init' ? pod.spec!.initContainers![0]! : pod.spec!.containers[0]!;
    const status = containerStatus(container, state);
    if (which === 'init') pod.status!.initContainerStatuses = [status];
    else pod.status!.containerStatuses = [status];
  }

  function updatePod(pod: V1Pod, change: (pod: V1Pod) => void): boolean {
    if (!pods.has(keyOf(pod))) return false;
    change(pod);
    write('pods', pod, 'MODIFIED');
    return true;
  }

  /** Why the kubelet could not configure a container (a missing Secret or key), if so. */
  function configError(namespace: string, container: V1Container): string | null {
    for (const env of container.env ?? []) {
      const ref = env.valueFrom?.secretKeyRef;
      if (!ref || ref.optional) continue;
      const secret = secrets.get(`${namespace}/${ref.name}`);
      if (!secret) return `secret "${ref.name}" not found`;
      if (!(ref.key in (secret.data ?? {})))
        return `couldn't find key ${ref.key} in Secret ${namespace}/${ref.name}`;
    }
    for (const source of container.envFrom ?? []) {
      const name = source.secretRef?.name;
      if (name && !source.secretRef?.optional && !secrets.has(`${namespace}/${name}`)) {
        return `secret "${name}" not found`;
      }
    }
    return null;
  }

  /** Secret volumes that cannot be mounted keep the Pod in ContainerCreating (as FailedMount does). */
  function volumesMountable(pod: V1Pod): boolean {
    return (pod.spec?.volumes ?? []).every((volume) => {
      if (!volume.secret) return true;
      const secret = secrets.get(`${pod.metadata?.namespace}/${volume.secret.secretName}`);
      return (
        secret !== undefined &&
        (volume.secret.items ?? []).every((item) => item.key in (secret.data ?? {}))
      );
    });
  }

  async function runPod(job: V1Job, scenario: PodScenario, retry = false): Promise<void> {
    const runtime = runtimes.get(keyOf(job));
    if (!runtime || (runtime.started && !retry)) return;
    runtime.started = true;
    runtime.attempts += 1;
    const step = scenario.stepMs ?? 5;
    const namespace = job.metadata!.namespace!;
    const alive = () => runtime.alive && jobs.has(keyOf(job));
    const template = job.spec!.template;

    await wait(step);
    if (!alive()) return;
    const podName = `${job.metadata!.name}-${randomBytes(3).toString('hex').slice(0, 5)}`;
    const pod: V1Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        ...newMeta(namespace, podName, {
          ...template.metadata?.labels,
          'batch.kubernetes.io/controller-uid': job.metadata!.uid!,
          'batch.kubernetes.io/job-name': job.metadata!.name!,
          'controller-uid': job.metadata!.uid!,
          'job-name': job.metadata!.name!,
        }),
        finalizers: [JOB_TRACKING_FINALIZER],
        ownerReferences: [
          {
            apiVersion: 'batch/v1',
            kind: 'Job',
            name: job.metadata!.name!,
            uid: job.metadata!.uid!,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: clone(template.spec!),
      status: { phase: 'Pending', qosClass: 'Guaranteed', conditions: [] },
    };
    const podKey = keyOf(pod);
    podRuntimes.set(podKey, { sigtermExitMs: scenario.sigtermExitMs ?? step });
    write('pods', pod, 'ADDED');
    updateJob(job, (j) => {
      j.status = { ...j.status, active: 1, ready: 0, startTime: j.status?.startTime ?? new Date() };
    });
    const deadline = job.spec?.activeDeadlineSeconds;
    if (deadline !== undefined && !retry) later(deadline * 1000, () => exceedDeadline(job));

    await wait(step);
    if (!alive()) return;
    if (scenario.unschedulable) {
      const message =
        typeof scenario.unschedulable === 'string'
          ? scenario.unschedulable
          : '0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';
      updatePod(pod, (p) => {
        p.status!.conditions = [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message,
            lastTransitionTime: new Date(),
          },
        ];
      });
      return;
    }
    const [init] = pod.spec!.initContainers ?? [];
    const [main] = pod.spec!.containers;
    updatePod(pod, (p) => {
      p.spec!.nodeName = 'fake-node-1';
      p.status!.conditions = [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: new Date() },
      ];
      p.status!.hostIP = '10.0.0.1';
      p.status!.podIP = '10.1.0.7';
      p.status!.startTime = new Date();
      if (init) setState(p, 'init', { waiting: { reason: 'PodInitializing' } });
      setState(p, 'main', { waiting: { reason: 'PodInitializing' } });
    });
    if (!volumesMountable(pod)) return;

    /** The kubelet pulling an image that fails: ErrImagePull, then ImagePullBackOff with a growing back-off, again and again. */
    const pullFails = async (which: 'init' | 'main', container: V1Container): Promise<boolean> => {
      const failures = scenario.imagePullFailures ?? Number.POSITIVE_INFINITY;
      const error =
        scenario.imagePullError ??
        `rpc error: code = NotFound desc = failed to pull and unpack image "${container.image}": not found`;
      let backoff = step;
      for (let attempt = 0; attempt < failures; attempt++) {
        if (!alive()) return true;
        updatePod(pod, (p) =>
          setState(p, which, { waiting: { reason: 'ErrImagePull', message: error } }),
        );
        await wait(step);
        if (!alive()) return true;
        updatePod(pod, (p) =>
          setState(p, which, {
            waiting: {
              reason: 'ImagePullBackOff',
              message: `Back-off pulling image "${container.image}"`,
            },
          }),
        );
        await wait(backoff);
        backoff = Math.min(backoff * 2, step * 40);
      }
      return !alive();
    };

    const stuck = async (which: 'init' | 'main', container: V1Container): Promise<boolean> => {
      const waitingHere = scenario.waiting && (scenario.waitingContainer ?? 'main') === which;
      if (
        waitingHere &&
        (scenario.waiting === 'ErrImagePull' || scenario.waiting === 'ImagePullBackOff')
      ) {
        if (await pullFails(which, container)) return true;
      }
      const problem = configError(namespace, container);
      const configWait = waitingHere && scenario.waiting === 'CreateContainerConfigError';
      if (!configWait && !problem) return false;
      const message = problem ?? 'secret "missing" not found';
      updatePod(pod, (p) =>
        setState(p, which, { waiting: { reason: 'CreateContainerConfigError', message } }),
      );
      return true;
    };

    if (init) {
      await wait(step);
      if (!alive() || (await stuck('init', init))) return;
      const startedAt = new Date();
      updatePod(pod, (p) => setState(p, 'init', { running: { startedAt } }));
      for (const line of scenario.initLogs ?? []) appendLog(podKey, init.name, line);
      await wait(step);
      if (!alive()) return;
      const exitCode = scenario.initExit ?? 0;
      endLog(podKey, init.name);
      updatePod(pod, (p) => {
        setState(p, 'init', {
          terminated: {
            exitCode,
            reason: exitCode === 0 ? 'Completed' : 'Error',
            startedAt,
            finishedAt: new Date(),
          },
        });
        if (exitCode !== 0) p.status!.phase = 'Failed';
      });
      if (exitCode !== 0) {
        await wait(step);
        if (alive()) podEnded(job, pod, false, scenario);
        return;
      }
    }

    await wait(step);
    if (!alive() || !main || (await stuck('main', main))) return;
    const startedAt = new Date();
    updatePod(pod, (p) => {
      p.status!.phase = 'Running';
      setState(p, 'main', { running: { startedAt } });
    });
    if (scenario.execute) {
      execute(job, pod, init, main, scenario);
      return;
    }

    for (const line of scenario.logs ?? []) {
      await wait(scenario.logIntervalMs ?? step);
      if (!alive()) return;
      appendLog(podKey, main.name, line);
    }
    if (scenario.hold) return;

    await wait(step);
    if (!alive()) return;
    terminateMain(job, pod, {
      exitCode: scenario.evicted ? 137 : (scenario.exitCode ?? 0),
      reason: scenario.reason,
      evicted: scenario.evicted,
      stepMs: step,
      scenario,
    });
  }

  /** Values as the container sees them: plain, or from a Secret key (base64-decoded). */
  function resolveEnv(namespace: string, container: V1Container): Record<string, string> {
    const env: Record<string, string> = {};
    for (const variable of container.env ?? []) {
      const ref = variable.valueFrom?.secretKeyRef;
      if (ref) {
        const data = secrets.get(`${namespace}/${ref.name}`)?.data?.[ref.key];
        if (data !== undefined) env[variable.name] = Buffer.from(data, 'base64').toString('utf8');
      } else {
        env[variable.name] = variable.value ?? '';
      }
    }
    return env;
  }

  /**
   * Runs the main container's command as a local process: every volume is a
   * temporary folder, mount paths in env values and the working directory
   * are mapped to them, the "clone" writes the scenario's files into
   * MC_REPO_DIR, output lines become the container log, the exit code ends
   * the container; graceful deletion sends it SIGTERM.
   */
  function execute(
    job: V1Job,
    pod: V1Pod,
    init: V1Container | undefined,
    main: V1Container,
    scenario: PodScenario,
  ): void {
    const podKey = keyOf(pod);
    const namespace = pod.metadata!.namespace!;
    const runtime = podRuntimes.get(podKey)!;
    const root = mkdtempSync(path.join(tmpdir(), 'fake-kubelet-'));
    runtime.root = root;
    const hostDirs = new Map<string, string>();
    for (const volume of pod.spec?.volumes ?? []) {
      const dir = path.join(root, volume.name);
      mkdirSync(dir, { recursive: true });
      hostDirs.set(volume.name, dir);
      if (volume.secret) {
        const data = secrets.get(`${namespace}/${volume.secret.secretName}`)?.data ?? {};
        for (const item of volume.secret.items ?? []) {
          const content = data[item.key];
          if (content !== undefined)
            writeFileSync(path.join(dir, item.path), Buffer.from(content, 'base64'));
        }
      }
    }
    const mounts = (main.volumeMounts ?? [])
      .map((mount) => ({ from: mount.mountPath, to: hostDirs.get(mount.name)! }))
      .sort((a, b) => b.from.length - a.from.length);
    const pattern = new RegExp(
      `(${mounts.map((m) => m.from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})(?=/|$|\\.)`,
      'g',
    );
    const remap = (value: string) =>
      mounts.length === 0
        ? value
        : value.replace(pattern, (from) => mounts.find((m) => m.from === from)!.to);
    const repoDir = init ? resolveEnv(namespace, init).MC_REPO_DIR : undefined;
    if (repoDir) {
      for (const [file, content] of Object.entries(scenario.execute!.files)) {
        const target = path.join(remap(repoDir), file);
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, content);
      }
    }
    const env = Object.fromEntries(
      Object.entries(resolveEnv(namespace, main)).map(([name, value]) => [name, remap(value)]),
    );
    env.PATH = [...scenario.execute!.pathPrefix, '/usr/bin', '/bin'].join(':');
    const cwd = remap(main.workingDir ?? root);
    mkdirSync(cwd, { recursive: true });
    const [command, ...args] = [...(main.command ?? []), ...(main.args ?? [])];
    const child = spawn(command!, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    runtime.child = child;
    for (const stream of [child.stdout, child.stderr]) {
      let pending = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        pending += chunk;
        let newline: number;
        while ((newline = pending.indexOf('\n')) !== -1) {
          appendLog(podKey, main.name, pending.slice(0, newline));
          pending = pending.slice(newline + 1);
        }
      });
      stream.on('end', () => {
        if (pending !== '') appendLog(podKey, main.name, pending);
      });
    }
    child.on('close', (code, signal) => {
      const exitCode = code ?? 128 + (signal === 'SIGKILL' ? 9 : 15);
      if (pod.metadata?.deletionTimestamp) finishDeletion(pod, exitCode);
      else terminateMain(job, pod, { exitCode, stepMs: 5, scenario });
    });
  }

  /** The main container exits: its log ends, the Pod ends, then the Job controller ends the Job. */
  function terminateMain(
    job: V1Job,
    pod: V1Pod,
    exit: {
      exitCode: number;
      reason?: string;
      evicted?: boolean;
      stepMs: number;
      scenario?: PodScenario;
    },
  ): void {
    const runtime = runtimes.get(keyOf(job));
    const main = pod.spec!.containers[0]!;
    const running = pod.status?.containerStatuses?.[0]?.state?.running;
    if (!runtime?.alive || !running) return;
    const { exitCode } = exit;
    const reason = exit.reason ?? (exitCode === 0 ? 'Completed' : 'Error');
    endLog(keyOf(pod), main.name);
    updatePod(pod, (p) => {
      setState(p, 'main', {
        terminated: { exitCode, reason, startedAt: running.startedAt, finishedAt: new Date() },
      });
      p.status!.phase = exitCode === 0 ? 'Succeeded' : 'Failed';
      if (exit.evicted) {
        p.status!.reason = 'Evicted';
        p.status!.message =
          'The node was low on resource: memory. Threshold quantity: 100Mi, available: 52Mi.';
      }
    });
    later(exit.stepMs, () => {
      if (!runtime.alive || !jobs.has(keyOf(job))) return;
      podEnded(job, pod, exitCode === 0, exit.scenario ?? {});
    });
  }

  /**
   * The Job controller sees a Pod finish: it is recorded in
   * status.uncountedTerminatedPods, its job-tracking finalizer removed, then
   * counted; a failure is retried while fewer than backoffLimit Pods failed,
   * else the Job ends.
   */
  function podEnded(job: V1Job, pod: V1Pod, succeeded: boolean, scenario: PodScenario): void {
    const uid = pod.metadata!.uid!;
    updateJob(job, (j) => {
      j.status = {
        ...j.status,
        active: 0,
        ready: 0,
        uncountedTerminatedPods: succeeded ? { succeeded: [uid] } : { failed: [uid] },
      };
    });
    later(5, () => {
      if (!jobs.has(keyOf(job))) return;
      updatePod(pod, (p) => {
        p.metadata!.finalizers = (p.metadata!.finalizers ?? []).filter(
          (f) => f !== JOB_TRACKING_FINALIZER,
        );
      });
      updateJob(job, (j) => {
        j.status = {
          ...j.status,
          uncountedTerminatedPods: {},
          ...(succeeded
            ? { succeeded: (j.status?.succeeded ?? 0) + 1 }
            : { failed: (j.status?.failed ?? 0) + 1 }),
        };
      });
      const runtime = runtimes.get(keyOf(job));
      if (succeeded) {
        endJob(job, true, 'CompletionsReached', '');
      } else if ((job.status?.failed ?? 0) <= (job.spec?.backoffLimit ?? 6) && runtime?.alive) {
        void runPod(job, scenario, true);
      } else {
        endJob(job, false, 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
      }
    });
  }

  /**
   * Graceful Pod deletion, as the API server and kubelet do it: the Pod gets
   * a deletionTimestamp (now + grace period) and stays; running containers
   * get SIGTERM and exit (143) after `sigtermExitMs` (an executing one when
   * its process exits, SIGKILLed at the end of the grace period); then the
   * job-tracking finalizer goes and the Pod is deleted. Resolves once it is gone.
   */
  function deletePod(pod: V1Pod, gracePeriodSeconds?: number): Promise<void> {
    const podKey = keyOf(pod);
    if (!pods.has(podKey)) return Promise.resolve();
    const gone = new Promise<void>((resolve) => deletionWaiters(podKey).push(resolve));
    if (pod.metadata?.deletionTimestamp) return gone;
    const grace = gracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    updatePod(pod, (p) => {
      p.metadata!.deletionTimestamp = new Date(Date.now() + grace * 1000);
      p.metadata!.deletionGracePeriodSeconds = grace;
    });
    const runtime = podRuntimes.get(podKey);
    const child = runtime?.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      later(grace * 1000, () => child.kill('SIGKILL'));
    } else {
      const running = [
        ...(pod.status?.initContainerStatuses ?? []),
        ...(pod.status?.containerStatuses ?? []),
      ].some((status) => status.state?.running);
      later(running ? (runtime?.sigtermExitMs ?? 5) : 0, () => finishDeletion(pod, 143));
    }
    return gone;
  }

  const waitersByPod = new Map<string, (() => void)[]>();
  function deletionWaiters(podKey: string): (() => void)[] {
    let list = waitersByPod.get(podKey);
    if (!list) waitersByPod.set(podKey, (list = []));
    return list;
  }

  /** The containers of a Pod being deleted have stopped: their state, logs ended, finalizer removed, the Pod gone. */
  function finishDeletion(pod: V1Pod, exitCode: number): void {
    const podKey = keyOf(pod);
    if (!pods.has(podKey)) return;
    updatePod(pod, (p) => {
      for (const which of ['init', 'main'] as const) {
        const list =
          which === 'init' ? p.status?.initContainerStatuses : p.status?.containerStatuses;
        const running = list?.[0]?.state?.running;
        if (running) {
          setState(p, which, {
            terminated: {
              exitCode,
              reason: 'Error',
              startedAt: running.startedAt,
              finishedAt: new Date(),
            },
          });
        }
      }
      if (p.status!.phase !== 'Succeeded') p.status!.phase = 'Failed';
    });
    for (const container of logs.get(podKey)?.keys() ?? []) endLog(podKey, container);
    if (pod.metadata?.finalizers?.length) {
      updatePod(pod, (p) => {
        p.metadata!.finalizers = [];
      });
    }
    if (pods.has(podKey)) write('pods', pod, 'DELETED');
    const root = podRuntimes.get(podKey)?.root;
    if (root) rmSync(root, { recursive: true, force: true });
    for (const resolve of waitersByPod.get(podKey) ?? []) resolve();
    waitersByPod.delete(podKey);
  }

  function deleteJob(job: V1Job, propagation: string): void {
    const key = keyOf(job);
    if (!jobs.has(key)) return;
    const runtime = runtimes.get(key);
    if (runtime) runtime.alive = false;
    if (propagation === 'Foreground') {
      // The Job stays, marked, until its Pods are gone.
      if (!job.metadata!.deletionTimestamp) {
        updateJob(job, (j) => {
          j.metadata!.deletionTimestamp = new Date();
          j.metadata!.deletionGracePeriodSeconds = 0;
          j.metadata!.finalizers = ['foregroundDeletion'];
        });
        later(5, () => {
          void Promise.all(podsOfJob(job).map((pod) => deletePod(pod))).then(() => {
            if (jobs.has(key)) write('jobs', job, 'DELETED');
          });
        });
      }
      return;
    }
    const dependents = podsOfJob(job);
    write('jobs', job, 'DELETED');
    if (propagation !== 'Orphan') later(5, () => dependents.forEach((pod) => void deletePod(pod)));
  }

  function exceedDeadline(job: V1Job): void {
    const runtime = runtimes.get(keyOf(job));
    if (!jobs.has(keyOf(job)) || !runtime?.alive || job.metadata?.deletionTimestamp) return;
    runtime.alive = false;
    for (const pod of podsOfJob(job)) void deletePod(pod);
    endJob(job, false, 'DeadlineExceeded', 'Job was active longer than specified deadline');
  }

  // --- HTTP ------------------------------------------------------------------------

  function send(res: ServerResponse, code: number, body: unknown): void {
    const text = toJson(body);
    res.writeHead(code, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  }

  function notFound(res: ServerResponse, resource: Resource, name: string): void {
    const group = resource === 'jobs' ? 'batch' : '';
    send(
      res,
      404,
      status(404, 'NotFound', `${resource}${group ? `.${group}` : ''} "${name}" not found`, {
        name,
        group,
        kind: resource,
      }),
    );
  }

  function list(
    res: ServerResponse,
    resource: Resource,
    namespace: string,
    query: Record<string, string>,
  ): void {
    const matches = selectorMatcher(query);
    const items = [...stores[resource].values()]
      .filter((o) => o.metadata?.namespace === namespace && matches(o))
      .map((o) => {
        // List items carry no kind/apiVersion.
        const { kind: _kind, apiVersion: _apiVersion, ...rest } = clone(o);
        return rest;
      });
    send(res, 200, {
      ...LIST_KINDS[resource],
      metadata: { resourceVersion: String(resourceVersion) },
      items,
    });
  }

  function watch(
    req: IncomingMessage,
    res: ServerResponse,
    resource: Resource,
    namespace: string,
    query: Record<string, string>,
  ): void {
    const watcher: Watcher = {
      resource,
      namespace,
      matches: selectorMatcher(query),
      res,
      bookmarks: query.allowWatchBookmarks === 'true',
    };
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const since = query.resourceVersion;
    if (since && since !== '0' && Number(since) < compactedRv) {
      // The API server answers 200 and then one ERROR event: the history asked for is gone.
      res.end(`${toJson({ type: 'ERROR', object: expired(since) })}\n`);
      return;
    }
    if (since && since !== '0') {
      for (const event of history) {
        if (event.resource !== resource || event.rv <= Number(since)) continue;
        if (event.object.metadata?.namespace !== namespace || !watcher.matches(event.object))
          continue;
        res.write(`${toJson({ type: event.type, object: event.object })}\n`);
      }
    } else {
      for (const object of stores[resource].values()) {
        if (object.metadata?.namespace === namespace && watcher.matches(object)) {
          res.write(`${toJson({ type: 'ADDED', object })}\n`);
        }
      }
    }
    watchers.add(watcher);
    // res, not req: a request 'close's once its body is read, the response when the connection goes.
    res.on('close', () => watchers.delete(watcher));
    if (query.timeoutSeconds) {
      later(Number(query.timeoutSeconds) * 1000, () => {
        // A bookmark right before the server ends the watch, so the client resumes from here.
        if (watcher.bookmarks && !res.writableEnded) res.write(bookmark(resource));
        res.end();
      });
    }
  }

  function expired(since: string) {
    return status(410, 'Expired', `too old resource version: ${since} (${compactedRv})`);
  }

  function bookmark(resource: Resource): string {
    const kind = LIST_KINDS[resource].kind.replace(/List$/, '');
    const object = {
      kind,
      apiVersion: LIST_KINDS[resource].apiVersion,
      metadata: { resourceVersion: String(resourceVersion) },
    };
    return `${toJson({ type: 'BOOKMARK', object })}\n`;
  }

  /** What the API checks beyond the schema: names, label values, namespace. */
  function invalid(resource: Resource, body: KubeObject, namespace: string): string | null {
    try {
      if (resource === 'jobs') new Job(body as ConstructorParameters<typeof Job>[0]).validate();
      else new Secret(body as ConstructorParameters<typeof Secret>[0]).validate();
    } catch (error) {
      return (error as Error).message;
    }
    const name = body.metadata?.name ?? '';
    if (!DNS_LABEL.test(name) || name.length > 63) return `metadata.name: Invalid value: "${name}"`;
    if (body.metadata?.namespace && body.metadata.namespace !== namespace) {
      return 'the namespace of the provided object does not match the namespace sent on the request';
    }
    const labelSets = [body.metadata?.labels, (body as V1Job).spec?.template?.metadata?.labels];
    for (const labels of labelSets) {
      for (const [key, value] of Object.entries(labels ?? {})) {
        if (value.length > 63 || !LABEL_VALUE.test(value))
          return `metadata.labels: Invalid value: "${value}" (${key})`;
      }
    }
    return null;
  }

  function create(
    res: ServerResponse,
    resource: 'jobs' | 'secrets',
    namespace: string,
    body: KubeObject,
  ): void {
    const kind = resource === 'jobs' ? 'Job' : 'Secret';
    const problem = invalid(resource, body, namespace);
    const name = body.metadata?.name ?? '';
    if (problem) {
      rejected.push({ kind, body, message: problem });
      const qualified = resource === 'jobs' ? 'Job.batch' : 'Secret';
      send(
        res,
        422,
        status(422, 'Invalid', `${qualified} "${name}" is invalid: ${problem}`, {
          name,
          kind: resource,
        }),
      );
      return;
    }
    const key = `${namespace}/${name}`;
    if (stores[resource].has(key)) {
      const qualified = resource === 'jobs' ? 'jobs.batch' : 'secrets';
      send(
        res,
        409,
        status(409, 'AlreadyExists', `${qualified} "${name}" already exists`, {
          name,
          kind: resource,
        }),
      );
      return;
    }
    const object = clone(body);
    object.metadata = {
      ...object.metadata,
      ...newMeta(namespace, name, object.metadata?.labels),
      generation: 1,
    };
    if (resource === 'jobs') {
      const job = object as V1Job;
      const uid = job.metadata!.uid!;
      const controllerLabels = {
        'batch.kubernetes.io/controller-uid': uid,
        'batch.kubernetes.io/job-name': name,
        'controller-uid': uid,
        'job-name': name,
      };
      job.spec = {
        // The defaults the API server fills in (backoffLimit 6: a failed Pod is retried).
        backoffLimit: 6,
        completions: 1,
        parallelism: 1,
        completionMode: 'NonIndexed',
        suspend: false,
        ...job.spec!,
        selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } },
      };
      job.spec.template.metadata = {
        ...job.spec.template.metadata,
        labels: { ...job.spec.template.metadata?.labels, ...controllerLabels },
      };
      job.metadata!.labels = { ...controllerLabels, ...job.metadata!.labels };
      job.status = {};
      runtimes.set(key, { alive: true, started: false, attempts: 0 });
    }
    write(resource, object, 'ADDED');
    send(res, 201, object);
    const scenario = resource === 'jobs' ? scenarios.get(name) : undefined;
    if (scenario) void runPod(object as V1Job, scenario);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const text = await readBody(req);
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      requests.push({ method: req.method ?? '', path: url.pathname, query, body: text });
      send(res, 400, status(400, 'BadRequest', 'the request body is not JSON'));
      return;
    }
    requests.push({ method: req.method ?? '', path: url.pathname, query, body });

    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) {
      send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }

    const route =
      /^\/apis\/batch\/v1\/namespaces\/([^/]+)\/(jobs)(?:\/([^/]+))?$/.exec(url.pathname) ??
      /^\/api\/v1\/namespaces\/([^/]+)\/(secrets|pods)(?:\/([^/]+))?(\/log)?$/.exec(url.pathname);
    if (!route) {
      send(res, 404, status(404, 'NotFound', 'the server could not find the requested resource'));
      return;
    }
    const namespace = decodeURIComponent(route[1]!);
    const resource = route[2] as Resource;
    const name = route[3] === undefined ? undefined : decodeURIComponent(route[3]);
    const method = req.method ?? 'GET';

    if (route[4] && name && method === 'GET') return podLog(req, res, namespace, name, query);
    if (name === undefined) {
      if (method === 'GET' && query.watch === 'true')
        return watch(req, res, resource, namespace, query);
      if (method === 'GET') return list(res, resource, namespace, query);
      if (method === 'POST' && resource !== 'pods')
        return create(res, resource, namespace, body as KubeObject);
    } else {
      const object = stores[resource].get(`${namespace}/${name}`);
      if (method === 'GET') return object ? send(res, 200, object) : notFound(res, resource, name);
      if (method === 'PUT' && resource === 'secrets')
        return replaceSecret(res, namespace, name, body as V1Secret);
      if (method === 'DELETE') {
        if (!object) return notFound(res, resource, name);
        const deleteOptions = (body ?? {}) as { propagationPolicy?: string };
        const propagation =
          deleteOptions.propagationPolicy ?? query.propagationPolicy ?? 'Background';
        if (resource === 'jobs') {
          deleteJob(object as V1Job, propagation);
          // Still there (foreground: waiting for its Pods): the API answers with the object.
          const remaining = jobs.get(`${namespace}/${name}`);
          if (remaining) return send(res, 200, remaining);
          return send(res, 200, successStatus(name, 'batch', 'jobs', object.metadata?.uid));
        }
        if (resource === 'pods') {
          const grace = (body as { gracePeriodSeconds?: number } | undefined)?.gracePeriodSeconds;
          void deletePod(
            object as V1Pod,
            grace ?? (query.gracePeriodSeconds ? Number(query.gracePeriodSeconds) : undefined),
          );
          // Graceful: the Pod is still there, with its deletionTimestamp.
          return send(res, 200, pods.get(`${namespace}/${name}`) ?? object);
        }
        write(resource, object, 'DELETED');
        return send(res, 200, successStatus(name, '', resource, object.metadata?.uid));
      }
    }
    send(
      res,
      405,
      status(
        405,
        'MethodNotAllowed',
        `the server does not allow this method on the requested resource`,
      ),
    );
  }

  function replaceSecret(
    res: ServerResponse,
    namespace: string,
    name: string,
    body: V1Secret,
  ): void {
    const existing = secrets.get(`${namespace}/${name}`);
    if (!existing) return notFound(res, 'secrets', name);
    const problem = invalid('secrets', body, namespace);
    if (problem || body.metadata?.name !== name) {
      rejected.push({ kind: 'Secret', body, message: problem ?? 'name mismatch' });
      send(
        res,
        422,
        status(422, 'Invalid', `Secret "${name}" is invalid: ${problem ?? 'metadata.name'}`),
      );
      return;
    }
    const sentVersion = body.metadata?.resourceVersion;
    if (sentVersion && sentVersion !== existing.metadata?.resourceVersion) {
      send(
        res,
        409,
        status(
          409,
          'Conflict',
          `Operation cannot be fulfilled on secrets "${name}": the object has been modified`,
        ),
      );
      return;
    }
    const object = clone(body);
    object.metadata = { ...object.metadata, ...existing.metadata, labels: object.metadata?.labels };
    write('secrets', object, 'MODIFIED');
    send(res, 200, object);
  }

  function podLog(
    req: IncomingMessage,
    res: ServerResponse,
    namespace: string,
    podName: string,
    query: Record<string, string>,
  ): void {
    const pod = pods.get(`${namespace}/${podName}`);
    if (!pod) return notFound(res, 'pods', podName);
    const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map(
      (c) => c.name,
    );
    const container = query.container ?? (containers.length === 1 ? containers[0] : undefined);
    if (!container || !containers.includes(container)) {
      const message = container
        ? `container ${container} is not valid for pod ${podName}`
        : `a container name must be specified for pod ${podName}, choose one of: [${containers.join(' ')}]`;
      return send(res, 400, status(400, 'BadRequest', message));
    }
    const statuses = [
      ...(pod.status?.initContainerStatuses ?? []),
      ...(pod.status?.containerStatuses ?? []),
    ];
    const state = statuses.find((s) => s.name === container)?.state;
    if (!state || state.waiting) {
      const reason = state?.waiting?.reason ?? 'ContainerCreating';
      return send(
        res,
        400,
        status(
          400,
          'BadRequest',
          `container "${container}" in pod "${podName}" is waiting to start: ${reason}`,
        ),
      );
    }
    const log = containerLog(`${namespace}/${podName}`, container);
    const timestamps = query.timestamps === 'true';
    const sinceNanos = query.sinceTime
      ? BigInt(new Date(query.sinceTime).getTime()) * 1_000_000n
      : 0n;
    let entries = log.entries.filter((entry) => entry.nanos >= sinceNanos);
    if (query.tailLines) entries = entries.slice(-Number(query.tailLines));

    res.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    for (const entry of entries) res.write(formatLog(entry, timestamps));
    if (query.follow !== 'true' || log.done) {
      res.end();
      return;
    }
    const follower = { res, timestamps };
    log.followers.add(follower);
    res.on('close', () => log.followers.delete(follower));
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, status(500, 'InternalError', String(error)));
      else res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  function runningPod(jobName: string): V1Pod | undefined {
    const job = findJob(jobName);
    const pod = job
      ? podsOfJob(job).find((p) => p.status?.containerStatuses?.[0]?.state?.running)
      : undefined;
    if (!pod) throw new Error(`no running Pod for Job ${jobName}`);
    return pod;
  }

  const dropConnections = () => {
    let dropped = 0;
    for (const watcher of watchers) {
      watcher.res.end();
      dropped += 1;
    }
    watchers.clear();
    for (const byContainer of logs.values()) {
      for (const log of byContainer.values()) {
        for (const follower of log.followers) {
          follower.res.end();
          dropped += 1;
        }
        log.followers.clear();
      }
    }
    return dropped;
  };

  return {
    compactHistory() {
      compactedRv = resourceVersion;
      history.splice(0, history.length);
    },
    expireWatches() {
      // Past every resourceVersion a watcher has seen: resuming from any of them is 410 too.
      resourceVersion += 1;
      compactedRv = resourceVersion;
      history.splice(0, history.length);
      let expiredWatches = 0;
      for (const watcher of watchers) {
        watcher.res.end(`${toJson({ type: 'ERROR', object: expired(String(compactedRv - 1)) })}\n`);
        expiredWatches += 1;
      }
      watchers.clear();
      return expiredWatches;
    },
    sendBookmarks() {
      let sent = 0;
      for (const watcher of watchers) {
        if (!watcher.bookmarks) continue;
        watcher.res.write(bookmark(watcher.resource));
        sent += 1;
      }
      return sent;
    },
    url: `http://127.0.0.1:${port}`,
    jobs,
    secrets,
    pods,
    requests,
    rejected,
    schedulePod(jobName, scenario = {}) {
      scenarios.set(jobName, scenario);
      const job = findJob(jobName);
      if (job) void runPod(job, scenario);
    },
    printLog(jobName, line) {
      const pod = runningPod(jobName);
      if (pod) appendLog(keyOf(pod), pod.spec!.containers[0]!.name, line);
    },
    exitMain(jobName, exit = {}) {
      const job = findJob(jobName);
      const pod = runningPod(jobName);
      if (job && pod)
        terminateMain(job, pod, { exitCode: exit.exitCode ?? 0, reason: exit.reason, stepMs: 5 });
    },
    exceedDeadline(jobName) {
      const job = findJob(jobName);
      if (job) exceedDeadline(job);
    },
    dropConnections,
    openStreams() {
      let logStreams = 0;
      for (const byContainer of logs.values()) {
        for (const log of byContainer.values()) logStreams += log.followers.size;
      }
      return { watches: watchers.size, logs: logStreams };
    },
    podsOf(jobName) {
      const job = findJob(jobName);
      return job ? podsOfJob(job) : [];
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const runtime of runtimes.values()) runtime.alive = false;
      for (const runtime of podRuntimes.values()) {
        runtime.child?.kill('SIGKILL');
        if (runtime.root) rmSync(runtime.root, { recursive: true, force: true });
      }
      dropConnections();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
