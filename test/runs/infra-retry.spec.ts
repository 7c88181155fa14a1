import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { V1Pod } from '@kubernetes/client-node';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, type RoleUsers } from '../support/fixtures.js';
import { LocalGitRepo, sampleMeltanoYml, runEnded, waitFor } from '../support/git-repo.js';
import { startWorker, type RunningWorker } from '../../worker/worker.js';
import { RunSweep } from '../../src/runs/run-sweep.js';
import { describeFailure } from '../../src/runs/executors/kubernetes/pod-state.js';
import { wantsInfraRetry } from '../../src/runs/infra-retry.js';
import type { Run } from '../../src/generated/prisma/client.js';

const FAKE_MELTANO = path.resolve('test/fixtures/bin/meltano');

/**
 * A run lost to infrastructure (its worker vanished, its Pod was evicted, its node went away)
 * before its pipeline started is retried once, automatically, linked to the original; the
 * failure notification says it was retried. Through the API, the real worker, the local
 * executor and the stand-in meltano.
 */
describe('runs lost to infrastructure are retried once', () => {
  let t: TestApp;
  let worker: RunningWorker;
  let users: RoleUsers;
  let repo: LocalGitRepo;
  let workdir: string;
  let commit: string;
  let orgId: string;
  let deploymentId: string;
  const org = 'infra-retry-org';
  const dep = `/orgs/${org}/projects/analytics/deployments/prod`;
  const api = (method: 'get' | 'post' | 'patch', url: string, body?: object) => {
    const req = t.http[method](url).set('authorization', users.owner.bearer);
    return body ? req.send(body) : req;
  };
  const finished = (id: string) => runEnded((url) => api('get', url), org, id, 30_000);
  /** A run a worker that no longer exists had taken (a crash): the sweep takes it over. */
  const lostRun = (data: Partial<Run> = {}) =>
    t.prisma.run.create({
      data: {
        organizationId: orgId,
        deploymentId,
        target: 'daily-load',
        trigger: 'api',
        status: 'starting',
        commitSha: commit,
        timeoutSeconds: 600,
        workerId: `crashed-host:${Math.random()}`,
        executor: 'local',
        executorRef: 'crashed-host:/tmp/nowhere/run-x-00000000',
        admittedAt: new Date(),
        startedAt: new Date(),
        triggeredById: users.owner.id,
        ...data,
      },
    });
  const failedDelivery = (runId: string) =>
    waitFor(
      async () =>
        (await t.prisma.notificationDelivery.findMany({ where: { eventType: 'run.failed' } })).find(
          (d) => (d.payload as { data: { run: { id: string } } }).data.run.id === runId,
        ) ?? null,
      15_000,
      `run.failed notification of ${runId}`,
    );

  beforeAll(async () => {
    workdir = mkdtempSync(path.join(tmpdir(), 'mc-infra-retry-'));
    t = await createTestApp({
      RATE_LIMIT_PER_MINUTE: '100000',
      MELTANO_BIN: FAKE_MELTANO,
      RUN_WORKDIR: workdir,
    });
    worker = await startWorker(t.config, undefined, { watchdogMs: 60_000 });
    users = await createRoleUsers(t.prisma);
    repo = new LocalGitRepo();
    commit = repo.commit({ 'data/meltano.yml': sampleMeltanoYml });
    const created = await t.http
      .post('/orgs')
      .set('authorization', users.owner.bearer)
      .send({ name: 'Infra Retry Org', slug: org })
      .expect(201);
    orgId = created.body.id;
    await api('post', `/orgs/${org}/projects`, {
      name: 'Analytics',
      repository: repo.url,
      root_path: 'data',
    }).expect(201);
    const deployment = await api('post', `/orgs/${org}/projects/analytics/deployments`, {
      name: 'prod',
      environment: 'prod',
      branch: 'main',
    }).expect(201);
    deploymentId = deployment.body.id;
    expect(deployment.body.retry_infra_failures).toBe(true);
    await waitFor(
      async () => (await api('get', dep)).body.status === 'ready',
      20_000,
      'first deploy',
    );
    await api('post', `/orgs/${org}/notifications`, {
      kind: 'webhook',
      target: 'http://127.0.0.1:9/hook',
      filters: [{ events: ['run.failed'] }],
    }).expect(201);
  }, 60_000);
  afterAll(async () => {
    await worker.stop();
    await t.close();
    repo.remove();
    rmSync(workdir, { recursive: true, force: true });
  });

  it('retries a run whose worker was lost before its pipeline started; the retry runs, links to it, the notification says so', async () => {
    const lost = await lostRun();
    await worker.app.get(RunSweep).sweep();
    const original = await finished(lost.id);
    expect(original).toMatchObject({ status: 'failed', attempt: 1, retry_of: null });
    expect(original.status_reason).toMatch(/^worker lost/);

    const retries = await t.prisma.run.findMany({ where: { retryOfId: lost.id } });
    expect(retries).toHaveLength(1);
    const retry = await finished(retries[0]!.id);
    expect(retry).toMatchObject({
      status: 'succeeded',
      trigger: 'retry',
      retry_of: lost.id,
      attempt: 2,
      target: 'daily-load',
      commit_sha: commit,
    });
    expect(retries[0]!.triggeredById).toBeNull();

    const delivery = await failedDelivery(lost.id);
    const sent = (delivery.payload as { data: { run: Record<string, unknown> } }).data.run;
    expect(sent).toMatchObject({
      status: 'failed',
      retried: true,
      retried_as: retry.id,
      reason: expect.stringMatching(
        new RegExp(`^worker lost.*; retried automatically as run ${retry.id}$`),
      ),
    });
    // The retry's own listing shows the link too.
    const page = (await api('get', `/orgs/${org}/runs?page_size=50`)).body.results as {
      id: string;
      retry_of: string | null;
    }[];
    expect(page.find((r) => r.id === retry.id)?.retry_of).toBe(lost.id);
  });

  it('does not retry a run lost after its pipeline started (it may have loaded data)', async () => {
    const lost = await lostRun({ status: 'running', pipelineStartedAt: new Date() });
    await worker.app.get(RunSweep).sweep();
    const original = await finished(lost.id);
    expect(original.status_reason).toMatch(/^worker lost/);
    const delivery = await failedDelivery(lost.id);
    const sent = (delivery.payload as { data: { run: Record<string, unknown> } }).data.run;
    expect(sent).toMatchObject({ retried: false, retried_as: null });
    expect(await t.prisma.run.count({ where: { retryOfId: lost.id } })).toBe(0);
  });

  it('retries at most once: an automatic retry lost again is not retried', async () => {
    const first = await lostRun({ status: 'failed', finishedAt: new Date(), workerId: null });
    const lost = await lostRun({
      trigger: 'retry',
      triggeredById: null,
      retryOfId: first.id,
      attempt: 2,
    });
    await worker.app.get(RunSweep).sweep();
    const ended = await finished(lost.id);
    expect(ended).toMatchObject({ status: 'failed', retry_of: first.id });
    expect(await t.prisma.run.count({ where: { retryOfId: lost.id } })).toBe(0);
  });

  it('does not retry when the deployment turned retry_infra_failures off (admin, through the API)', async () => {
    const patched = await api('patch', dep, { retry_infra_failures: false }).expect(200);
    expect(patched.body.retry_infra_failures).toBe(false);
    try {
      const lost = await lostRun();
      await worker.app.get(RunSweep).sweep();
      const ended = await finished(lost.id);
      expect(ended.status_reason).toMatch(/^worker lost/);
      expect(await t.prisma.run.count({ where: { retryOfId: lost.id } })).toBe(0);
    } finally {
      await api('patch', dep, { retry_infra_failures: true }).expect(200);
    }
  });
});

describe('which Kubernetes failures are infrastructure losses', () => {
  const failedJob = {
    reason: 'BackoffLimitExceeded',
    message: 'Job has reached the specified backoff limit',
  };
  const pod = (status: V1Pod['status']): V1Pod => ({ metadata: { name: 'p' }, status });

  it('an evicted Pod, a Pod disrupted by eviction or preemption, a lost node', () => {
    expect(
      describeFailure(
        pod({
          phase: 'Failed',
          reason: 'Evicted',
          message: 'The node was low on resource: memory.',
        }),
        failedJob,
        '2Gi',
        null,
      ),
    ).toMatchObject({ lostTo: 'eviction', reason: expect.stringMatching(/^the Pod was evicted/) });
    for (const reason of ['EvictionByEvictionAPI', 'TerminationByKubelet', 'PreemptionByScheduler'])
      expect(
        describeFailure(
          pod({
            phase: 'Failed',
            conditions: [{ type: 'DisruptionTarget', status: 'True', reason, message: 'drained' }],
          }),
          failedJob,
          '2Gi',
          null,
        ),
      ).toMatchObject({ lostTo: 'eviction' });
    for (const reason of ['DeletionByTaintManager', 'DeletionByPodGC'])
      expect(
        describeFailure(
          pod({
            phase: 'Failed',
            conditions: [
              { type: 'DisruptionTarget', status: 'True', reason, message: 'node not ready' },
            ],
          }),
          failedJob,
          '2Gi',
          null,
        ),
      ).toMatchObject({
        lostTo: 'node',
        reason: 'the node running the Pod was lost: node not ready',
      });
  });

  it('a pipeline that failed by itself is not an infrastructure loss', () => {
    const exited = describeFailure(
      pod({
        phase: 'Failed',
        containerStatuses: [
          {
            name: 'meltano',
            image: 'meltano',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 1, reason: 'Error' } },
          },
        ],
      }),
      failedJob,
      '2Gi',
      null,
    );
    expect(exited.lostTo).toBeUndefined();
  });

  it('an evicted Pod is retried only before its pipeline started and when not cancelled', () => {
    const run = {
      status: 'failed' as const,
      pipelineStartedAt: null,
      cancelRequestedAt: null,
      trigger: 'schedule' as const,
      triggeredById: null,
      retryOfId: null,
    };
    const on = { retryInfraFailures: true };
    const evicted = {
      status: 'failed' as const,
      exitCode: null,
      reason: 'evicted',
      lostTo: 'eviction' as const,
    };
    expect(wantsInfraRetry(run, on, evicted)).toBe(true);
    expect(wantsInfraRetry({ ...run, pipelineStartedAt: new Date() }, on, evicted)).toBe(false);
    expect(wantsInfraRetry({ ...run, cancelRequestedAt: new Date() }, on, evicted)).toBe(false);
    expect(wantsInfraRetry(run, { retryInfraFailures: false }, evicted)).toBe(false);
    expect(wantsInfraRetry(run, on, { ...evicted, lostTo: undefined })).toBe(false);
  });
});
