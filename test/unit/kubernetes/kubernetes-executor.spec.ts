import type { ExecutionHandle, RunSpec } from '../../../src/runs/executors/executor.js';
import { KubernetesExecutor } from '../../../src/runs/executors/kubernetes/kubernetes-executor.js';
import {
  buildRunJob,
  buildRunSecret,
  runJobName,
} from '../../../src/runs/executors/kubernetes/manifests.js';
import {
  startFakeKubernetes,
  type FakeKubernetes,
  type RecordedRequest,
} from '../../support/fake-kubernetes.js';
import { CLONE_TOKEN, makeSpec, recorder, settings, until } from './fixtures.js';

const API_TOKEN = 'cluster-api-token';
const NS = settings.namespace;
const jobsPath = `/apis/batch/v1/namespaces/${NS}/jobs`;
const secretsPath = `/api/v1/namespaces/${NS}/secrets`;
const podsPath = `/api/v1/namespaces/${NS}/pods`;

let fake: FakeKubernetes;
let warnings: string[];

beforeEach(async () => {
  fake = await startFakeKubernetes({ token: API_TOKEN });
  warnings = [];
});
afterEach(async () => {
  await fake.close();
});

function executor(
  overrides: {
    unschedulableGraceMs?: number;
    deadlineSlackMs?: number;
    logDrainMs?: number;
    retryDelayMs?: number;
  } = {},
) {
  return new KubernetesExecutor({
    kubeConfig: KubernetesExecutor.kubeConfigFor({
      apiUrl: fake.url,
      token: API_TOKEN,
      skipTlsVerify: true,
    }),
    settings,
    logger: { warn: (message) => warnings.push(message) },
    retryDelayMs: 20,
    logDrainMs: 1000,
    pollIntervalMs: 10,
    stopTimeoutMs: 2000,
    unschedulableGraceMs: 5 * 60_000,
    ...overrides,
  });
}

const sent = (method: string, path: string) =>
  fake.requests.filter((request) => request.method === method && request.path === path);
const deletesOf = (path: string) => sent('DELETE', path);

/** Creates the run's Secret and Job directly, as a worker that then died would have left them. */
async function leftByAnotherWorker(spec: RunSpec) {
  const headers = { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' };
  for (const [path, body] of [
    [secretsPath, buildRunSecret(spec, settings)],
    [jobsPath, buildRunJob(spec, settings)],
  ] as const) {
    const response = await fetch(`${fake.url}${path}`, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    });
    expect(response.status).toBe(201);
  }
}

function expectNoTokenSent(requests: RecordedRequest[]) {
  for (const request of requests.filter((r) => !r.path.endsWith('/secrets'))) {
    expect(JSON.stringify(request)).not.toContain(CLONE_TOKEN);
  }
}

describe('KubernetesExecutor against the fake API server', () => {
  it('runs a Job to success: Secret first, phases in order, log lines streamed in order', async () => {
    const spec = makeSpec();
    const name = runJobName(spec.runId);
    fake.schedulePod(name, {
      initLogs: ['Cloning…'],
      logs: ['Installing plugins', 'Running tap-github → target-postgres', 'Extracted 42 records'],
    });
    const run = recorder();

    const handle = await executor().start(spec, run.callbacks);
    expect(handle.ref).toBe(name);
    const outcome = await handle.outcome;

    expect(outcome).toEqual({ status: 'succeeded', exitCode: 0, reason: null });
    expect(run.timeline).toEqual([
      'phase:process_created',
      'phase:pipeline_started',
      'log:Installing plugins',
      'log:Running tap-github → target-postgres',
      'log:Extracted 42 records',
    ]);
    // Kubelet timestamps, in order.
    const times = run.logs.map((line) => line.timestamp.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(Math.abs(times[0]! - Date.now())).toBeLessThan(5000);

    // Secret before Job; the Job as sent holds no secret.
    const creates = fake.requests.filter((r) => r.method === 'POST').map((r) => r.path);
    expect(creates).toEqual([secretsPath, jobsPath]);
    expect(fake.rejected).toEqual([]);
    expectNoTokenSent(fake.requests);

    // Followed by watch (Job by name, Pods by run label) and a followed log with timestamps.
    expect(sent('GET', jobsPath)).toContainEqual(
      expect.objectContaining({
        query: expect.objectContaining({ watch: 'true', fieldSelector: `metadata.name=${name}` }),
      }),
    );
    expect(sent('GET', podsPath)).toContainEqual(
      expect.objectContaining({
        query: expect.objectContaining({
          watch: 'true',
          labelSelector: `meltano.cloud/run=${spec.runId}`,
        }),
      }),
    );
    const podName = fake.podsOf(name)[0]!.metadata!.name!;
    expect(sent('GET', `${podsPath}/${podName}/log`)[0]!.query).toMatchObject({
      container: 'meltano',
      follow: 'true',
      timestamps: 'true',
    });

    // The Secret goes with the run; the Job stays for its TTL.
    expect(deletesOf(`${secretsPath}/${name}`)).toHaveLength(1);
    expect(fake.secrets.has(`${NS}/${name}`)).toBe(false);
    expect(deletesOf(`${jobsPath}/${name}`)).toHaveLength(0);
    expect(fake.jobs.has(`${NS}/${name}`)).toBe(true);
    await until(
      () => fake.openStreams().watches === 0 && fake.openStreams().logs === 0,
      'streams to close',
    );
    expect(warnings).toEqual([]);
  });

  it('reports a non-zero exit with its code', async () => {
    const spec = makeSpec();
    fake.schedulePod(runJobName(spec.runId), {
      logs: ['Traceback (most recent call last):'],
      exitCode: 3,
    });
    const run = recorder();
    const outcome = await (await executor().start(spec, run.callbacks)).outcome;
    expect(outcome).toEqual({ status: 'failed', exitCode: 3, reason: 'exited with code 3' });
    expect(run.lines()).toEqual(['Traceback (most recent call last):']);
  });

  it('explains OOMKilled with the memory limit', async () => {
    const spec = makeSpec();
    fake.schedulePod(runJobName(spec.runId), {
      logs: ['loading'],
      exitCode: 137,
      reason: 'OOMKilled',
    });
    const outcome = await (await executor().start(spec, recorder().callbacks)).outcome;
    expect(outcome.status).toBe('failed');
    expect(outcome.exitCode).toBe(137);
    expect(outcome.reason).toMatch(/^out of memory \(limit 2Gi\)/);
  });

  it('explains an eviction', async () => {
    const spec = makeSpec();
    fake.schedulePod(runJobName(spec.runId), { logs: ['loading'], evicted: true });
    const outcome = await (await executor().start(spec, recorder().callbacks)).outcome;
    expect(outcome).toMatchObject({
      status: 'failed',
      reason: expect.stringMatching(/^the Pod was evicted: The node was low on resource: memory/),
    });
  });

  it('reports a failed clone with its last log line, the token redacted', async () => {
    const spec = makeSpec();
    fake.schedulePod(runJobName(spec.runId), {
      initLogs: [
        'Cloning…',
        `fatal: unable to access 'https://x-access-token:${CLONE_TOKEN}@github.com/acme/analytics.git/': 403`,
      ],
      initExit: 128,
    });
    const run = recorder();
    const outcome = await (await executor().start(spec, run.callbacks)).outcome;
    expect(outcome).toEqual({
      status: 'failed',
      exitCode: null,
      reason:
        "could not clone the repository: fatal: unable to access 'https://x-access-token:***@github.com/acme/analytics.git/': 403 (exit code 128)",
    });
    expect(run.timeline).toEqual(['phase:process_created']);
    const podName = fake.podsOf(runJobName(spec.runId))[0]!.metadata!.name!;
    expect(sent('GET', `${podsPath}/${podName}/log`)[0]!.query).toMatchObject({
      container: 'clone',
      tailLines: '20',
    });
  });

  it.each([
    ['main', 'ImagePullBackOff', settings.meltanoImage],
    ['init', 'ErrImagePull', settings.gitImage],
  ] as const)(
    'fails fast when the %s image cannot be pulled (%s) and deletes the Job',
    async (container, reason, image) => {
      const spec = makeSpec();
      const name = runJobName(spec.runId);
      fake.schedulePod(name, { waiting: reason, waitingContainer: container });
      // Fails fast: every grace period, drain and retry pause is 10 minutes here, far past the
      // test's own timeout, so the outcome can only arrive if none of them is waited for.
      const patient = 10 * 60_000;
      const outcome = await (
        await executor({
          unschedulableGraceMs: patient,
          logDrainMs: patient,
          retryDelayMs: patient,
        }).start(spec, recorder().callbacks)
      ).outcome;

      expect(outcome).toEqual({
        status: 'failed',
        exitCode: null,
        reason: `image not found / cannot be pulled: ${image}`,
      });
      expect(deletesOf(`${jobsPath}/${name}`)[0]).toMatchObject({
        query: { propagationPolicy: 'Foreground' },
        body: { propagationPolicy: 'Foreground' },
      });
      expect(deletesOf(`${secretsPath}/${name}`)).toHaveLength(1);
      await until(
        () => !fake.jobs.has(`${NS}/${name}`) && fake.podsOf(name).length === 0,
        'the Job to go',
      );
    },
  );

  it('fails a Pod that stays unschedulable past the grace period', async () => {
    const spec = makeSpec();
    const name = runJobName(spec.runId);
    fake.schedulePod(name, { unschedulable: '0/3 nodes are available: 3 Insufficient memory.' });
    const run = recorder();
    const startedAt = Date.now();
    const outcome = await (
      await executor({ unschedulableGraceMs: 150 }).start(spec, run.callbacks)
    ).outcome;

    expect(outcome).toEqual({
      status: 'failed',
      exitCode: null,
      reason: 'cannot be scheduled: 0/3 nodes are available: 3 Insufficient memory.',
    });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(150);
    expect(run.timeline).toEqual(['phase:process_created']);
    expect(deletesOf(`${jobsPath}/${name}`)[0]!.query).toMatchObject({
      propagationPolicy: 'Foreground',
    });
  });

  it('fails when the Pod cannot be configured (its Secret is gone) past the grace period', async () => {
    // No secret files: a missing Secret volume would keep the Pod in ContainerCreating instead.
    const spec = makeSpec({ files: [] });
    const name = runJobName(spec.runId);
    await leftByAnotherWorker(spec);
    await fetch(`${fake.url}${secretsPath}/${name}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    fake.schedulePod(name, {});
    const handle = await executor({ unschedulableGraceMs: 100 }).reattach(
      name,
      spec,
      recorder().callbacks,
    );
    const outcome = await handle!.outcome;
    expect(outcome.reason).toBe(`the container cannot be configured: secret "${name}" not found`);
  });

  it('times out when the Job passes its deadline, and deletes the Job', async () => {
    const spec = makeSpec();
    const name = runJobName(spec.runId);
    fake.schedulePod(name, { logs: ['still extracting'], hold: true });
    const run = recorder();
    const handle = await executor().start(spec, run.callbacks);
    await until(() => run.logs.length === 1, 'the first log line');

    fake.exceedDeadline(name);
    const outcome = await handle.outcome;

    expect(outcome).toEqual({
      status: 'timed_out',
      exitCode: null,
      reason: 'exceeded the time limit of 3600s',
    });
    expect(deletesOf(`${jobsPath}/${name}`)[0]).toMatchObject({
      body: { propagationPolicy: 'Foreground' },
    });
    expect(deletesOf(`${secretsPath}/${name}`)).toHaveLength(1);
    expect(run.lines()).toEqual(['still extracting']);
  });

  it('times the run out itself when Kubernetes does not end the Job at its deadline', async () => {
    const spec = makeSpec();
    const name = runJobName(spec.runId);
    fake.schedulePod(name, { hold: true });
    // A negative slack brings the backstop (deadline + slack) to 150 ms after the Job started.
    const handle = await executor({ deadlineSlackMs: 150 - 3600_000 }).start(
      spec,
      recorder().callbacks,
    );
    await expect(handle.outcome).resolves.toEqual({
      status: 'timed_out',
      exitCode: null,
      reason: 'exceeded the time limit of 3600s',
    });
    expect(deletesOf(`${jobsPath}/${name}`)[0]).toMatchObject({
      body: { propagationPolicy: 'Foreground' },
    });
  });

  it('cancels: deletes the Job in the foreground and the Secret, and resolves once the Job is gone', async () => {
    const spec = makeSpec();
    const name = runJobName(spec.runId);
    fake.schedulePod(name, { logs: ['extracting'], hold: true });
    const run = recorder();
    const handle = await executor().start(spec, run.callbacks);
    await until(() => run.logs.length === 1, 'the first log line');

    await handle.cancel();

    expect(fake.jobs.has(`${NS}/${name}`)).toBe(false);
    expect(fake.podsOf(name)).toEqual([]);
    expect(fake.secrets.has(`${NS}/${name}`)).toBe(false);
    const deletes = deletesOf(`${jobsPath}/${name}`);
    expect(deletes).toHaveLength(1);
    expect(deletes[0]).toMatchObject({
      query: { propagationPolicy: 'Foreground' },
      body: { propagationPolicy: 'Foreground' },
    });
    expect(deletesOf(`${secretsPath}/${name}`)).toHaveLength(1);
    await expect(handle.outcome).resolves.toEqual({
      status: 'cancelled',
      exitCode: null,
      reason: 'cancelled',
    });
    // A second cancel is harmless.
    await handle.cancel();
    expect(deletesOf(`${jobsPath}/${name}`)).toHaveLength(1);
  });

  /** A Job left running by a dead worker, its main container having printed `lines`. */
  async function runningJobWithLines(spec: RunSpec, lines: string[]) {
    const name = runJobName(spec.runId);
    await leftByAnotherWorker(spec);
    fake.schedulePod(name, { hold: true });
    await until(() => fake.podsOf(name)[0]?.status?.phase === 'Running', 'the Pod to run');
    for (const line of lines) fake.printLog(name, line);
    return name;
  }

  it('re-attaches to a running Job from a new executor, replaying its log', async () => {
    const spec = makeSpec();
    const name = await runningJobWithLines(spec, ['one', 'two']);
    const pod = fake.podsOf(name)[0]!;
    const containerStartedAt = pod.status!.containerStatuses![0]!.state!.running!.startedAt;
    const requestsBefore = fake.requests.length;

    const run = recorder();
    const handle = (await executor().reattach(name, spec, run.callbacks)) as ExecutionHandle;
    expect(handle.ref).toBe(name);
    await until(() => run.logs.length === 2, 'the replayed lines');
    fake.printLog(name, 'three');
    fake.exitMain(name, { exitCode: 0 });

    await expect(handle.outcome).resolves.toEqual({
      status: 'succeeded',
      exitCode: 0,
      reason: null,
    });
    expect(run.timeline).toEqual([
      'phase:process_created',
      'phase:pipeline_started',
      'log:one',
      'log:two',
      'log:three',
    ]);
    // Phases reached before the re-attach carry the cluster's times (whole seconds), not "now".
    const seconds = (date: Date | string | undefined) =>
      Math.floor(new Date(date!).getTime() / 1000) * 1000;
    expect(run.phases[0]!.at.getTime()).toBe(seconds(pod.metadata!.creationTimestamp));
    expect(run.phases[1]!.at.getTime()).toBe(seconds(containerStartedAt));
    // Nothing created again.
    expect(fake.requests.slice(requestsBefore).filter((r) => r.method === 'POST')).toEqual([]);
    expect(deletesOf(`${secretsPath}/${name}`)).toHaveLength(1);
  });

  it("re-attaches with reattachLogs: 'new' without repeating earlier lines", async () => {
    const spec = makeSpec();
    const name = await runningJobWithLines(spec, ['before-1', 'before-2']);
    await new Promise((resolve) => setTimeout(resolve, 5));

    const run = recorder();
    const newOnly = new KubernetesExecutor({
      kubeConfig: KubernetesExecutor.kubeConfigFor({
        apiUrl: fake.url,
        token: API_TOKEN,
        skipTlsVerify: true,
      }),
      settings,
      reattachLogs: 'new',
      retryDelayMs: 20,
    });
    const handle = (await newOnly.reattach(name, spec, run.callbacks))!;
    await until(() => fake.openStreams().logs === 1, 'the log to be followed');
    fake.printLog(name, 'after');
    fake.exitMain(name, { exitCode: 0 });

    await expect(handle.outcome).resolves.toMatchObject({ status: 'succeeded' });
    expect(run.lines()).toEqual(['after']);
    const podName = fake.podsOf(name)[0]!.metadata!.name!;
    expect(sent('GET', `${podsPath}/${podName}/log`)[0]!.query.sinceTime).toMatch(/Z$/);
  });

  it('returns null when re-attaching to a Job that is gone or belongs to another run', async () => {
    const spec = makeSpec();
    expect(
      await executor().reattach(runJobName(spec.runId), spec, recorder().callbacks),
    ).toBeNull();
    const other = makeSpec();
    await leftByAnotherWorker(other);
    expect(
      await executor().reattach(runJobName(other.runId), spec, recorder().callbacks),
    ).toBeNull();
    expect(warnings).toEqual([expect.stringContaining('does not belong to run')]);
  });

  it('attaches to the existing Job when start is retried', async () => {
    const spec = makeSpec();
    const name = runJobName(spec.runId);
    fake.schedulePod(name, { logs: ['working'], hold: true });
    const first = await executor().start(spec, recorder().callbacks);
    await until(() => fake.podsOf(name)[0]?.status?.phase === 'Running', 'the Pod to run');

    const retry = recorder();
    const second = await executor().start(spec, retry.callbacks);
    expect(sent('PUT', `${secretsPath}/${name}`)).toHaveLength(1);
    expect(sent('POST', jobsPath)).toHaveLength(2);
    expect(fake.podsOf(name)).toHaveLength(1);
    await until(() => retry.logs.length === 1, 'the retry to follow the log');
    fake.exitMain(name, { exitCode: 0 });

    await expect(second.outcome).resolves.toMatchObject({ status: 'succeeded' });
    await expect(first.outcome).resolves.toMatchObject({ status: 'succeeded' });
  });

  it('survives dropped watch and log connections: resumes the watches where they were and the log without repeats', async () => {
    const spec = makeSpec();
    const name = runJobName(spec.runId);
    fake.schedulePod(name, { logs: ['a', 'b', 'c'], hold: true });
    const run = recorder();
    const handle = await executor().start(spec, run.callbacks);
    await until(() => run.logs.length === 3, 'three lines');
    const jobListsBefore = sent('GET', jobsPath).filter((r) => r.query.watch !== 'true').length;
    const podWatchesBefore = sent('GET', podsPath).filter((r) => r.query.watch === 'true').length;

    expect(fake.dropConnections()).toBe(3);
    await until(
      () => fake.openStreams().watches === 2 && fake.openStreams().logs === 1,
      'streams to reopen',
    );
    fake.printLog(name, 'd');
    fake.exitMain(name, { exitCode: 0 });

    await expect(handle.outcome).resolves.toMatchObject({ status: 'succeeded' });
    expect(run.lines()).toEqual(['a', 'b', 'c', 'd']);
    // No history was lost, so no re-list: the watches resume from the last resourceVersion seen.
    expect(sent('GET', jobsPath).filter((r) => r.query.watch !== 'true').length).toBe(
      jobListsBefore,
    );
    const resumed = sent('GET', podsPath).filter((r) => r.query.watch === 'true')[
      podWatchesBefore
    ]!;
    expect(Number(resumed.query.resourceVersion)).toBeGreaterThan(1000);
    expect(resumed.query.allowWatchBookmarks).toBe('true');
    const podName = fake.podsOf(name)[0]!.metadata!.name!;
    const logRequests = sent('GET', `${podsPath}/${podName}/log`);
    expect(logRequests.length).toBeGreaterThanOrEqual(2);
    expect(logRequests[1]!.query.sinceTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });

  describe('what the real API server does', () => {
    const watchesOf = (path: string) =>
      sent('GET', path).filter((request) => request.query.watch === 'true');
    /** Lists a watch starts from: the Job by name, the Pods by run label (not the log stream's by-name reads). */
    const listsOf = (path: string) =>
      sent('GET', path).filter(
        (request) =>
          request.query.watch !== 'true' &&
          (path === jobsPath ? request.query.fieldSelector : request.query.labelSelector),
      );

    it('a watch that gets 410 Expired re-lists and resumes, with no lost or duplicated log line', async () => {
      const spec = makeSpec();
      const name = runJobName(spec.runId);
      fake.schedulePod(name, { logs: ['line 1', 'line 2'], hold: true });
      const run = recorder();
      const handle = await executor().start(spec, run.callbacks);
      await until(() => run.logs.length === 2, 'two lines');
      const jobLists = listsOf(jobsPath).length;
      const podLists = listsOf(podsPath).length;

      // The watch cache's window moves past both watches: each gets ERROR 410 and is closed.
      expect(fake.expireWatches()).toBe(2);
      fake.printLog(name, 'line 3');
      await until(
        () => listsOf(jobsPath).length > jobLists && listsOf(podsPath).length > podLists,
        'both to re-list',
      );
      await until(() => fake.openStreams().watches === 2, 'both watches to reopen');
      fake.printLog(name, 'line 4');
      // Then other objects change (the watches' cursors stay behind: no events, no bookmarks
      // asked for by them), history is compacted and the connections drop: resuming is 410 again.
      await leftByAnotherWorker(makeSpec());
      fake.compactHistory();
      expect(fake.dropConnections()).toBe(3);
      await until(() => listsOf(jobsPath).length > jobLists + 1, 'a second re-list');
      fake.printLog(name, 'line 5');
      fake.exitMain(name, { exitCode: 0 });

      await expect(handle.outcome).resolves.toEqual({
        status: 'succeeded',
        exitCode: 0,
        reason: null,
      });
      expect(run.lines()).toEqual(['line 1', 'line 2', 'line 3', 'line 4', 'line 5']);
      expect(run.timeline.filter((entry) => entry.startsWith('phase:'))).toEqual([
        'phase:process_created',
        'phase:pipeline_started',
      ]);
      // Expected behaviour, not a failure worth a warning.
      expect(warnings).toEqual([]);
    });

    it('asks for bookmarks and resumes a watch from the last bookmark without re-listing', async () => {
      const spec = makeSpec();
      const name = runJobName(spec.runId);
      fake.schedulePod(name, { logs: ['a'], hold: true });
      const run = recorder();
      const handle = await executor().start(spec, run.callbacks);
      await until(() => run.logs.length === 1, 'a line');
      await until(() => fake.openStreams().watches === 2, 'two watches');
      expect(watchesOf(jobsPath).every((r) => r.query.allowWatchBookmarks === 'true')).toBe(true);
      const lists = listsOf(jobsPath).length + listsOf(podsPath).length;

      // Unrelated objects move the resourceVersion on; only bookmarks tell the watches.
      await leftByAnotherWorker(makeSpec());
      const current = Number(fake.jobs.get(`${NS}/${name}`)!.metadata!.resourceVersion) + 3;
      expect(fake.sendBookmarks()).toBe(2);
      await new Promise((resolve) => setTimeout(resolve, 50));
      fake.dropConnections();
      await until(() => fake.openStreams().watches === 2, 'watches to resume');
      const resumed = watchesOf(podsPath).at(-1)!;
      expect(Number(resumed.query.resourceVersion)).toBeGreaterThanOrEqual(current);
      expect(listsOf(jobsPath).length + listsOf(podsPath).length).toBe(lists);

      fake.exitMain(name, { exitCode: 0 });
      await expect(handle.outcome).resolves.toMatchObject({ status: 'succeeded' });
      expect(run.lines()).toEqual(['a']);
    });

    it('cancel waits for the graceful end of the Pod and keeps the lines it prints meanwhile', async () => {
      const spec = makeSpec();
      const name = runJobName(spec.runId);
      fake.schedulePod(name, { logs: ['extracting'], hold: true, sigtermExitMs: 300 });
      const run = recorder();
      const handle = await executor().start(spec, run.callbacks);
      await until(() => run.logs.length === 1, 'the first line');

      let cancelled = false;
      const cancel = handle.cancel().then(() => (cancelled = true));
      await until(
        () => Boolean(fake.podsOf(name)[0]?.metadata?.deletionTimestamp),
        'the Pod to be terminating',
      );
      // Still there, still running: the grace period, not an instant removal.
      const terminating = fake.podsOf(name)[0]!;
      expect(terminating.metadata!.deletionGracePeriodSeconds).toBe(30);
      expect(terminating.status!.containerStatuses![0]!.state!.running).toBeDefined();
      fake.printLog(name, '[meltano-cloud] Meltano state: stored prod:tap-a-to-target-b');
      expect(cancelled).toBe(false);
      await cancel;

      expect(fake.podsOf(name)).toEqual([]);
      expect(run.lines()).toEqual([
        'extracting',
        '[meltano-cloud] Meltano state: stored prod:tap-a-to-target-b',
      ]);
      await expect(handle.outcome).resolves.toMatchObject({ status: 'cancelled' });
    });

    it('rides out ErrImagePull alternating with ImagePullBackOff when the pull then works', async () => {
      const spec = makeSpec();
      const name = runJobName(spec.runId);
      fake.schedulePod(name, {
        waiting: 'ErrImagePull',
        imagePullError: 'failed to pull image: 429 Too Many Requests',
        imagePullFailures: 3,
        logs: ['pulled at last'],
      });
      const run = recorder();
      const outcome = await (await executor().start(spec, run.callbacks)).outcome;
      expect(outcome).toEqual({ status: 'succeeded', exitCode: 0, reason: null });
      expect(run.lines()).toEqual(['pulled at last']);
    });

    it('gives up on a pull that keeps failing after the grace period, naming the registry error', async () => {
      const spec = makeSpec();
      fake.schedulePod(runJobName(spec.runId), {
        waiting: 'ErrImagePull',
        imagePullError: 'failed to pull image: 429 Too Many Requests',
      });
      const outcome = await (
        await executor({ unschedulableGraceMs: 200 }).start(spec, recorder().callbacks)
      ).outcome;
      // ImagePullBackOff came last or not: the reason is the registry's answer.
      expect(outcome).toEqual({
        status: 'failed',
        exitCode: null,
        reason: `the image ${settings.meltanoImage} cannot be pulled: failed to pull image: 429 Too Many Requests`,
      });
    });

    it('follows a Job whose finished Pod goes through uncountedTerminatedPods; one Pod (backoffLimit 0, not the default 6)', async () => {
      const spec = makeSpec();
      const name = runJobName(spec.runId);
      fake.schedulePod(name, { logs: ['x'], exitCode: 3 });
      const outcome = await (await executor().start(spec, recorder().callbacks)).outcome;
      expect(outcome).toMatchObject({ status: 'failed', exitCode: 3 });
      const job = fake.jobs.get(`${NS}/${name}`)!;
      expect(job.spec!.backoffLimit).toBe(0);
      expect(job.status).toMatchObject({ failed: 1, uncountedTerminatedPods: {} });
      expect(fake.podsOf(name)).toHaveLength(1);
    });
  });

  it('rejects start when the API refuses the Job, and removes the Secret it created', async () => {
    const spec = makeSpec();
    const name = runJobName(spec.runId);
    const broken = new KubernetesExecutor({
      kubeConfig: KubernetesExecutor.kubeConfigFor({
        apiUrl: fake.url,
        token: API_TOKEN,
        skipTlsVerify: true,
      }),
      // Not an integer: the API's schema validation refuses it.
      settings: { ...settings, jobTtlSeconds: 1.5 },
    });
    await expect(broken.start(spec, recorder().callbacks)).rejects.toThrow(
      new RegExp(`^creating Job ${name} failed: HTTP 422: Job.batch "${name}" is invalid`),
    );
    expect(fake.rejected).toHaveLength(1);
    expect(deletesOf(`${secretsPath}/${name}`)).toHaveLength(1);
    expect(fake.secrets.size).toBe(0);
  });

  it('cleans up the Jobs and Secrets of inactive runs only', async () => {
    const active = makeSpec();
    const ended = makeSpec();
    await leftByAnotherWorker(active);
    await leftByAnotherWorker(ended);
    const asked: string[] = [];

    await executor().cleanup(async (runId) => {
      asked.push(runId);
      return runId === active.runId;
    });

    expect(new Set(asked)).toEqual(new Set([active.runId, ended.runId]));
    const managed = { labelSelector: 'app.kubernetes.io/managed-by=meltano-cloud' };
    expect(sent('GET', jobsPath)[0]!.query).toEqual(managed);
    expect(sent('GET', secretsPath)[0]!.query).toEqual(managed);
    const endedName = runJobName(ended.runId);
    const deletes = fake.requests.filter((r) => r.method === 'DELETE');
    expect(deletes.map((r) => r.path)).toEqual([
      `${jobsPath}/${endedName}`,
      `${secretsPath}/${endedName}`,
    ]);
    expect(deletesOf(`${jobsPath}/${endedName}`)[0]!.body).toEqual({
      propagationPolicy: 'Foreground',
    });
    await until(() => !fake.jobs.has(`${NS}/${endedName}`), 'the ended Job to go');
    expect(fake.jobs.has(`${NS}/${runJobName(active.runId)}`)).toBe(true);
    expect(fake.secrets.has(`${NS}/${runJobName(active.runId)}`)).toBe(true);
  });

  it('fails the run when someone else deletes its Job', async () => {
    const spec = makeSpec();
    const name = runJobName(spec.runId);
    fake.schedulePod(name, { logs: ['x'], hold: true });
    const run = recorder();
    const handle = await executor().start(spec, run.callbacks);
    await until(() => run.logs.length === 1, 'the log line');
    await fetch(`${fake.url}${jobsPath}/${name}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${API_TOKEN}` },
    });
    await expect(handle.outcome).resolves.toEqual({
      status: 'failed',
      exitCode: null,
      reason: 'the Job was deleted outside meltano-cloud',
    });
  });
});
