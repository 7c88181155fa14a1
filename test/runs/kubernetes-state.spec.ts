import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { createRoleUsers, seedOrg, type RoleUsers, type SeededOrg } from '../support/fixtures.js';
import { sampleMeltanoYml, runEnded, waitFor } from '../support/git-repo.js';
import {
  startFakeKubernetes,
  type ExecuteScenario,
  type FakeKubernetes,
} from '../support/fake-kubernetes.js';
import { startWorker, type RunningWorker } from '../../worker/worker.js';
import { runJobName } from '../../src/runs/executors/kubernetes/manifests.js';

/** A free local port for the API, known before the app (and its config) exists. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const STATE_ID = 'prod:tap-fake-to-target-fake';

describe('managed Meltano state on the Kubernetes executor (fake API server, Pods running the stand-in meltano)', () => {
  let fake: FakeKubernetes;
  let t: TestApp;
  let worker: RunningWorker;
  let users: RoleUsers;
  let org: SeededOrg;
  let bin: string;
  let execute: ExecuteScenario;
  const dep = () =>
    `/orgs/${org.orgSlug}/projects/${org.projectSlug}/deployments/${org.deploymentSlug}`;
  const api = (method: 'get' | 'put' | 'post' | 'delete' | 'patch', url: string, body?: object) => {
    const req = t.http[method](url).set('authorization', users.owner.bearer);
    return body ? req.send(body) : req;
  };
  const finished = (runId: string) =>
    runEnded((url) => api('get', url), org.orgSlug, runId, 30_000);
  const logText = async (runId: string) =>
    ((await api('get', `/orgs/${org.orgSlug}/runs/${runId}/logs`)).body.lines as { line: string }[])
      .map((l) => l.line)
      .join('\n');
  /** A manual run of job `load`, its Pod executing the stand-in meltano. */
  const runLoad = async () => {
    const id = (await api('post', `${dep()}/runs`, { job: 'load' }).expect(201)).body.id as string;
    fake.schedulePod(runJobName(id), { execute });
    return finished(id);
  };
  const secretOf = (runId: string) =>
    fake.requests.find(
      (r) =>
        r.method === 'POST' &&
        r.path.endsWith('/secrets') &&
        (r.body as { metadata: { name: string } }).metadata.name === runJobName(runId),
    )?.body as { data: Record<string, string> } | undefined;
  const decoded = (value: string | undefined) =>
    value === undefined ? undefined : Buffer.from(value, 'base64').toString('utf8');
  const storedState = async () =>
    (await api('get', `${dep()}/state/${encodeURIComponent(STATE_ID)}`)).body.value;

  beforeAll(async () => {
    fake = await startFakeKubernetes();
    const port = await freePort();
    t = await createTestApp({
      RATE_LIMIT_PER_MINUTE: '100000',
      EXECUTOR: 'kubernetes',
      K8S_API_URL: fake.url,
      K8S_SKIP_TLS_VERIFY: 'true',
      K8S_NAMESPACE: 'meltano-runs',
      K8S_STATE_API_URL: `http://127.0.0.1:${port}`,
    });
    // The API as the cluster network reaches it.
    await t.app.listen(port, '127.0.0.1');
    worker = await startWorker(t.config);
    users = await createRoleUsers(t.prisma);
    org = await seedOrg(t.prisma, users);
    await t.prisma.deployment.update({
      where: { id: org.deploymentId },
      data: { deployedCommitSha: 'c'.repeat(40), maxConcurrentRuns: 5 },
    });
    // What the Meltano image has on PATH: meltano (here the stand-in), python3, and node for the stand-in.
    bin = mkdtempSync(path.join(tmpdir(), 'mc-image-bin-'));
    symlinkSync(path.resolve('test/fixtures/bin/meltano'), path.join(bin, 'meltano'));
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], {
      encoding: 'utf8',
    }).trim();
    symlinkSync(python, path.join(bin, 'python3'));
    execute = { files: { 'data/meltano.yml': sampleMeltanoYml }, pathPrefix: [bin] };
  });
  afterAll(async () => {
    await worker.stop();
    await t.close();
    await fake.close();
    rmSync(bin, { recursive: true, force: true });
  });

  it('state written by one run is there for the next, under the id Meltano itself wrote', async () => {
    const first = await runLoad();
    expect(first.status).toBe('succeeded');
    const firstLog = await logText(first.id);
    expect(firstLog).toContain('Meltano state: kept by meltano-cloud');
    expect(firstLog).toContain(`No state was found for ${STATE_ID}, complete import.`);
    expect(firstLog).toContain(`[meltano-cloud] Meltano state: stored ${STATE_ID}`);
    expect(await storedState()).toEqual({
      completed: { singer_state: { bookmark: 1 } },
      partial: {},
    });

    const second = await runLoad();
    expect(second.status).toBe('succeeded');
    const secondLog = await logText(second.id);
    // The seeded 'prod:load' and the first run's state were both handed to the Pod.
    expect(secondLog).toContain(
      '[meltano-cloud] Meltano state: 2 state(s) of this deployment loaded',
    );
    expect(secondLog).toContain(`Resuming from bookmark 1 (${STATE_ID})`);
    expect(await storedState()).toEqual({
      completed: { singer_state: { bookmark: 2 } },
      partial: {},
    });
    // Only what the pipeline wrote went back: the untouched 'prod:load' kept its value.
    expect((await api('get', `${dep()}/state/prod%3Aload`)).body.value).toEqual({
      singer_state: { bookmark: 1 },
    });
    const run = await t.prisma.run.findUniqueOrThrow({ where: { id: second.id } });
    expect(run.stateIds).toEqual([STATE_ID]);
    expect(fake.rejected).toEqual([]);
  });

  it("a failed run's partial state is kept, and the next run resumes from it", async () => {
    await api('put', `/orgs/${org.orgSlug}/projects/${org.projectSlug}/secrets/FAKE_MELTANO_EXIT`, {
      value: '3',
    }).expect(201);
    const failed = await runLoad();
    await api(
      'delete',
      `/orgs/${org.orgSlug}/projects/${org.projectSlug}/secrets/FAKE_MELTANO_EXIT`,
    ).expect(204);
    expect(failed).toMatchObject({ status: 'failed', exit_code: 3 });
    expect(await logText(failed.id)).toContain(`Meltano state: stored ${STATE_ID}`);
    expect(await storedState()).toEqual({
      completed: { singer_state: { bookmark: 2 } },
      partial: { singer_state: { bookmark: 3 } },
    });
    const next = await runLoad();
    expect(next.status).toBe('succeeded');
    expect(await logText(next.id)).toContain(`Resuming from bookmark 3 (${STATE_ID})`);
  });

  it('the run-scoped credential reads and writes only its run’s deployment state, and expires with the run', async () => {
    const run = await runLoad();
    const secret = secretOf(run.id)!;
    const token = decoded(secret.data['env.MC_STATE_TOKEN'])!;
    expect(token).toMatch(/^mcrs_/);
    // The Job itself holds no token; only its hash is stored on the run.
    const job = fake.requests.find(
      (r) =>
        r.method === 'POST' &&
        r.path.endsWith('/jobs') &&
        (r.body as { metadata: { name: string } }).metadata.name === runJobName(run.id),
    )!.body;
    expect(JSON.stringify(job)).not.toContain(token);
    const row = await t.prisma.run.findUniqueOrThrow({ where: { id: run.id } });
    expect(row.stateTokenHash).toBeNull();

    const states = (runId: string, bearer = token) =>
      t.http.get(`/internal/runs/${runId}/states`).set('authorization', `Bearer ${bearer}`);
    // Ended with the run.
    const expired = await states(run.id).expect(401);
    expect(expired.headers['content-type']).toContain('application/problem+json');
    // Never valid for another run.
    await states(org.finishedRunId).expect(401);
    await t.http.get(`/internal/runs/${run.id}/states`).expect(401);
    await t.http
      .put(`/internal/runs/${run.id}/states/${encodeURIComponent(STATE_ID)}`)
      .set('authorization', `Bearer ${token}`)
      .send({ value: { completed: {} } })
      .expect(401);
  });

  it('a second run that would write the same state waits in queued, with the reason, until the first ends', async () => {
    const firstId = (await api('post', `${dep()}/runs`, { job: 'load' }).expect(201)).body
      .id as string;
    fake.schedulePod(runJobName(firstId), { logs: ['extracting'], hold: true });
    await waitFor(
      async () =>
        (await api('get', `/orgs/${org.orgSlug}/runs/${firstId}`)).body.status === 'running',
      20_000,
      'the first run to run',
    );
    const secondId = (await api('post', `${dep()}/runs`, { job: 'load' }).expect(201)).body
      .id as string;
    const waiting = await waitFor(
      async () => {
        const run = (await api('get', `/orgs/${org.orgSlug}/runs/${secondId}`)).body;
        return run.waiting_reason ? run : null;
      },
      20_000,
      'the second run to wait',
    );
    // The deployment allows 5 concurrent runs: only the shared state holds it back.
    expect(waiting.status).toBe('queued');
    expect(waiting.waiting_reason).toBe(
      `waiting: run ${firstId} of this deployment is writing Meltano state '${STATE_ID}'; Meltano runs one pipeline per state id at a time`,
    );
    expect(fake.jobs.has(`meltano-runs/${runJobName(secondId)}`)).toBe(false);

    fake.schedulePod(runJobName(secondId), { logs: ['second'] });
    fake.exitMain(runJobName(firstId), { exitCode: 0 });
    expect((await finished(firstId)).status).toBe('succeeded');
    // Woken by the freed run, not by its retry delay: it runs to its end.
    expect((await finished(secondId)).status).toBe('succeeded');
  });

  it("a deployment's own MELTANO_STATE_BACKEND_URI wins, and the run log says so", async () => {
    await api(
      'put',
      `/orgs/${org.orgSlug}/projects/${org.projectSlug}/secrets/MELTANO_STATE_BACKEND_URI`,
      { value: 's3://acme-meltano-state/prod' },
    ).expect(201);
    const id = (await api('post', `${dep()}/runs`, { job: 'load' }).expect(201)).body.id as string;
    fake.schedulePod(runJobName(id), { logs: ['Run completed'] });
    const run = await finished(id);
    await api(
      'delete',
      `/orgs/${org.orgSlug}/projects/${org.projectSlug}/secrets/MELTANO_STATE_BACKEND_URI`,
    ).expect(204);
    expect(run.status).toBe('succeeded');
    const text = await logText(id);
    expect(text).toContain(
      "Meltano state: the deployment's own MELTANO_STATE_BACKEND_URI (s3://…)",
    );
    expect(text).not.toContain('s3://acme-meltano-state');
    const secret = secretOf(id)!;
    expect(secret.data['env.MC_STATE_TOKEN']).toBeUndefined();
    expect(decoded(secret.data['env.MELTANO_STATE_BACKEND_URI'])).toBe(
      's3://acme-meltano-state/prod',
    );
    const row = await t.prisma.run.findUniqueOrThrow({ where: { id } });
    expect(row.stateTokenHash).toBeNull();
  });

  it("renders the deployment's run_pod settings into the run's Job (accepted by the schema check)", async () => {
    await api('patch', dep(), {
      run_pod: {
        resources: { limits: { memory: '6Gi' } },
        node_selector: { pool: 'etl' },
        tolerations: [
          { key: 'spot', operator: 'Exists', effect: 'NoExecute', toleration_seconds: 60 },
        ],
      },
    }).expect(200);
    const id = (await api('post', `${dep()}/runs`, { job: 'load' }).expect(201)).body.id as string;
    fake.schedulePod(runJobName(id), { logs: ['ok'] });
    expect((await finished(id)).status).toBe('succeeded');
    await api('patch', dep(), { run_pod: {} }).expect(200);
    const pod = fake.jobs.get(`meltano-runs/${runJobName(id)}`)!.spec!.template.spec!;
    expect(pod.containers[0]!.resources).toEqual({
      requests: { cpu: '1', memory: '6Gi' },
      limits: { cpu: '1', memory: '6Gi' },
    });
    expect(pod.nodeSelector).toEqual({ pool: 'etl' });
    expect(pod.tolerations).toEqual([
      { key: 'spot', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 },
    ]);
    expect(fake.rejected).toEqual([]);
  });
});
