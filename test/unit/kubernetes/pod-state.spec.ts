import type { V1ContainerState, V1ContainerStatus, V1Job, V1Pod } from '@kubernetes/client-node';
import { parseLogLine, sinceTimeFor } from '../../../src/runs/executors/kubernetes/pod-logs.js';
import {
  describeFailure,
  jobEnd,
  podProblem,
} from '../../../src/runs/executors/kubernetes/pod-state.js';

describe('parseLogLine', () => {
  it('reads the kubelet timestamp, including trimmed fractions, into a sortable key', () => {
    const entry = parseLogLine('2025-03-01T10:00:00.1234Z Extracted 42 records');
    expect(entry.line).toBe('Extracted 42 records');
    expect(entry.timestamp.toISOString()).toBe('2025-03-01T10:00:00.123Z');
    expect(entry.key).toBe('2025-03-01T10:00:00.123400000Z');
    expect(parseLogLine('2025-03-01T10:00:00Z  indented').line).toBe(' indented');
    expect(
      parseLogLine('2025-03-01T10:00:00.9Z x').key >
        parseLogLine('2025-03-01T10:00:00.123456789Z x').key,
    ).toBe(true);
    expect(sinceTimeFor(entry.key)).toBe('2025-03-01T10:00:00Z');
  });

  it('keeps a line without a timestamp whole', () => {
    expect(parseLogLine('no timestamp here')).toMatchObject({ line: 'no timestamp here', key: '' });
  });
});

describe('jobEnd', () => {
  const withConditions = (conditions: object[]) => ({ status: { conditions } }) as V1Job;

  it('waits for the final condition, not FailureTarget / SuccessCriteriaMet', () => {
    expect(jobEnd(withConditions([{ type: 'SuccessCriteriaMet', status: 'True' }]))).toBeNull();
    expect(
      jobEnd(
        withConditions([{ type: 'FailureTarget', status: 'True', reason: 'DeadlineExceeded' }]),
      ),
    ).toBeNull();
    expect(jobEnd(withConditions([{ type: 'Complete', status: 'True' }]))).toEqual({
      kind: 'complete',
    });
    expect(
      jobEnd(withConditions([{ type: 'Failed', status: 'True', reason: 'DeadlineExceeded' }])),
    ).toEqual({
      kind: 'deadline_exceeded',
    });
  });
});

describe('podProblem and describeFailure', () => {
  const pod = (status: V1Pod['status'], limit = '4Gi'): V1Pod => ({
    spec: {
      initContainers: [{ name: 'clone', image: 'alpine/git:2.47.2' }],
      containers: [
        { name: 'meltano', image: 'meltano/meltano:v3', resources: { limits: { memory: limit } } },
      ],
    },
    status,
  });
  /** The Pod's `meltano` container in `state`. */
  const meltano = (state: V1ContainerState): V1ContainerStatus => ({
    name: 'meltano',
    image: '',
    imageID: '',
    ready: false,
    restartCount: 0,
    state,
  });
  const failed = {
    reason: 'BackoffLimitExceeded',
    message: 'Job has reached the specified backoff limit',
  };

  it('treats a missing image as fatal, a pull being retried and unschedulable Pods as stuck', () => {
    const waiting = (reason: string, message?: string) =>
      pod({ containerStatuses: [meltano({ waiting: { reason, message } })] });
    const notFound =
      'rpc error: code = NotFound desc = failed to pull and unpack image "meltano/meltano:v3": not found';
    expect(podProblem(waiting('ErrImagePull', notFound))).toEqual({
      kind: 'fatal',
      reason: 'image not found / cannot be pulled: meltano/meltano:v3',
    });
    expect(podProblem(waiting('InvalidImageName'))).toMatchObject({ kind: 'fatal' });
    // A registry hiccup: the kubelet retries, alternating ErrImagePull and ImagePullBackOff.
    expect(podProblem(waiting('ErrImagePull', '429 Too Many Requests'))).toEqual({
      kind: 'stuck',
      reason: 'the image meltano/meltano:v3 cannot be pulled',
      detail: '429 Too Many Requests',
    });
    expect(podProblem(waiting('ImagePullBackOff', 'Back-off pulling image'))).toEqual({
      kind: 'stuck',
      reason: 'the image meltano/meltano:v3 cannot be pulled',
    });
    expect(podProblem(waiting('ContainerCreating'))).toBeNull();
    expect(
      podProblem(
        pod({
          conditions: [
            { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: 'no nodes' },
          ],
        }),
      ),
    ).toEqual({ kind: 'stuck', reason: 'cannot be scheduled: no nodes' });
  });

  it('names the limit the Pod actually had when it ran out of memory', () => {
    const oom = pod({
      containerStatuses: [meltano({ terminated: { exitCode: 137, reason: 'OOMKilled' } })],
    });
    expect(describeFailure(oom, failed, '2Gi', null)).toMatchObject({
      exitCode: 137,
      reason: expect.stringMatching(/^out of memory \(limit 4Gi\)/),
    });
  });

  it('falls back to the Job condition when there is no Pod to look at', () => {
    expect(describeFailure(undefined, failed, '2Gi', null)).toEqual({
      exitCode: null,
      reason: 'the Job failed: Job has reached the specified backoff limit',
    });
  });
});
