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
 * Objects are stored keyed by `<namespace>/<name>`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
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
}

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
        j.status.succeeded = 1;
        setCondition(
          j,
          'SuccessCriteriaMet',
          'CompletionsReached',
          'Reached expected number of succeeded pods',
        );
      } else {
        j.status.failed = 1;
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

  async function runPod(job: V1Job, scenario: PodScenario): Promise<void> {
    const runtime = runtimes.get(keyOf(job));
    if (!runtime || runtime.started) return;
    runtime.started = true;
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
    write('pods', pod, 'ADDED');
    updateJob(job, (j) => {
      j.status = { ...j.status, active: 1, ready: 0, startTime: new Date() };
    });
    const deadline = job.spec?.activeDeadlineSeconds;
    if (deadline !== undefined) later(deadline * 1000, () => exceedDeadline(job));

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

    const stuck = (which: 'init' | 'main', container: V1Container): boolean => {
      const waitingHere = scenario.waiting && (scenario.waitingContainer ?? 'main') === which;
      const problem = configError(namespace, container);
      if (!waitingHere && !problem) return false;
      const reason = waitingHere ? scenario.waiting! : 'CreateContainerConfigError';
      const message =
        reason === 'CreateContainerConfigError'
          ? (problem ?? 'secret "missing" not found')
          : reason === 'ErrImagePull'
            ? `rpc error: code = NotFound desc = failed to pull and unpack image "${container.image}": not found`
            : `Back-off pulling image "${container.image}"`;
      updatePod(pod, (p) => setState(p, which, { waiting: { reason, message } }));
      return true;
    };

    if (init) {
      await wait(step);
      if (!alive() || stuck('init', init)) return;
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
        if (alive())
          endJob(job, false, 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
        return;
      }
    }

    await wait(step);
    if (!alive() || !main || stuck('main', main)) return;
    const startedAt = new Date();
    updatePod(pod, (p) => {
      p.status!.phase = 'Running';
      setState(p, 'main', { running: { startedAt } });
    });

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
    });
  }

  /** The main container exits: its log ends, the Pod ends, then the Job controller ends the Job. */
  function terminateMain(
    job: V1Job,
    pod: V1Pod,
    exit: { exitCode: number; reason?: string; evicted?: boolean; stepMs: number },
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
      if (exitCode === 0) endJob(job, true, 'CompletionsReached', '');
      else
        endJob(job, false, 'BackoffLimitExceeded', 'Job has reached the specified backoff limit');
    });
  }

  /** Graceful Pod deletion: running containers get SIGTERM (exit 143), log streams end, then the Pod goes. */
  function deletePod(pod: V1Pod): void {
    const podKey = keyOf(pod);
    updatePod(pod, (p) => {
      p.metadata!.deletionTimestamp = new Date();
      p.metadata!.deletionGracePeriodSeconds = 30;
      for (const which of ['init', 'main'] as const) {
        const list =
          which === 'init' ? p.status?.initContainerStatuses : p.status?.containerStatuses;
        const running = list?.[0]?.state?.running;
        if (running) {
          setState(p, which, {
            terminated: {
              exitCode: 143,
              reason: 'Error',
              startedAt: running.startedAt,
              finishedAt: new Date(),
            },
          });
        }
      }
    });
    for (const container of logs.get(podKey)?.keys() ?? []) endLog(podKey, container);
    if (pods.has(podKey)) write('pods', pod, 'DELETED');
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
      }
      later(5, () => {
        for (const pod of podsOfJob(job)) deletePod(pod);
        if (jobs.has(key)) write('jobs', job, 'DELETED');
      });
      return;
    }
    const dependents = podsOfJob(job);
    write('jobs', job, 'DELETED');
    if (propagation !== 'Orphan') later(5, () => dependents.forEach(deletePod));
  }

  function exceedDeadline(job: V1Job): void {
    const runtime = runtimes.get(keyOf(job));
    if (!jobs.has(keyOf(job)) || !runtime?.alive || job.metadata?.deletionTimestamp) return;
    runtime.alive = false;
    for (const pod of podsOfJob(job)) deletePod(pod);
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
    const watcher: Watcher = { resource, namespace, matches: selectorMatcher(query), res };
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const since = query.resourceVersion;
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
    if (query.timeoutSeconds) later(Number(query.timeoutSeconds) * 1000, () => res.end());
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
      runtimes.set(key, { alive: true, started: false });
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
          deletePod(object as V1Pod);
          return send(res, 200, object);
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
      dropConnections();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
