import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type RoleUsers, type SeededOrg } from '../support/fixtures.js';
import { runEnded, waitFor } from '../support/git-repo.js';
import { startFakeKubernetes, type FakeKubernetes } from '../support/fake-kubernetes.js';
import { startWorker, type RunningWorker } from '../../worker/worker.js';
import { runJobName } from '../../src/runs/executors/kubernetes/manifests.js';
import {
  INSTALL_READY_MARKER,
  INSTALL_STARTED_MARKER,
  PLUGIN_CACHE_DIR,
} from '../../src/runs/executors/kubernetes/plugin-install.js';

interface JobBody {
  spec: {
    template: {
      spec: {
        containers: {
          image: string;
          command: string[];
          volumeMounts: { name: string; mountPath: string }[];
        }[];
        volumes: { name: string; persistentVolumeClaim?: { claimName: string } }[];
      };
    };
  };
}

describe('Kubernetes runs: plugins from the deployment’s image or the cache volume', () => {
  let fake: FakeKubernetes;
  let t: TestApp;
  let worker: RunningWorker;
  let users: RoleUsers;
  let org: SeededOrg;
  const dep = () =>
    `/orgs/${org.orgSlug}/projects/${org.projectSlug}/deployments/${org.deploymentSlug}`;
  const api = (method: 'get' | 'post' | 'patch', url: string, body?: object) => {
    const req = t.http[method](url).set('authorization', users.owner.bearer);
    return body ? req.send(body) : req;
  };
  const finished = (runId: string) =>
    runEnded((url) => api('get', url), org.orgSlug, runId, 20_000);
  const jobOf = (runId: string) =>
    fake.requests.find(
      (r) =>
        r.method === 'POST' &&
        r.path.endsWith('/jobs') &&
        JSON.stringify(r.body).includes(runJobName(runId)),
    )?.body as JobBody;
  async function run(logs: string[]) {
    const runId = (await api('post', `${dep()}/runs`, { job: 'load' }).expect(201)).body
      .id as string;
    await waitFor(
      async () => fake.jobs.has(`meltano-runs/${runJobName(runId)}`),
      10_000,
      'Job created',
    );
    fake.schedulePod(runJobName(runId), { logs, logIntervalMs: 20 });
    return { run: await finished(runId), job: jobOf(runId) };
  }

  beforeAll(async () => {
    fake = await startFakeKubernetes();
    t = await createTestApp({
      RATE_LIMIT_PER_MINUTE: '100000',
      EXECUTOR: 'kubernetes',
      K8S_API_URL: fake.url,
      K8S_SKIP_TLS_VERIFY: 'true',
      K8S_NAMESPACE: 'meltano-runs',
      K8S_PLUGIN_CACHE_PVC: 'meltano-plugin-cache',
    });
    worker = await startWorker(t.config);
    users = await createRoleUsers(t.prisma);
    org = await seedOrg(t.prisma, users);
    await t.prisma.deployment.update({
      where: { id: org.deploymentId },
      data: { deployedCommitSha: 'c'.repeat(40) },
    });
  });
  afterAll(async () => {
    await worker.stop();
    await t.close();
    await fake.close();
  });

  it('mounts the cache volume and shows the install step from the Pod’s markers; billed time starts after it', async () => {
    const { run: done, job } = await run([
      INSTALL_STARTED_MARKER,
      '[meltano-cloud] install key 0123456789abcdef0123456789abcdef: cached',
      `${INSTALL_READY_MARKER} (cached)`,
      'Extracted 3 records',
      'Loaded 3 records',
    ]);
    expect(done).toMatchObject({ status: 'succeeded', plugin_install: 'cached' });
    const pod = job.spec.template.spec;
    expect(pod.volumes).toContainEqual({
      name: 'plugin-cache',
      persistentVolumeClaim: { claimName: 'meltano-plugin-cache' },
    });
    expect(pod.containers[0]!.volumeMounts).toContainEqual({
      name: 'plugin-cache',
      mountPath: PLUGIN_CACHE_DIR,
    });
    expect(done.steps.map((s: { name: string }) => s.name)).toEqual([
      'queued',
      'clone',
      'install',
      'pipeline',
    ]);
    expect(done.steps[2]).toMatchObject({
      note: 'install skipped (cached): an earlier run of this deployment installed the same plugins',
    });
    // The pipeline step begins when the plugins are ready, not when the container started.
    expect(done.pipeline_started_at).toBe(done.install_finished_at);
    expect(Date.parse(done.install_started_at)).toBeLessThan(Date.parse(done.pipeline_started_at));
    const ledger = await t.prisma.usageLedgerEntry.findUnique({ where: { runId: done.id } });
    expect(ledger?.billedSeconds).toBe(
      Math.ceil((Date.parse(done.finished_at) - Date.parse(done.pipeline_started_at)) / 1000),
    );
    expect(fake.rejected).toEqual([]);
  });

  it('runs a deployment’s own image without meltano install: install recorded as skipped (image)', async () => {
    const image = 'ghcr.io/acme/analytics-meltano:2026.12.01';
    await api('patch', dep(), { plugin_image: image }).expect(200);
    const { run: done, job } = await run(['Extracted 3 records']);
    expect(done).toMatchObject({ status: 'succeeded', plugin_install: 'image' });
    const main = job.spec.template.spec.containers[0]!;
    expect(main.image).toBe(image);
    expect(main.command).toEqual(['/bin/sh', '-c', "exec meltano run 'load'"]);
    expect(job.spec.template.spec.volumes.map((v) => v.name)).not.toContain('plugin-cache');
    expect(done.steps.find((s: { name: string }) => s.name === 'install')).toMatchObject({
      note: "install skipped (image): the deployment's image has the plugins installed",
      duration_seconds: 0,
    });
    expect(fake.rejected).toEqual([]);
  });
});
