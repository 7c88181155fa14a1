import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type RoleUsers, type SeededOrg } from '../support/fixtures.js';
import { runEnded, waitFor } from '../support/git-repo.js';
import { startFakeKubernetes, type FakeKubernetes } from '../support/fake-kubernetes.js';
import { startWorker, type RunningWorker } from '../../worker/worker.js';
import { RunSweep } from '../../src/runs/run-sweep.js';
import { runJobName } from '../../src/runs/executors/kubernetes/manifests.js';
import { createExecutor } from '../../src/runs/executors/executor.provider.js';
import type { LogLine } from '../../src/runs/executors/executor.js';

describe('runs on the Kubernetes executor (against a local Kubernetes API server)', () => {
  let fake: FakeKubernetes;
  let t: TestApp;
  let worker: RunningWorker;
  let users: RoleUsers;
  let org: SeededOrg;
  const dep = () =>
    `/orgs/${org.orgSlug}/projects/${org.projectSlug}/deployments/${org.deploymentSlug}`;
  const api = (method: 'get' | 'post' | 'put', url: string, body?: object) => {
    const req = t.http[method](url).set('authorization', users.owner.bearer);
    return body ? req.send(body) : req;
  };
  const startRun = async () =>
    (await api('post', `${dep()}/runs`, { job: 'load' }).expect(201)).body.id as string;
  const jobCreated = (runId: string) =>
    waitFor(async () => fake.jobs.has(`meltano-runs/${runJobName(runId)}`), 10_000, 'Job created');
  const finished = (runId: string) =>
    runEnded((url) => api('get', url), org.orgSlug, runId, 20_000);
  const logText = async (runId: string) =>
    ((await api('get', `/orgs/${org.orgSlug}/runs/${runId}/logs`)).body.lines as { line: string }[])
      .map((l) => l.line)
      .join('\n');

  beforeAll(async () => {
    fake = await startFakeKubernetes();
    t = await createTestApp({
      RATE_LIMIT_PER_MINUTE: '100000',
      EXECUTOR: 'kubernetes',
      K8S_API_URL: fake.url,
      K8S_SKIP_TLS_VERIFY: 'true',
      K8S_NAMESPACE: 'meltano-runs',
      K8S_RUN_MEMORY: '1Gi',
    });
    worker = await startWorker(t.config);
    users = await createRoleUsers(t.prisma);
    org = await seedOrg(t.prisma, users);
    await t.prisma.deployment.update({
      where: { id: org.deploymentId },
      data: { deployedCommitSha: 'c'.repeat(40), maxConcurrentRuns: 5 },
    });
    await api(
      'put',
      `/orgs/${org.orgSlug}/projects/${org.projectSlug}/secrets/WAREHOUSE_PASSWORD`,
      { value: 'hunter2-very-secret' },
    ).expect(201);
  });
  afterAll(async () => {
    await worker.stop();
    await t.close();
    await fake.close();
  });

  it('runs a pipeline as a labelled Job; secrets go through a per-run Secret and are masked in the stored log', async () => {
    const runId = await startRun();
    await jobCreated(runId);
    const name = runJobName(runId);
    fake.schedulePod(name, {
      logs: [
        'Extracted 3 records',
        'connecting with password hunter2-very-secret',
        'Loaded 3 records',
      ],
    });
    const run = await finished(runId);
    expect(run).toMatchObject({ status: 'succeeded', exit_code: 0 });
    expect(run.started_at).toEqual(expect.any(String));
    expect(run.pipeline_started_at).toEqual(expect.any(String));
    const job = fake.requests.find((r) => r.method === 'POST' && r.path.endsWith('/jobs'))
      ?.body as {
      metadata: { labels: Record<string, string> };
      spec: { backoffLimit: number; activeDeadlineSeconds: number };
    };
    expect(job.metadata.labels).toMatchObject({
      'meltano.cloud/organization': org.orgId,
      'meltano.cloud/deployment': org.deploymentId,
      'meltano.cloud/run': runId,
    });
    expect(job.spec.backoffLimit).toBe(0);
    expect(job.spec.activeDeadlineSeconds).toBe(run.timeout_seconds);
    expect(JSON.stringify(job)).not.toContain('hunter2-very-secret');
    const secret = fake.requests.find((r) => r.method === 'POST' && r.path.endsWith('/secrets'))
      ?.body as { data?: Record<string, string>; stringData?: Record<string, string> };
    expect(JSON.stringify(secret)).toMatch(/WAREHOUSE_PASSWORD/);
    const text = await logText(runId);
    expect(text).toContain('Extracted 3 records');
    expect(text).toContain('connecting with password ****');
    expect(text).not.toContain('hunter2-very-secret');
    expect(fake.rejected).toEqual([]);
  });

  it('reports out of memory as a reason a user can act on', async () => {
    const runId = await startRun();
    await jobCreated(runId);
    fake.schedulePod(runJobName(runId), {
      logs: ['Extracting…'],
      exitCode: 137,
      reason: 'OOMKilled',
    });
    const run = await finished(runId);
    expect(run.status).toBe('failed');
    expect(run.status_reason).toMatch(/out of memory/i);
  });

  it('cancel deletes the Job (foreground) and the run ends cancelled', async () => {
    const runId = await startRun();
    await jobCreated(runId);
    fake.schedulePod(runJobName(runId), { logs: ['working'], hold: true });
    await waitFor(
      async () =>
        (await api('get', `/orgs/${org.orgSlug}/runs/${runId}`)).body.status === 'running',
      10_000,
      'running',
    );
    await api('post', `/orgs/${org.orgSlug}/runs/${runId}/cancel`).expect(201);
    const run = await finished(runId);
    expect(run.status).toBe('cancelled');
    const deletion = fake.requests.find(
      (r) => r.method === 'DELETE' && r.path.endsWith(`/jobs/${runJobName(runId)}`),
    );
    expect(JSON.stringify(deletion)).toContain('Foreground');
  });

  it('re-attaches to a Job whose worker died and follows it to its end, without repeating stored lines', async () => {
    // A previous worker started the Job and stored its first line, then vanished (no heartbeat).
    const run = await t.prisma.run.create({
      data: {
        organizationId: org.orgId,
        deploymentId: org.deploymentId,
        target: 'load',
        jobName: 'load',
        trigger: 'manual',
        status: 'running',
        timeoutSeconds: 600,
        commitSha: 'c'.repeat(40),
        workerId: 'gone-host:1',
        executor: 'kubernetes',
        startedAt: new Date(),
      },
    });
    const name = runJobName(run.id);
    const previous = createExecutor(t.config);
    const seen: LogLine[] = [];
    fake.schedulePod(name, { logs: ['first line'], hold: true });
    const spec = {
      runId: run.id,
      organizationId: org.orgId,
      projectId: org.projectId,
      deploymentId: org.deploymentId,
      repository: {
        cloneUrl: 'https://github.com/acme/analytics.git',
        commitSha: 'c'.repeat(40),
        branch: 'main',
      },
      rootPath: 'data',
      environment: 'prod',
      command: { kind: 'job' as const, name: 'load' },
      env: {},
      files: [],
      timeoutSeconds: 600,
    };
    await previous.start(spec, { onLog: (l) => seen.push(l), onPhase: () => undefined });
    const first = await waitFor(
      async () => seen.find((l) => l.line === 'first line'),
      10_000,
      'first line',
    );
    await t.prisma.runLogLine.create({
      data: {
        organizationId: org.orgId,
        runId: run.id,
        seq: 1,
        timestamp: first.timestamp,
        line: first.line,
      },
    });
    await t.prisma.run.update({ where: { id: run.id }, data: { executorRef: name } });

    await worker.app.get(RunSweep).sweep();
    await waitFor(
      async () => (await logText(run.id)).includes('re-attached by worker'),
      10_000,
      're-attach',
    );
    fake.printLog(name, 'second line');
    fake.exitMain(name, { exitCode: 0 });
    const done = await finished(run.id);
    expect(done.status).toBe('succeeded');
    const text = await logText(run.id);
    expect(text.match(/first line/g)).toHaveLength(1);
    expect(text).toContain('second line');
  });
});
