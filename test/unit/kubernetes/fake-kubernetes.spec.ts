/**
 * The fake Kubernetes API server's own behaviour, where the executor relies
 * on the real one's (apiserver watch cache, kubelet, Job controller), driven
 * with plain HTTP requests as any client would send them.
 */
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import {
  buildRunJob,
  buildRunSecret,
  runJobName,
} from '../../../src/runs/executors/kubernetes/manifests.js';
import { startFakeKubernetes, type FakeKubernetes } from '../../support/fake-kubernetes.js';
import { makeSpec, settings, until } from './fixtures.js';

const NS = settings.namespace;
const jobsPath = `/apis/batch/v1/namespaces/${NS}/jobs`;
const podsPath = `/api/v1/namespaces/${NS}/pods`;
const secretsPath = `/api/v1/namespaces/${NS}/secrets`;

let fake: FakeKubernetes;
beforeEach(async () => {
  fake = await startFakeKubernetes();
});
afterEach(async () => {
  await fake.close();
});

const post = async (path: string, body: unknown) => {
  const res = await fetch(`${fake.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

/** A watch request; collects its events until the server ends it (or `stop`). */
function watch(path: string, query: Record<string, string>) {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- watch events are untyped JSON here
  const events: { type: string; object: Record<string, any> }[] = [];
  const controller = new AbortController();
  const url = `${fake.url}${path}?${new URLSearchParams({ watch: 'true', ...query }).toString()}`;
  const ended = (async () => {
    const res = await fetch(url, { signal: controller.signal }).catch(() => null);
    if (!res) return 0;
    let pending = '';
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        pending += decoder.decode(chunk);
        let newline: number;
        while ((newline = pending.indexOf('\n')) !== -1) {
          events.push(JSON.parse(pending.slice(0, newline)));
          pending = pending.slice(newline + 1);
        }
      }
    } catch {
      // aborted
    }
    return res.status;
  })();
  return { events, ended, stop: () => controller.abort() };
}

async function createRun(jobOverrides: (job: V1Job) => V1Job = (job) => job) {
  const spec = makeSpec({ files: [] });
  const name = runJobName(spec.runId);
  expect((await post(secretsPath, buildRunSecret(spec, settings))).status).toBe(201);
  const created = await post(jobsPath, jobOverrides(buildRunJob(spec, settings)));
  expect(created.status).toBe(201);
  return { spec, name, job: created.body as V1Job };
}

describe('the fake Kubernetes API server', () => {
  it('expires watch history: a watch from a compacted resourceVersion gets one ERROR event with a 410 Expired Status', async () => {
    const { job } = await createRun();
    const old = job.metadata!.resourceVersion!;
    await createRun();
    fake.compactHistory();
    const w = watch(jobsPath, { resourceVersion: old });
    expect(await w.ended).toBe(200);
    expect(w.events).toEqual([
      {
        type: 'ERROR',
        object: expect.objectContaining({
          kind: 'Status',
          status: 'Failure',
          reason: 'Expired',
          code: 410,
          message: expect.stringMatching(/^too old resource version: \d+ \(\d+\)$/),
        }),
      },
    ]);
    // From the current resourceVersion, watching still works.
    const list = (await (await fetch(`${fake.url}${jobsPath}`)).json()) as {
      metadata: { resourceVersion: string };
    };
    const current = watch(jobsPath, { resourceVersion: list.metadata.resourceVersion });
    await until(() => fake.openStreams().watches === 1, 'the watch to open');
    current.stop();
    expect(current.events).toEqual([]);
  });

  it('expires open watches with ERROR 410 and closes them', async () => {
    await createRun();
    const w = watch(jobsPath, { resourceVersion: '0' });
    await until(() => fake.openStreams().watches === 1, 'the watch to open');
    expect(fake.expireWatches()).toBe(1);
    await w.ended;
    expect(w.events.at(-1)).toMatchObject({ type: 'ERROR', object: { code: 410 } });
  });

  it('sends bookmarks only to watches that allow them, and one before a watch times out', async () => {
    const plain = watch(podsPath, { labelSelector: 'none=here' });
    const withBookmarks = watch(podsPath, {
      labelSelector: 'none=here',
      allowWatchBookmarks: 'true',
      timeoutSeconds: '1',
    });
    await until(() => fake.openStreams().watches === 2, 'two watches');
    await createRun();
    expect(fake.sendBookmarks()).toBe(1);
    expect(await withBookmarks.ended).toBe(200);
    plain.stop();
    expect(plain.events).toEqual([]);
    expect(withBookmarks.events).toHaveLength(2);
    for (const event of withBookmarks.events) {
      expect(event).toMatchObject({
        type: 'BOOKMARK',
        object: {
          kind: 'Pod',
          apiVersion: 'v1',
          metadata: { resourceVersion: expect.any(String) },
        },
      });
    }
  });

  it('deletes Pods gracefully: deletionTimestamp first, the Pod gone once its containers stopped', async () => {
    const { name } = await createRun();
    fake.schedulePod(name, { logs: ['working'], hold: true, sigtermExitMs: 200 });
    await until(() => fake.podsOf(name)[0]?.status?.phase === 'Running', 'the Pod to run');
    const podName = fake.podsOf(name)[0]!.metadata!.name!;
    const res = await fetch(`${fake.url}${podsPath}/${podName}`, { method: 'DELETE' });
    const answered = (await res.json()) as V1Pod;
    expect(res.status).toBe(200);
    expect(answered.metadata!.deletionTimestamp).toEqual(expect.any(String));
    expect(answered.metadata!.deletionGracePeriodSeconds).toBe(30);
    // Still there, its container still running, during the grace period.
    const during = fake.podsOf(name)[0]!;
    expect(during.status!.containerStatuses![0]!.state!.running).toBeDefined();
    await until(() => fake.podsOf(name).length === 0, 'the Pod to go');
  });

  it('alternates ErrImagePull and ImagePullBackOff while a pull fails', async () => {
    const { spec, name } = await createRun();
    const w = watch(podsPath, { labelSelector: `meltano.cloud/run=${spec.runId}` });
    fake.schedulePod(name, { waiting: 'ErrImagePull', imagePullFailures: 2, logs: ['up'] });
    await until(() => fake.podsOf(name)[0]?.status?.phase === 'Succeeded', 'the Pod to succeed');
    w.stop();
    const reasons = w.events
      .map((e) => e.object.status?.containerStatuses?.[0]?.state?.waiting?.reason)
      .filter((reason) => reason === 'ErrImagePull' || reason === 'ImagePullBackOff');
    expect(reasons).toEqual([
      'ErrImagePull',
      'ImagePullBackOff',
      'ErrImagePull',
      'ImagePullBackOff',
    ]);
  });

  it('defaults backoffLimit to 6, retries failed Pods up to it, counting through uncountedTerminatedPods', async () => {
    const { spec, name, job } = await createRun((manifest) => {
      delete manifest.spec!.backoffLimit;
      return manifest;
    });
    expect(job.spec!.backoffLimit).toBe(6);
    const w = watch(jobsPath, { fieldSelector: `metadata.name=${name}` });
    fake.schedulePod(name, { exitCode: 1, stepMs: 1 });
    await until(
      () =>
        Boolean(
          fake.jobs.get(`${NS}/${name}`)?.status?.conditions?.some((c) => c.type === 'Failed'),
        ),
      'the Job to fail',
      10_000,
    );
    w.stop();
    const status = fake.jobs.get(`${NS}/${name}`)!.status!;
    expect(status.failed).toBe(7);
    expect(status.uncountedTerminatedPods).toEqual({});
    expect(fake.podsOf(name)).toHaveLength(7);
    // Each failed Pod was first recorded as uncounted, then counted.
    const uncounted = w.events.filter(
      (e) => (e.object.status?.uncountedTerminatedPods?.failed ?? []).length > 0,
    );
    expect(uncounted).toHaveLength(7);
    // The finished Pods no longer carry the job-tracking finalizer.
    for (const pod of fake.podsOf(name)) expect(pod.metadata!.finalizers ?? []).toEqual([]);
    expect(spec.runId).toBeDefined();
  });
});
