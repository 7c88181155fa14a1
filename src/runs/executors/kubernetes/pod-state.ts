/**
 * Reading Job and Pod status into what a run needs to know. Pure functions:
 * objects come from typed API calls (timestamps as Date) or from watch events
 * (plain JSON, timestamps as strings), so times are read either way.
 */
import type { V1ContainerStatus, V1Job, V1Pod } from '@kubernetes/client-node';
import type { InfrastructureLoss } from '../executor.js';
import { CLONE_CONTAINER, MELTANO_CONTAINER } from './manifests.js';

export function toDate(value: Date | string | undefined | null): Date | null {
  if (value === undefined || value === null) return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Waiting reasons after which the container will not start without someone fixing the image. */
const IMAGE_UNUSABLE = new Set(['InvalidImageName', 'ErrImageNeverPull']);
/**
 * The kubelet alternates these while it retries a pull (ErrImagePull with the
 * registry's answer, then ImagePullBackOff while it waits): the pull may still
 * work (a registry hiccup, a rate limit), so only an answer saying the image
 * is not there (or not ours to pull) ends the run at once.
 */
const IMAGE_PULL_RETRYING = new Set(['ErrImagePull', 'ImagePullBackOff']);
const IMAGE_MISSING =
  /not found|manifest unknown|repository does not exist|pull access denied|unauthorized|forbidden/i;

export type JobEnd =
  | { kind: 'complete' }
  | { kind: 'failed'; reason: string; message: string | null }
  | { kind: 'deadline_exceeded' };

/** Only the final conditions count (FailureTarget / SuccessCriteriaMet come first since Kubernetes 1.31). */
export function jobEnd(job: V1Job): JobEnd | null {
  for (const condition of job.status?.conditions ?? []) {
    if (condition.status !== 'True') continue;
    if (condition.type === 'Complete') return { kind: 'complete' };
    if (condition.type === 'Failed') {
      if (condition.reason === 'DeadlineExceeded') return { kind: 'deadline_exceeded' };
      return {
        kind: 'failed',
        reason: condition.reason ?? 'Failed',
        message: condition.message ?? null,
      };
    }
  }
  return null;
}

/** The Pod that matters: the newest one (a Job with backoffLimit 0 has one). */
export function newestPod(pods: V1Pod[]): V1Pod | undefined {
  let newest: V1Pod | undefined;
  for (const pod of pods) {
    const created = toDate(pod.metadata?.creationTimestamp)?.getTime() ?? 0;
    const best = toDate(newest?.metadata?.creationTimestamp)?.getTime() ?? -1;
    if (created >= best) newest = pod;
  }
  return newest;
}

function containerStatus(pod: V1Pod, name: string): V1ContainerStatus | undefined {
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  return statuses.find((status) => status.name === name);
}

function containerSpec(pod: V1Pod, name: string) {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find(
    (c) => c.name === name,
  );
}

export type PodProblem =
  /** Will not get better: fail the run now. */
  | { kind: 'fatal'; reason: string }
  /** May get better (a node frees up, a Secret appears, a pull works): fail after a grace period. */
  | { kind: 'stuck'; reason: string; detail?: string };

export function podProblem(pod: V1Pod): PodProblem | null {
  const statuses = [
    ...(pod.status?.initContainerStatuses ?? []),
    ...(pod.status?.containerStatuses ?? []),
  ];
  for (const status of statuses) {
    const waiting = status.state?.waiting;
    if (!waiting?.reason) continue;
    const image = containerSpec(pod, status.name)?.image ?? status.image;
    if (
      IMAGE_UNUSABLE.has(waiting.reason) ||
      (waiting.reason === 'ErrImagePull' && IMAGE_MISSING.test(waiting.message ?? ''))
    ) {
      return { kind: 'fatal', reason: `image not found / cannot be pulled: ${image}` };
    }
    if (IMAGE_PULL_RETRYING.has(waiting.reason)) {
      // ImagePullBackOff says nothing new: the latest ErrImagePull message (kept by the caller) is the reason.
      return {
        kind: 'stuck',
        reason: `the image ${image} cannot be pulled`,
        ...(waiting.reason === 'ErrImagePull' && waiting.message
          ? { detail: waiting.message }
          : {}),
      };
    }
    if (waiting.reason === 'CreateContainerConfigError') {
      return {
        kind: 'stuck',
        reason: `the container cannot be configured: ${waiting.message ?? waiting.reason}`,
      };
    }
  }
  const scheduled = pod.status?.conditions?.find((condition) => condition.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return {
      kind: 'stuck',
      reason: `cannot be scheduled: ${scheduled.message ?? 'no node can run the Pod'}`,
    };
  }
  return null;
}

/** When the main container started (the clone is done), or null while it has not. */
export function pipelineStartedAt(pod: V1Pod): Date | null {
  const state = containerStatus(pod, MELTANO_CONTAINER)?.state;
  if (state?.running) return toDate(state.running.startedAt) ?? new Date();
  // A container killed before it ran has no startedAt: it did not start.
  if (state?.terminated) return toDate(state.terminated.startedAt);
  return null;
}

export function mainExitCode(pod: V1Pod | undefined): number | null {
  if (!pod) return null;
  return containerStatus(pod, MELTANO_CONTAINER)?.state?.terminated?.exitCode ?? null;
}

/** Whether more log lines can come from the main container. */
export function mainContainerDone(pod: V1Pod | undefined): boolean {
  if (!pod) return true;
  // A Pod being deleted still runs until its containers stop (the grace period): its last lines still come.
  if (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed') return true;
  return containerStatus(pod, MELTANO_CONTAINER)?.state?.terminated !== undefined;
}

/** Exit code of a failed clone, or null when the clone did not fail. */
export function cloneExitCode(pod: V1Pod | undefined): number | null {
  if (!pod) return null;
  const exitCode = containerStatus(pod, CLONE_CONTAINER)?.state?.terminated?.exitCode;
  return exitCode !== undefined && exitCode !== 0 ? exitCode : null;
}

/** DisruptionTarget reasons (Kubernetes 1.26+) meaning the Pod's node went away. */
const NODE_LOST_DISRUPTIONS = new Set(['DeletionByTaintManager', 'DeletionByPodGC']);
/** DisruptionTarget reasons meaning the Pod was evicted or preempted, not failed by its pipeline. */
const EVICTION_DISRUPTIONS = new Set([
  'EvictionByEvictionAPI',
  'TerminationByKubelet',
  'PreemptionByScheduler',
]);

/**
 * Why a failed Job failed, in words a user can act on. `cloneLogLine` is the
 * last line the clone container printed (read by the caller when the clone failed).
 */
export function describeFailure(
  pod: V1Pod | undefined,
  end: { reason: string; message: string | null },
  defaultMemoryLimit: string,
  cloneLogLine: string | null,
): { exitCode: number | null; reason: string; lostTo?: InfrastructureLoss } {
  const jobSays = `the Job failed: ${end.message ?? end.reason}`;
  if (!pod) return { exitCode: null, reason: jobSays };

  const exitCode = mainExitCode(pod);
  const disruption = pod.status?.conditions?.find(
    (c) => c.type === 'DisruptionTarget' && c.status === 'True',
  );
  if (
    pod.status?.reason === 'NodeLost' ||
    (disruption && NODE_LOST_DISRUPTIONS.has(disruption.reason ?? ''))
  ) {
    return {
      exitCode,
      reason: `the node running the Pod was lost: ${disruption?.message ?? pod.status?.message ?? 'it stopped responding'}`,
      lostTo: 'node',
    };
  }
  if (
    pod.status?.reason === 'Evicted' ||
    (disruption && EVICTION_DISRUPTIONS.has(disruption.reason ?? ''))
  ) {
    return {
      exitCode,
      reason: `the Pod was evicted: ${pod.status?.message ?? disruption?.message ?? 'the node ran short of resources'}`,
      lostTo: 'eviction',
    };
  }
  const cloneExit = cloneExitCode(pod);
  if (cloneExit !== null) {
    const detail = cloneLogLine
      ? `${cloneLogLine} (exit code ${cloneExit})`
      : `exit code ${cloneExit}`;
    return { exitCode: null, reason: `could not clone the repository: ${detail}` };
  }
  const terminated = containerStatus(pod, MELTANO_CONTAINER)?.state?.terminated;
  if (terminated?.reason === 'OOMKilled') {
    const limit =
      containerSpec(pod, MELTANO_CONTAINER)?.resources?.limits?.memory ?? defaultMemoryLimit;
    return {
      exitCode,
      reason: `out of memory (limit ${limit}): the pipeline used more memory than a run may; reduce batch sizes or parallelism`,
    };
  }
  if (exitCode !== null && exitCode !== 0)
    return { exitCode, reason: `exited with code ${exitCode}` };
  return { exitCode, reason: jobSays };
}
